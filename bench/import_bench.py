"""Ledger import benchmark: a ledger of service entries through svcproc's dry run and all-or-nothing
import, next to a plain bulk insert of the same rows into the same tables.

Runs on a temporary SQLite database and, when PostgreSQL answers on 127.0.0.1:5432, on the database
svcproc_bench_import there too (created when missing, its schema replaced on every run), both in one
run; --database-url runs on that one database instead. Rows: 20,000 at BENCH_SCALE=small, 100,000 at
district (--rows chooses). The goal: the dry run and the import together reach at least half the
rows per second of the plain insert. The red-flag refresh that ends an import is timed on its own
and left out of that ratio, then shown with it, so its share is visible.

Each phase (setup, dry run + import, plain insert) runs in a fresh process, for its peak memory: the
peak resident set size can only be reset for a whole process, and memory a phase frees stays with
the process, so a later phase in the same one would look smaller or larger than it is. The peak is
reset once the application is loaded; a phase's figure is its peak and what it added to the memory
held at its start. The import and the plain insert run --rounds times in turn (medians printed), so
a slow moment of the machine falls on both.

    .venv/bin/python bench/import_bench.py [--rows N] [--rounds 3] [--database-url URL]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time as timer
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import PG_SERVER, SCALE, Figures, _postgres_answers  # noqa: E402

CONTRACT_START, CONTRACT_END = date(2024, 1, 1), date(2026, 12, 31)
# The import runs "after" the term, so no entry is in the future whenever the bench is run.
IMPORT_AT = datetime(2027, 1, 15, 2, 0, tzinfo=timezone.utc)
ROWS = {"small": 20_000, "district": 100_000}
PG_DATABASE = "svcproc_bench_import"
GOAL_RATIO = 0.5


def _app(database_url: str, instance: str):
    os.environ["SVCPROC_INSTANCE"] = instance
    from svcproc import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "MAX_CONTENT_LENGTH": 200 * 1024 * 1024})


def _resident_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _phase_starts() -> float:
    """Forget the peak so far (loading the application reaches its own); returns what is resident now."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets the peak resident set size (Linux 4.0+)
    except OSError:
        pass  # the peak then includes loading the application
    return _resident_mb()


