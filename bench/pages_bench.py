"""Page benchmark: every list and dashboard page of procurement staff, the largest organization's
manager and one of its social workers, and the auditor, on the district data set.

Each page is requested in turn with the bare route (/healthz: the app's smallest answer) on the same
gunicorn server (2 workers), so both see the same machine; the figure is the page's p95 over the
bare route's p95 (goal ≤ 3×). Each page's SQL statements are counted in-process on the same
database and printed next to it (goal: a bounded number, ≤ 25). Usage:

    BENCH_SCALE=small|district .venv/bin/python bench/pages_bench.py [--rounds N] [--only SUBSTRING]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

GOAL_RATIO = 3.0
GOAL_QUERIES = 25
BARE = "/healthz"


def _ids(url: str) -> dict:
    """Ids the pages need: the largest organization's biggest running contract, a tender, rounds…"""
    import sqlalchemy as sa

    engine = sa.create_engine(_driver_url(url))
    with engine.connect() as conn:
        one = lambda sql: conn.exec_driver_sql(sql).scalar()  # noqa: E731
        contract = one("SELECT a.contract_id FROM service_activity a JOIN contract c ON c.id = a.contract_id "
                       "WHERE c.organization_id = 1 AND c.status = 'in_progress' GROUP BY a.contract_id "
                       "ORDER BY count(*) DESC LIMIT 1")
        ids = {
            "contract": contract,
            "tender": one(f"SELECT tender_id FROM contract WHERE id = {contract}"),
            "round": one("SELECT max(id) FROM evaluation_round WHERE status = 'finalized'"),
            "year": one("SELECT max(fiscal_year) FROM project_plan"),
            "org": 1,
            "plan": one("SELECT max(id) FROM project_plan"),
            "activity": one(f"SELECT max(id) FROM service_activity WHERE contract_id = {contract}"),
            "person": one("SELECT min(id) FROM beneficiary WHERE organization_id = 1"),
        }
    engine.dispose()
    return ids


def _driver_url(url: str) -> str:
    from svcproc.config import normalise_database_url

    return normalise_database_url(url)


def pages(ids: dict) -> dict[str, list[tuple[str, str, bool]]]:
    """role login -> [(label, path, htmx)] in menu order."""
    c = ids["contract"]
    return {
        "bench-procurement": [
            ("home", "/", False),
            ("needs", "/procurement/needs", False),
            ("plans", "/procurement/plans", False),
            ("tenders", "/procurement/tenders", False),
            ("tender", f"/procurement/tenders/{ids['tender']}", False),
            ("contracts", "/contracts", False),
            ("contracts page 40", "/contracts?page=40", True),
            ("contract", f"/contracts/{c}", False),
            ("services", f"/contracts/{c}/services", False),
            ("services page 100", f"/contracts/{c}/services?page=100", True),
            ("progress", f"/contracts/{c}/progress", False),
            ("contract red flags", f"/contracts/{c}/red-flags", False),
            ("reminders", "/reminders", False),
            ("beneficiaries", "/beneficiaries", False),
            ("beneficiary search", "/beneficiaries?q=%E7%8E%8B%E4%BC%9F", True),
            ("red flags", "/red-flags", False),
            ("evaluations", "/evaluations/", False),
            ("evaluation summary", f"/evaluations/rounds/{ids['round']}/summary", False),
            ("rectification", "/evaluations/rectification", False),
            ("organizations", "/registry/organizations", False),
            ("organization", f"/registry/organizations/{ids['org']}", False),
            ("social workers", "/registry/workers", False),
        ],
        "bench-manager": [
            ("home", "/", False),
            ("contracts", "/contracts", False),
            ("contract", f"/contracts/{c}", False),
            ("services", f"/contracts/{c}/services", False),
            ("services page 100", f"/contracts/{c}/services?page=100", True),
            ("progress", f"/contracts/{c}/progress", False),
            ("imports", f"/contracts/{c}/imports", False),
            ("beneficiaries", "/beneficiaries", False),
            ("beneficiary search", "/beneficiaries?q=%E7%8E%8B", True),
            ("beneficiary", f"/beneficiaries/{ids['person']}", False),
            ("tenders", "/procurement/tenders", False),
            ("my bids", "/procurement/my-bids", False),
            ("rectification", "/evaluations/rectification", False),
            ("social workers", "/registry/workers", False),
            ("reminders", "/reminders", False),
        ],
        "bench-worker": [
            ("home", "/", False),
            ("contracts", "/contracts", False),
            ("services", f"/contracts/{c}/services", False),
            ("record a service", f"/contracts/{c}/services/new", False),
            ("participant search", f"/contracts/{c}/people?q=%E7%8E%8B", True),
            ("beneficiaries", "/beneficiaries", False),
        ],
        "bench-auditor": [
            ("desk (home)", "/", False),
            ("audit trail", "/audit", False),
            ("audit trail by action", "/audit?action=activity.recorded", True),
            ("audit trail by actor", "/audit?actor=bench-manager", True),
            ("audit verify", "/audit/verify", False),
            ("red flags", "/red-flags", False),
            ("contracts", "/contracts", False),
            ("contract", f"/contracts/{c}", False),
            ("progress", f"/contracts/{c}/progress", False),
            ("beneficiary search", "/beneficiaries?q=%E7%8E%8B%E4%BC%9F", True),
            ("evaluations", "/evaluations/", False),
            ("portfolio report", f"/reports/portfolio/{ids['year'] - 1}", False),
        ],
    }


