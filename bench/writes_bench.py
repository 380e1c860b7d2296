"""Write benchmark: recording, correcting and deleting a service entry, explaining a red flag and
saving an evaluator's score, on the district data set, through the same POSTs a browser sends
(CSRF token included).

Each write is timed in turn with the bare route (/healthz) on one gunicorn server (2 workers); the
figure is the write's p95 over the bare route's p95 (goal ≤ 5×). Each write's SQL statements are
counted in-process as well (they must not grow with the district). Usage:

    BENCH_SCALE=small|district .venv/bin/python bench/writes_bench.py [--rounds N]
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

GOAL_RATIO = 5.0
BARE = "/healthz"


def _world(url: str) -> dict:
    """What the writes act on: the largest organization's biggest running contract and its worker,
    people and communities, an unexplained flag, and an evaluator with scores still to save."""
    import sqlalchemy as sa

    from svcproc.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        q = lambda sql: conn.exec_driver_sql(sql).all()  # noqa: E731
        one = lambda sql: conn.exec_driver_sql(sql).scalar()  # noqa: E731
        contract = one("SELECT a.contract_id FROM service_activity a JOIN contract c ON c.id = a.contract_id "
                       "WHERE c.organization_id = 1 AND c.status = 'in_progress' GROUP BY a.contract_id "
                       "ORDER BY count(*) DESC LIMIT 1")
        worker = one("SELECT w.id FROM social_worker w JOIN user_account u ON u.id = w.user_id "
                     "WHERE u.username = 'bench-worker'")
        communities = [r[0] for r in q("SELECT DISTINCT community_id FROM service_activity "
                                       f"WHERE contract_id = {contract} ORDER BY 1 LIMIT 3")]
        people = [r[0] for r in q("SELECT DISTINCT p.beneficiary_id FROM activity_participant p JOIN service_activity a "
                                  f"ON a.id = p.activity_id WHERE a.contract_id = {contract} ORDER BY 1 LIMIT 40")]
        flags = [r[0] for r in q("SELECT f.id FROM red_flag f JOIN contract c ON c.id = f.contract_id "
                                 "WHERE f.active AND f.explanation = '' ORDER BY f.id LIMIT 400")]
        scoring = q("SELECT e.round_id, u.username FROM round_evaluator e JOIN evaluation_round r ON r.id = e.round_id "
                    "JOIN user_account u ON u.id = e.user_id WHERE r.status = 'scoring' AND e.submitted_at IS NULL "
                    "AND NOT e.conflicted AND e.declared_at IS NOT NULL ORDER BY e.id LIMIT 1")
    engine.dispose()
    return {"contract": contract, "worker": worker, "communities": communities, "people": people, "flags": flags,
            "round": scoring[0][0] if scoring else None, "evaluator": scoring[0][1] if scoring else None}


def place_of(n: int) -> str:
    return f"议事厅{n}"


def _entry_form(world: dict, n: int, day: date) -> list[tuple[str, str]]:
    """A deliberation with five residents, a different hour and place each time (never a duplicate)."""
    start = 7 * 60 + (n * 7) % (13 * 60)
    form = [("type", "deliberation"), ("activity_date", day.isoformat()),
            ("start_time", f"{start // 60:02d}:{start % 60:02d}"),
            ("end_time", f"{(start + 50) // 60:02d}:{(start + 50) % 60:02d}"),
            ("community_id", str(world["communities"][n % len(world["communities"])])),
            ("place", place_of(n)), ("hours", ""), ("workers", str(world["worker"])), ("head_count", "0"),
            ("group_id", ""), ("session_number", ""), ("topic", "楼道停车秩序"), ("outcome", "形成三条公约草案"),
            ("notes", "")]
    people = world["people"]
    form += [("participants", str(people[(n + k) % len(people)])) for k in range(5)]
    return form


_engines: dict = {}


def entry_recorded(url: str, contract: int, place: str) -> int | None:
    """The entry a client just recorded, found by its place (unique to it) within the contract."""
    import sqlalchemy as sa

    from svcproc.config import normalise_database_url

    engine = _engines.get(url) or _engines.setdefault(url, sa.create_engine(normalise_database_url(url)))
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT max(id) FROM service_activity WHERE contract_id = %s AND place = %s"
                                    if engine.dialect.name == "postgresql" else
                                    "SELECT max(id) FROM service_activity WHERE contract_id = ? AND place = ?",
                                    (contract, place)).scalar()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60 if common.SCALE == "district" else 25)
    args = parser.parse_args()
    url = common.district_as_generated()
    world = _world(url)
    figures = common.Figures("writes", database=url.split(":", 1)[0], rounds=args.rounds, workers=2)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    c = world["contract"]
    with common.server(url) as port:
        worker = common.Client(port)
        worker.login("bench-worker")
        staff = common.Client(port)
        staff.login("bench-procurement")
        bare = common.Client(port)
        times: dict[str, list[float]] = {"bare": []}
        recorded: list[int] = []
        counter = [int(time.time()) % 1000]

        def timed(name: str, action, prepare=None) -> None:
            started = time.perf_counter()
            bare.get(BARE)
            times["bare"].append(time.perf_counter() - started)
            args_ = prepare() if prepare else ()
            started = time.perf_counter()
            response = action(*args_)
            elapsed = time.perf_counter() - started
            if response.status not in (200, 204, 303):
                raise RuntimeError(f"{name} answered {response.status}: {response.text[:300]}")
            times.setdefault(name, []).append(elapsed)

        def record():
            counter[0] += 1
            worker.get(f"/contracts/{c}/services/new")
            return (_entry_form(world, counter[0], today - timedelta(days=counter[0] % 20)),)

        def post_record(form):
            response = worker.post(f"/contracts/{c}/services/new", form)
            return response

        def edit_prepare():
            entry = recorded[-1]
            page = worker.get(f"/services/{entry}/edit").text
            version = re.search(r'name="version"[^>]*value="(\d+)"', page) or re.search(
                r'value="(\d+)"[^>]*name="version"', page)
            counter[0] += 1
            form = _entry_form(world, counter[0], today - timedelta(days=counter[0] % 20))
            form += [("reason", "补录参与人员"), ("version", version.group(1) if version else "1")]
            return entry, form

        def delete_prepare():
            entry = recorded.pop()
            worker.get(f"/services/{entry}")
            return entry, [("reason", "重复录入，删除")]

        flags = list(world["flags"])

        def explain_prepare():
            flag = flags.pop(0)
            staff.get("/red-flags")
            return flag, [("note", "已核实：服务对象在两个项目中接受不同内容的服务，不属重复计算。")]

        evaluator = None
        if world["evaluator"]:
            evaluator = common.Client(port)
            evaluator.login(world["evaluator"])
            evaluator.get(f"/evaluations/rounds/{world['round']}/score")
        leaves = ("management.plan", "management.team", "management.records", "management.risk", "outcome.needs")

        can_delete = None
        for n in range(args.rounds + 2):
            timed("record a service entry", post_record, record)
            recorded.append(entry_recorded(url, c, place_of(counter[0])))
            timed("correct a service entry", lambda e, f: worker.post(f"/services/{e}/edit", f), edit_prepare)
            if can_delete is None:
                can_delete = worker.get(f"/services/{recorded[-1]}/delete").status in (200, 405)
            if can_delete:
                timed("delete a service entry", lambda e, f: worker.post(f"/services/{e}/delete", f), delete_prepare)
            if flags:
                timed("explain a red flag", lambda f, form: staff.post(f"/red-flags/{f}/explain", form),
                      explain_prepare)
            if evaluator is not None:
                leaf = leaves[n % len(leaves)]
                timed("save an evaluator's score",
                      lambda: evaluator.post(f"/evaluations/rounds/{world['round']}/score/{leaf}",
                                             {"points": str(2 + n % 3), "comment": "现场核查，资料齐全。"}, htmx=True))
        warm = 2
        bare95 = common.percentile(times["bare"][warm * 4:], 95)
        figures.add("bare route p95", bare95 * 1000, " ms")
        for name, values in times.items():
            if name == "bare":
                continue
            p95 = common.percentile(values[warm:], 95)
            figures.add(name, p95 / bare95, "×", at_most=GOAL_RATIO,
                        note=f"p95 {p95 * 1000:.1f} ms, p50 {common.percentile(values[warm:], 50) * 1000:.1f} ms")
        if not can_delete:
            figures.note("deleting a service entry: not available")
    figures.save()


if __name__ == "__main__":
    main()