def setup(database_url: str, instance: str, rows: int, csv_path: str) -> None:
    """Schema, one contract with workers and 300 registered people, and the ledger file."""
    import flask_migrate

    from svcproc.accounts.models import User
    from svcproc.contracts.models import Contract, ContractStatus
    from svcproc.core import clock
    from svcproc.core.permissions import Role
    from svcproc.delivery import identity, services
    from svcproc.delivery.models import ConsentBy, ConsentMethod, Gender
    from svcproc.extensions import db
    from svcproc.procurement.models import (Bid, BidStatus, ProjectPlan, ServiceCategory, Tender, TenderMethod,
                                            TenderStatus)
    from svcproc.registry import creditcode
    from svcproc.registry.models import (Area, AreaLevel, CertificationLevel, Organization, OrgKind,
                                         RegistrationType, SocialWorker)

    app = _app(database_url, instance)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        flask_migrate.upgrade()
        now = datetime.now(timezone.utc)
        district = Area(level=AreaLevel.DISTRICT, code="510107", name="武侯区")
        street = Area(level=AreaLevel.STREET, code="510107001", name="玉林街道", parent=district)
        communities = [Area(level=AreaLevel.COMMUNITY, code=f"51010700100{i}", name=f"社区{i}", parent=street)
                       for i in range(1, 5)]
        org = Organization(name="基准测试社工机构", credit_code=creditcode.make("52", "510107", "MJ0K1A2B"),
                           kind=OrgKind.SERVICE, registration_type=RegistrationType.SOCIAL_SERVICE_AGENCY,
                           created_at=now)
        db.session.add_all([district, street, *communities, org])
        db.session.flush()
        workers = [SocialWorker(name=f"社工{i}", organization_id=org.id, certification_level=CertificationLevel.NONE,
                                created_at=now) for i in range(8)]
        plan = ProjectPlan(fiscal_year=2025, title="基准", category=ServiceCategory.ELDERLY, budget_fen=10**8,
                           created_at=now)
        manager = User(username="bench-manager", role=Role.ORG_MANAGER, organization_id=org.id,
                       password_hash="!", created_at=now)
        db.session.add_all([*workers, plan, manager])
        db.session.flush()
        tender = Tender(plan_id=plan.id, number="B-1", title="基准", method=TenderMethod.SINGLE_SOURCE,
                        ceiling_fen=10**8, price_weight=Decimal(20), clarification_deadline=now, bid_deadline=now,
                        opening_at=now, status=TenderStatus.AWARDED, status_changed_at=now, created_at=now)
        db.session.add(tender)
        db.session.flush()
        bid = Bid(tender_id=tender.id, organization_id=org.id, status=BidStatus.SUBMITTED, status_changed_at=now,
                  submitted_at=now, submitted_by_id=manager.id, sealed=b"", digest="", receipt_code="B-1", price_fen=10**7)
        db.session.add(bid)
        db.session.flush()
        contract = Contract(number="BENCH-001", tender_id=tender.id, bid_id=bid.id, organization_id=org.id,
                            title="基准", original_amount_fen=10**7, amount_fen=10**7, start_date=CONTRACT_START,
                            end_date=CONTRACT_END, status=ContractStatus.IN_PROGRESS, status_changed_at=now,
                            created_at=now)
        contract.workers = workers
        db.session.add(contract)
        db.session.flush()
        clock.freeze(now)
        numbers = []
        for i in range(300):
            number = identity.make(f"5101071950{(i % 12) + 1:02d}{(i % 28) + 1:02d}{i:03d}")
            services.create_beneficiary(None, org.id, name=f"对象{i}", gender=Gender.FEMALE, id_number=number,
                                        birth_year=None, community=communities[i % 4], categories=[], phone="",
                                        consent_by=ConsentBy.SELF, guardian_name="",
                                        consent_method=ConsentMethod.WRITTEN, consent_on=now.date(),
                                        sensitive_consent=True, sensitive_consent_purpose="核实身份",
                                        sensitive_consent_on=now.date())
            numbers.append(number)
        clock.freeze(None)
        db.session.commit()
    rng = random.Random(7)
    with open(csv_path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(["日期", "开始时间", "结束时间", "服务类型", "社区", "地点", "社工", "服务对象身份证号", "其他参与人数",
                         "服务时长", "小组名称", "节次", "主题", "成果", "备注"])
        # Spread over the contract term: each worker's entries a quarter-hour apart, never overlapping.
        per_day = -(-rows // ((CONTRACT_END - CONTRACT_START).days + 1))
        for n in range(rows):
            day = CONTRACT_START + timedelta(days=n // per_day)
            slot = n % per_day
            minutes = 7 * 60 + (slot // 8) * 15
            start = time(minutes // 60, minutes % 60)
            end = time(start.hour, start.minute + 10)
            kind = ("个案", "社区活动", "微议事")[n % 3]
            people = [numbers[rng.randrange(300)]] if kind == "个案" else rng.sample(numbers, 3)
            writer.writerow([day.isoformat(), start.strftime("%H:%M"), end.strftime("%H:%M"), kind,
                             f"社区{(n % 4) + 1}", "活动室", f"社工{slot % 8}", ";".join(people),
                             "5" if kind == "社区活动" else "", "", "", "", "议事主题" if kind == "微议事" else "", "", ""])


def _clear_entries(db) -> None:
    """Back to the contract as setup left it: no entries, cases or flags (each phase starts there)."""
    import sqlalchemy as sa

    from svcproc.delivery.models import (RedFlag, ServiceActivity, ServiceCase, activity_participant,
                                         activity_worker)

    db.session.execute(sa.delete(activity_worker))
    db.session.execute(sa.delete(activity_participant))
    db.session.execute(sa.delete(RedFlag))
    db.session.execute(sa.delete(ServiceActivity))
    db.session.execute(sa.delete(ServiceCase))
    db.session.commit()


def phase_import(database_url: str, instance: str, csv_path: str) -> dict:
    from werkzeug.datastructures import FileStorage

    import sqlalchemy as sa
    from svcproc.contracts.models import Contract
    from svcproc.core import clock
    from svcproc.delivery import flags, ledger
    from svcproc.extensions import db

    app = _app(database_url, instance)
    refresh = {"s": 0.0}
    real_refresh = flags.refresh_flags

    def timed_refresh(*args, **kwargs):  # run_import imports it from flags when it calls it
        started = timer.perf_counter()
        try:
            return real_refresh(*args, **kwargs)
        finally:
            refresh["s"] += timer.perf_counter() - started

    flags.refresh_flags = timed_refresh
    clock.freeze(IMPORT_AT)
    with app.app_context():
        _clear_entries(db)
        contract = db.session.execute(sa.select(Contract).where(Contract.number == "BENCH-001")).unique().scalar_one()
        start_mb = _phase_starts()
        started = timer.perf_counter()
        with open(csv_path, "rb") as fh:
            batch = ledger.create_batch(None, contract, FileStorage(stream=fh, filename="ledger.csv"))
        ledger.run_check(None, batch)
        db.session.commit()
        checked = timer.perf_counter()
        ledger.run_import(None, batch)
        db.session.commit()
        done = timer.perf_counter()
        return {"rows": batch.rows_new, "errors": batch.error_count, "duplicates": batch.rows_duplicate,
                "check_s": checked - started, "import_s": done - checked - refresh["s"], "refresh_s": refresh["s"],
                "start_mb": start_mb}


def phase_plain(database_url: str, instance: str, csv_path: str) -> dict:
    """The same rows straight into the same tables: no checks, no duplicates test, no flags, no audit.

    Written as first measured, so figures compare across versions: an ORM insert returning the ids
    in parameter order (one row per statement on SQLite, one statement of ~20,000 parameters per
    1,000 rows on PostgreSQL, slow for psycopg to parse) and every identity number hashed as read.
    """
    import sqlalchemy as sa
    from svcproc.contracts.models import Contract
    from svcproc.delivery import identity
    from svcproc.delivery.models import (ActivityType, Beneficiary, ServiceActivity, activity_participant,
                                         activity_worker)
    from svcproc.extensions import db
    from svcproc.registry.models import Area, SocialWorker

    kinds = {"个案": ActivityType.CASE_WORK, "社区活动": ActivityType.COMMUNITY_EVENT, "微议事": ActivityType.DELIBERATION}
    app = _app(database_url, instance)
    with app.app_context():
        _clear_entries(db)
        contract = db.session.execute(sa.select(Contract).where(Contract.number == "BENCH-001")).unique().scalar_one()
        areas = {a.name: a.id for a in db.session.execute(sa.select(Area)).unique().scalars()}
        workers = {w.name: w.id for w in db.session.execute(sa.select(SocialWorker)).unique().scalars()}
        people = {k: i for i, k in db.session.execute(sa.select(Beneficiary.id, Beneficiary.id_match_key))}
        now = datetime.now(timezone.utc)
        start_mb = _phase_starts()
        started = timer.perf_counter()
        count = 0
        with open(csv_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            chunk = []

            def flush():
                ids = db.session.execute(sa.insert(ServiceActivity).returning(ServiceActivity.id,
                                                                             sort_by_parameter_order=True),
                                         [c[0] for c in chunk]).scalars().all()
                db.session.execute(sa.insert(activity_worker), [{"activity_id": i, "social_worker_id": c[1]}
                                                                 for i, c in zip(ids, chunk)])
                db.session.execute(sa.insert(activity_participant), [{"activity_id": i, "beneficiary_id": p}
                                                                      for i, c in zip(ids, chunk) for p in c[2]])
                chunk.clear()

            for row in reader:
                day = date.fromisoformat(row[0])
                start, end = time.fromisoformat(row[1]), time.fromisoformat(row[2])
                chunk.append(({"contract_id": contract.id, "type": kinds[row[3]], "activity_date": day,
                               "start_time": start, "end_time": end, "community_id": areas[row[4]], "place": row[5],
                               "hours": Decimal("0.17"), "head_count": int(row[8] or 0), "topic": row[12],
                               "outcome": "", "notes": "", "fingerprint": f"plain{count}", "revision": 1,
                               "created_at": now, "updated_at": now, "version": 1},
                              workers[row[6]], [people[identity.match_key(n)] for n in row[7].split(";")]))
                count += 1
                if len(chunk) >= 1000:
                    flush()
            if chunk:
                flush()
        db.session.commit()
        return {"rows": count, "total_s": timer.perf_counter() - started, "start_mb": start_mb}


PHASES = {"setup": setup, "import": phase_import, "plain": phase_plain}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"phase {args[1]} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ensure_pg_database(name: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return f"{PG_SERVER}/{name}"


def _run_on(figures: Figures, label: str, url: str, rows: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = f"{tmp}/ledger.csv"
        common = ["--database-url", url, "--instance", tmp, "--csv", csv_path]
        made = _child(["--phase", "setup", "--rows", str(rows), *common])
        size_mb = os.path.getsize(csv_path) / 1048576
        imports, plains = [], []
        for _round in range(rounds):  # in turn, so a slow moment of the machine falls on both
            imports.append(_child(["--phase", "import", *common]))
            plains.append(_child(["--phase", "plain", *common]))
    first = imports[0]
    if first["rows"] != rows or first["errors"] or first["duplicates"]:
        sys.exit(f"{label}: the import created {first['rows']} of {rows} rows "
                 f"({first['errors']} errors, {first['duplicates']} duplicates)")
    med = lambda key, runs: statistics.median(r[key] for r in runs)  # noqa: E731
    check_s, import_s, refresh_s = med("check_s", imports), med("import_s", imports), med("refresh_s", imports)
    plain_s = med("total_s", plains)
    figures.note(f"{label}: {rows:,} rows, {size_mb:.1f} MB CSV, median of {rounds} round(s)")
    figures.add(f"{label} dry run", rows / check_s, " rows/s", note=f"{check_s:.1f} s")
    figures.add(f"{label} import (red-flag refresh not included)", rows / import_s, " rows/s", note=f"{import_s:.1f} s")
    figures.add(f"{label} red-flag refresh after the import", refresh_s, " s",
                note=f"{refresh_s / (check_s + import_s + refresh_s):.0%} of dry run + import + refresh")
    figures.add(f"{label} plain bulk insert", rows / plain_s, " rows/s", note=f"{plain_s:.1f} s")
    ours = rows / (check_s + import_s)
    figures.add(f"{label} dry run + import over plain insert", ours / (rows / plain_s), "×", at_least=GOAL_RATIO,
                note=f"{ours:,.0f} rows/s, red-flag refresh left out")
    with_refresh = rows / (check_s + import_s + refresh_s)
    figures.add(f"{label} the same with the red-flag refresh", with_refresh / (rows / plain_s), "×",
                note=f"{with_refresh:,.0f} rows/s")
    figures.add(f"{label} peak memory, setup process", made["peak_mb"], " MB")
    for name, runs in (("dry run + import", imports), ("plain insert", plains)):
        run = max(runs, key=lambda r: r["peak_mb"])
        figures.add(f"{label} peak memory, {name}", run["peak_mb"], " MB",
                    note=f"{run['peak_mb'] - run['start_mb']:.0f} MB more than at its start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS.get(SCALE, ROWS["small"]))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="run on this database only (its schema is replaced)")
    parser.add_argument("--phase", choices=list(PHASES))
    parser.add_argument("--instance")
    parser.add_argument("--csv")
    args = parser.parse_args()
    if args.phase:
        if args.phase == "setup":
            setup(args.database_url, args.instance, args.rows, args.csv)
            result = {}
        else:
            result = PHASES[args.phase](args.database_url, args.instance, args.csv)
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    figures = Figures("import_bench", rows=args.rows, rounds=args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            targets = [(args.database_url.split(":", 1)[0].split("+", 1)[0], args.database_url)]
        else:
            targets = [("sqlite", f"sqlite:///{tmp}/bench.db")]
            if _postgres_answers():
                targets.append(("postgresql", _ensure_pg_database(PG_DATABASE)))
            else:
                figures.note("PostgreSQL does not answer on 127.0.0.1:5432: SQLite only")
        for label, url in targets:
            _run_on(figures, label, url, args.rows, args.rounds)
    figures.save()


if __name__ == "__main__":
    main()