def count_statements(url: str, plan: dict) -> dict[tuple[str, str], tuple[int, int]]:
    """(login, path) -> (HTTP status, SQL statements) of each page, served in-process."""
    import sqlalchemy as sa

    app = common.app_for(url, WTF_CSRF_ENABLED=False)
    from svcproc.extensions import db

    counted: list[int] = [0]

    def on_execute(*_args):
        counted[0] += 1

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", on_execute)
    results = {}
    for login, entries in plan.items():
        client = app.test_client()
        response = client.post("/login", data={"username": login, "password": common.BENCH_PASSWORD})
        if response.status_code != 303:
            raise RuntimeError(f"in-process login as {login}: {response.status_code}")
        for _label, path, htmx in entries:
            client.get(path, headers={"HX-Request": "true"} if htmx else {})  # warm caches first
            counted[0] = 0
            response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
            results[(login, path)] = (response.status_code, counted[0])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60 if common.SCALE == "district" else 25)
    parser.add_argument("--only", default="", help="measure only pages whose label or path contains this")
    parser.add_argument("--skip", default="", help="leave out pages whose label contains this")
    args = parser.parse_args()
    url = common.ensure_district()
    ids = _ids(url)
    plan = pages(ids)
    if args.only:
        plan = {login: [p for p in entries if args.only in p[0] or args.only in p[1]] for login, entries in plan.items()}
    if args.skip:
        plan = {login: [p for p in entries if args.skip not in p[0]] for login, entries in plan.items()}
    figures = common.Figures("pages", database=url.split(":", 1)[0], rounds=args.rounds, workers=2)
    statements = count_statements(url, plan)
    within = total = 0
    worst = []
    with common.server(url) as port:
        for login, entries in plan.items():
            client = common.Client(port)
            client.login(login)
            figures.note(f"-- {login}")
            for label, path, htmx in entries:
                try:
                    status = client.get(path, htmx=htmx).status
                    if status != 200:
                        raise RuntimeError(f"HTTP {status}")
                    times = common.interleave({"bare": lambda: client.get(BARE),
                                               "page": lambda: client.get(path, htmx=htmx)}, rounds=args.rounds)
                except (OSError, RuntimeError) as exc:  # a page that fails or times out fails its goal
                    figures.add(f"{login} {label}: answered", 0, "", at_least=1, note=f"{path}: {exc}")
                    client = common.Client(port)
                    client.login(login)
                    total += 1
                    continue
                bare95 = common.percentile(times["bare"], 95)
                page95 = common.percentile(times["page"], 95)
                ratio = page95 / bare95
                code, queries = statements.get((login, path), (0, -1))
                ok = figures.add(f"{login} {label}", ratio, "×", at_most=GOAL_RATIO,
                                 note=f"p95 {page95 * 1000:.1f} ms vs bare {bare95 * 1000:.1f} ms; "
                                      f"p50 {common.percentile(times['page'], 50) * 1000:.1f} ms; {queries} SQL")
                if queries > GOAL_QUERIES:
                    figures.add(f"{login} {label}: SQL statements", queries, "", at_most=GOAL_QUERIES)
                total += 1
                within += bool(ok)
                worst.append((ratio, f"{login} {label}"))
    figures.add("pages within 3× the bare route", within, f" of {total}", at_least=total)
    figures.note("slowest: " + "; ".join(f"{name} {ratio:.1f}×" for ratio, name in sorted(worst, reverse=True)[:8]))
    figures.save()


if __name__ == "__main__":
    main()
