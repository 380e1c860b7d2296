"""OCDS benchmark: the bulk export of the fiscal year with the most published tenders, streamed as a
release package and as JSON Lines on the benchmark district (bench.common.ensure_district,
BENCH_SCALE=small or district).

The export is consumed as a client would read it (nothing kept but a byte count) while tracemalloc
follows Python's allocations: the peak must stay within a bound that does not depend on the year's
size (goal: ≤ 64 MB), and the SQL statements per batch of 50 tenders must stay fixed (goal: ≤ 12).
Figures are saved to bench/results/ocds_bench.json. Usage:

    BENCH_SCALE=district .venv/bin/python bench/ocds_bench.py [--database-url URL]
"""
from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

GOAL_PEAK_MB = 64
GOAL_STATEMENTS_PER_BATCH = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a database already holding a district (skips bench-data)")
    args = parser.parse_args()

    import sqlalchemy as sa

    url = args.database_url or common.ensure_district()
    app = common.app_for(url)
    from svcproc.extensions import db
    from svcproc.ocds import packages
    from svcproc.procurement.models import PUBLIC_STATUSES, ProjectPlan, Tender

    with app.app_context(), app.test_request_context():
        year, tenders = db.session.execute(
            sa.select(ProjectPlan.fiscal_year, sa.func.count(Tender.id)).join(Tender, Tender.plan_id == ProjectPlan.id)
            .where(Tender.status.in_(PUBLIC_STATUSES), Tender.publish_at.is_not(None))
            .group_by(ProjectPlan.fiscal_year).order_by(sa.func.count(Tender.id).desc()).limit(1)).one()
        figures = common.Figures("ocds_bench", dialect=url.split(":", 1)[0], year=year, tenders=tenders,
                                 batch=packages.BATCH)
        statements = [0]
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        for lines in (False, True):
            kind = "JSON Lines" if lines else "release package"
            db.session.expunge_all()
            statements[0] = 0
            size = 0
            tracemalloc.start()
            started = time.perf_counter()
            for chunk in packages.stream_bulk(year, "http://localhost/ocds/bulk", lines):
                size += len(chunk.encode("utf-8"))
            seconds = time.perf_counter() - started
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            batches = -(-tenders // packages.BATCH) + (1 if tenders % packages.BATCH == 0 else 0)
            figures.add(f"{year} as a {kind}: bytes written", size, " B")
            figures.add(f"{year} as a {kind}: seconds (under tracemalloc)", seconds, " s")
            figures.add(f"{year} as a {kind}: peak Python memory", peak / 2**20, " MB", at_most=GOAL_PEAK_MB,
                        note=f"{size / 2**20:.1f} MB written")
            figures.add(f"{year} as a {kind}: SQL statements per batch", statements[0] / batches, "",
                        at_most=GOAL_STATEMENTS_PER_BATCH, note=f"{statements[0]} in {batches} batches")
    figures.save()


if __name__ == "__main__":
    main()
