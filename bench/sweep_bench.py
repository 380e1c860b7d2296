"""Sweep benchmark: every page a browser asks for with GET, for every role's login and for a visitor,
on the district data set, served in-process: its SQL statements and its size.

A page whose statements grow with the district (a row's relations read in turn for each row) or
that sends everything it could offer (every waiting need of the district as a checkbox) shows here
before anyone meets it: the figures are the number of pages over 25 statements and over 256 KB
(goal: none), with the pages that miss named, and the slowest pages' in-process times beside the
bare route's (pages, figures only: the ratio goals of pages and writes are those of pages_bench.py and
writes_bench.py, taken over HTTP). Every route is filled with the ids of the largest organization's
busiest contract, its tender, plan, people and entries, a round with evaluators, and so on; a route
no id fits is named and left out. Downloads of stored files are left out too. The limits on what
strangers can repeat (logging in, verifying a report: per address, and every client here is
127.0.0.1) are raised for the run, as api_bench.py raises the API's: the limiter still counts each
request, but a sweep asking the verification page for every login, or run again within the minute,
is not refused. Usage:

    BENCH_SCALE=small|district .venv/bin/python bench/sweep_bench.py [--only SUBSTRING]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

GOAL_STATEMENTS = 25
GOAL_KB = 256
# Arguments of routes that serve a stored file (a download is its file's size, not a page).
FILE_ARGS = {"filename", "file_id", "document_id", "evidence_id", "exhibit_id", "code", "report_id",
             "deliverable_id", "survey_id", "response_id"}
ROUNDS = 3


def _ids() -> dict:
    """An id for each argument the routes take, picked where the district is busiest."""
    import sqlalchemy as sa

    from svcproc.models import (Amendment, Area, Beneficiary, Bid, CommunityNeed, Contract, ImportBatch,
                                IndicatorTemplate, Milestone, MonitoringCase, Objection, Organization, ProjectPlan,
                                RoundEvaluator, ServiceActivity, SocialWorker, Tender, TemplateVersion, User)
    from svcproc.extensions import db
    from svcproc.registry.models import AreaLevel

    one = lambda stmt: db.session.execute(stmt).scalar()  # noqa: E731
    contract = one(sa.select(ServiceActivity.contract_id).join(Contract, Contract.id == ServiceActivity.contract_id)
                   .where(Contract.organization_id == 1).group_by(ServiceActivity.contract_id)
                   .order_by(sa.func.count().desc()).limit(1))
    tender = one(sa.select(Contract.tender_id).where(Contract.id == contract))
    evaluator = one(sa.select(RoundEvaluator.user_id).group_by(RoundEvaluator.user_id)
                    .order_by(sa.func.count().desc()).limit(1))
    ids = {
        "contract_id": contract, "tender_id": tender, "org_id": 1, "subject_id": 1, "kind": "organization",
        "plan_id": one(sa.select(Tender.plan_id).where(Tender.id == tender)),
        "bid_id": one(sa.select(sa.func.max(Bid.id)).where(Bid.tender_id == tender)),
        "activity_id": one(sa.select(sa.func.max(ServiceActivity.id)).where(ServiceActivity.contract_id == contract)),
        "beneficiary_id": one(sa.select(sa.func.min(Beneficiary.id)).where(Beneficiary.organization_id == 1)),
        "milestone_id": one(sa.select(sa.func.max(Milestone.id)).where(Milestone.contract_id == contract)),
        "round_id": one(sa.select(sa.func.max(RoundEvaluator.round_id)).where(RoundEvaluator.user_id == evaluator)),
        "area_id": one(sa.select(sa.func.max(Area.id)).where(Area.level == AreaLevel.COMMUNITY)),
        "year": one(sa.select(sa.func.max(ProjectPlan.fiscal_year))),
        "need_id": one(sa.select(sa.func.max(CommunityNeed.id))),
        "worker_id": one(sa.select(SocialWorker.id).join(User, User.id == SocialWorker.user_id)
                         .where(User.username == "bench-worker")),
        "user_id": one(sa.select(User.id).where(User.username == "bench-manager")),
        "template_id": one(sa.select(sa.func.max(IndicatorTemplate.id))),
        "version_id": one(sa.select(sa.func.max(TemplateVersion.id))),
        "batch_id": one(sa.select(sa.func.max(ImportBatch.id))),
        "case_id": one(sa.select(sa.func.max(MonitoringCase.id))),
        "objection_id": one(sa.select(sa.func.max(Objection.id))),
        "amendment_id": one(sa.select(sa.func.max(Amendment.id))),
        "job_id": None, "ocid": None, "fmt": "csv",
    }
    ids["evaluator"] = one(sa.select(User.username).where(User.id == evaluator))
    assert one(sa.select(sa.func.count(Organization.id))), "no district here"
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="only the routes whose path contains this")
    args = parser.parse_args()
    import sqlalchemy as sa
    from flask import url_for

    url = common.ensure_district()
    for limit in ("RATE_LIMIT_LOGIN", "RATE_LIMIT_VERIFY", "RATE_LIMIT_API"):
        os.environ[limit] = "1000000 per minute"
    app = common.app_for(url, WTF_CSRF_ENABLED=False)
    from svcproc.extensions import db

    counted = [0]
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *_a: counted.__setitem__(0, counted[0] + 1))
        ids = _ids()
    paths, skipped = [], []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static" or rule.arguments & FILE_ARGS \
                    or rule.endpoint == "accounts.logout" or args.only not in rule.rule:
                continue
            if any(ids.get(a) is None for a in rule.arguments):
                skipped.append(rule.rule)
                continue
            paths.append(url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments}))
    logins = [None, "bench-admin", "bench-procurement", "bench-auditor", "bench-manager", "bench-worker",
              ids["evaluator"], "bench-expert"]
    figures = common.Figures("sweep", database=url.split(":", 1)[0], pages=len(paths), logins=len(logins))
    bare = app.test_client()
    bare_times = []
    for _ in range(20):
        started = time.perf_counter()
        bare.get("/healthz")
        bare_times.append(time.perf_counter() - started)
    rows = []
    failed = []  # (who, path, status) of a server error, or of a refusal for too many requests
    for login in logins:
        client = app.test_client()
        if login is not None:
            response = client.post("/login", data={"username": login, "password": common.BENCH_PASSWORD})
            if response.status_code != 303:
                raise RuntimeError(f"login as {login}: {response.status_code}")
        for path in paths:
            client.get(path).get_data()  # kept figures worked out, templates compiled
            times = []
            for _ in range(ROUNDS):
                counted[0] = 0
                started = time.perf_counter()
                response = client.get(path)
                body = response.get_data()
                times.append(time.perf_counter() - started)
            if response.status_code >= 429:
                failed.append((login or "visitor", path, response.status_code))
            if response.status_code == 200:
                rows.append((login or "visitor", path, counted[0], len(body), statistics.median(times),
                             response.mimetype == "text/html"))
    bare_ms = statistics.median(bare_times) * 1000
    # Pages are HTML; the rest (exports, feeds, JSON) are bounded by their statements alone: an export
    # streams as many rows as the list holds.
    pages = [r for r in rows if r[5]]
    heavy = sorted((r for r in rows if r[2] > GOAL_STATEMENTS), key=lambda r: -r[2])
    large = sorted((r for r in pages if r[3] > GOAL_KB * 1024), key=lambda r: -r[3])
    figures.add("answers (role × address), of them HTML pages", len(rows), note=f"{len(pages)} pages")
    figures.add("answers that failed (5xx) or were refused as too many (429)", len(failed), at_most=0,
                note="; ".join(f"{who} {path}: {status}" for who, path, status in failed[:8]))
    figures.add(f"answers over {GOAL_STATEMENTS} SQL statements", len(heavy), at_most=0,
                note="; ".join(f"{who} {path}: {n}" for who, path, n, *_rest in heavy[:8]))
    figures.add(f"pages over {GOAL_KB} KB", len(large), at_most=0,
                note="; ".join(f"{who} {path}: {b // 1024} KB" for who, path, _n, b, *_rest in large[:8]))
    most = max(rows, key=lambda r: r[2])
    figures.add("most SQL statements of an answer", most[2], at_most=GOAL_STATEMENTS, note=f"{most[0]} {most[1]}")
    biggest = max(pages, key=lambda r: r[3])
    figures.add("largest page", biggest[3] / 1024, " KB", at_most=GOAL_KB, note=f"{biggest[0]} {biggest[1]}")
    figures.add("bare route in-process, p50", bare_ms, " ms")
    for who, path, n, size, took, _html in sorted(pages, key=lambda r: -r[4])[:10]:
        figures.add(f"slow: {who} {path}"[:58], took * 1000, " ms", note=f"{took * 1000 / bare_ms:.1f}× the bare route; "
                    f"{n} SQL; {size // 1024} KB")
    if skipped:
        figures.note("left out (no id in this district): " + ", ".join(sorted(skipped)))
    figures.save()


if __name__ == "__main__":
    main()
