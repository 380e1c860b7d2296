"""Audit trail benchmark: a hash chain of N events (20,000; BENCH_SCALE=district: 520,000) bulk-inserted
with correct hashes into a fresh database, then

- the full verification's rate (events per second) and time,
- a check of new events from the latest checkpoint after 100 more were recorded,
- how long GET /audit/verify takes to answer, and the audit list's pages (newest, deep, filtered),
- how long one record()+commit holds the chain's head row: from the head's UPDATE to COMMIT, taken
  with engine events, in transactions that go on working for 50 ms after recording their event.

Usage:

    .venv/bin/python bench/audit_bench.py [--events N] [--database-url URL]

Without --database-url a temporary SQLite file is used. A PostgreSQL database given here is emptied
first (DROP SCHEMA public CASCADE): give one made for the benchmark.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SCALE, Figures, interleave, median  # noqa: E402

EVENTS = {"small": 20_000, "district": 520_000}
PASSWORD = "bench-Password-2026"
WORK_AFTER_RECORD = 0.05  # seconds a transaction goes on working after recording its event


def _app(database_url: str, instance: str):
    os.environ["SVCPROC_INSTANCE"] = instance
    from svcproc import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "HTMX_CDN_URL": "", "REDIS_URL": None})


def build_chain(app, events: int) -> float:
    """A fresh schema, an auditor, and `events` events in one chain, inserted in bulk; returns seconds."""
    import flask_migrate
    import sqlalchemy as sa

    from svcproc.accounts import passwords
    from svcproc.accounts.models import User
    from svcproc.audit.models import AuditChainHead, AuditEvent
    from svcproc.audit.services import GENESIS, hash_of, known_object_types
    from svcproc.core.permissions import Role
    from svcproc.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        flask_migrate.upgrade()
        now = datetime.now(timezone.utc)
        db.session.add(User(username="bench-auditor", role=Role.AUDITOR, password_hash=passwords.hash_password(PASSWORD),
                            created_at=now))
        db.session.commit()
        started = time.perf_counter()
        rng = random.Random(5)
        actors = [f"staff{i:03d}" for i in range(200)] + ["public", ""]
        types = known_object_types()
        verbs = ("created", "updated", "status_changed", "recorded", "explained")
        first = now - timedelta(days=3 * 365)
        step = (now - first - timedelta(days=1)) / events
        table = AuditEvent.__table__
        previous, chunk = GENESIS, []
        for seq in range(1, events + 1):
            kind = rng.choice(types)
            row = {"seq": seq, "occurred_at": first + step * seq, "actor_id": None,
                   "actor_name": rng.choice(actors), "action": f"{kind}.{rng.choice(verbs)}", "object_type": kind,
                   "object_id": str(rng.randrange(1, 50_000)),
                   "changes": {"name": [None, f"玉林街道社区服务{seq}"], "status": ["draft", "published"]},
                   "client_ip": f"10.0.{seq % 250}.{seq % 200}", "prev_hash": previous}
            row["hash"] = previous = hash_of(*(row[name] for name in (
                "seq", "occurred_at", "actor_id", "actor_name", "action", "object_type", "object_id", "changes",
                "client_ip", "prev_hash")))
            chunk.append(row)
            if len(chunk) == 5_000 or seq == events:
                db.session.execute(sa.insert(table), chunk)
                chunk = []
        db.session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == 1)
                           .values(last_seq=events, last_hash=previous))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE audit_event")
        return time.perf_counter() - started


def record_more(app, n: int) -> None:
    """`n` events through record(), ten to a transaction, as requests write them."""
    from svcproc.audit.services import record
    from svcproc.extensions import db

    with app.app_context():
        for i in range(n):
            record("bench.recorded", object_type="area", object_id=i, changes={"name": [None, f"新区域{i}"]})
            if i % 10 == 9:
                db.session.commit()
        db.session.commit()


def verification(app, resume: bool):
    from svcproc.audit.verification import verify_chain
    from svcproc.extensions import db

    with app.app_context():
        started = time.perf_counter()
        report = verify_chain(resume=resume)
        seconds = time.perf_counter() - started
        db.session.remove()
    if not report.ok:
        raise SystemExit(f"the chain did not verify: {report}")
    return report, seconds


def lock_hold(app, transactions: int = 20) -> tuple[list[float], list[float]]:
    """Seconds from the head's UPDATE to COMMIT (the append) and to the end of the commit, in each of
    `transactions` record()+commit."""
    import sqlalchemy as sa

    from svcproc.audit.services import record
    from svcproc.extensions import db

    appended, committed, taken = [], [], {}

    def before_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE AUDIT_CHAIN_HEAD"):
            taken.setdefault("update", time.perf_counter())

    def on_commit(conn):  # the engine's commit event comes just before COMMIT is sent
        if "update" in taken:
            appended.append(time.perf_counter() - taken["update"])

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", before_execute)
        sa.event.listen(db.engine, "commit", on_commit)
        try:
            for i in range(transactions):
                record("bench.locked", object_type="area", object_id=i, changes={"name": [None, "x"]})
                time.sleep(WORK_AFTER_RECORD)  # the rest of the workflow (e.g. re-checking red flags)
                db.session.commit()
                committed.append(time.perf_counter() - taken.pop("update"))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before_execute)
            sa.event.remove(db.engine, "commit", on_commit)
    return appended, committed


def pages(app, events: int, rounds: int = 7) -> dict[str, list[float]]:
    import re

    client = app.test_client()
    client.set_cookie("svcproc_lang", "zh_CN")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": "bench-auditor", "password": PASSWORD, "csrf_token": token})
    if response.status_code != 303:
        raise SystemExit(f"login answered {response.status_code}")
    urls = {
        "/audit/verify": "/audit/verify",
        "/audit (newest page)": "/audit",
        "/audit (a page halfway back)": f"/audit?before={events // 2}",
        "/audit?actor=staff01": "/audit?actor=staff01",
        "/audit?action=contract.": "/audit?action=contract.",
        "/audit?object_type=payment": "/audit?object_type=payment",
    }

    def fetch(url):
        def step():
            answer = client.get(url)
            if answer.status_code != 200:
                raise SystemExit(f"{url} answered {answer.status_code}")
        return step

    return interleave({name: fetch(url) for name, url in urls.items()}, rounds=rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=EVENTS.get(SCALE, EVENTS["small"]))
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="svcproc-audit-bench-")
    url = args.database_url or f"sqlite:///{tmp.name}/audit.db"
    app = _app(url, tmp.name)
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    figures = Figures("audit", events=args.events, database=dialect)

    figures.add("chain built by bulk insert", build_chain(app, args.events), "s")
    report, seconds = verification(app, resume=False)
    figures.add("full verification rate", args.events / seconds, " ev/s", note=f"{report.checked:,} events")
    figures.add("full verification time", seconds, "s")
    record_more(app, 100)
    report, seconds = verification(app, resume=True)
    figures.add("check of new events from the checkpoint (100 new)", seconds, "s", at_most=1.0,
                note=f"{report.checked} events checked")
    times = pages(app, args.events + 100)
    figures.add("GET /audit/verify (median)", median(times.pop("/audit/verify")), "s", at_most=0.2)
    for name, values in times.items():
        figures.add(f"GET {name} (median)", median(values), "s")
    appended, committed = lock_hold(app)
    note = f"each transaction works {WORK_AFTER_RECORD * 1000:.0f} ms after record()"
    figures.add("head lock held, UPDATE to COMMIT (median)", statistics.median(appended) * 1000, "ms", at_most=20,
                note=note)
    figures.add("head lock held, UPDATE to COMMIT (max)", max(appended) * 1000, "ms")
    figures.add("head lock held, UPDATE to end of commit (median)", statistics.median(committed) * 1000, "ms")
    figures.save()
    tmp.cleanup()


if __name__ == "__main__":
    main()
