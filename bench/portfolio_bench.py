"""Portfolio benchmark: assembling the district portfolio of the fiscal year with the most contracts,
and the performance history of the organization with the most contracts, on the benchmark district
(bench.common.ensure_district, BENCH_SCALE=small or district).

Each is timed and its SQL statements counted (goals: the year's portfolio in at most 30 s, in a
number of statements that does not grow with the contracts); then, without goals, the whole jobs
that make the portfolio's PDF and spreadsheet. Figures are saved to bench/results/portfolio_bench.json.
Usage:

    BENCH_SCALE=district .venv/bin/python bench/portfolio_bench.py [--rounds 3] [--no-render] [--database-url URL]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

GOAL_SECONDS = 30
GOAL_STATEMENTS = 12   # today's grouped assembly runs 6 (portfolio) and 5 (history)


class Statements:
    """Counts the SQL statements the engine runs while it is entered."""

    def __init__(self, engine):
        import sqlalchemy as sa

        self.count = 0
        self.active = False
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        if self.active:
            self.count += 1

    def __enter__(self):
        self.count, self.active = 0, True
        return self

    def __exit__(self, *exc) -> None:
        self.active = False


def _timed(fn, rounds: int, counter: Statements) -> tuple[float, int]:
    """Median seconds over `rounds` calls (the first one cold) and the statements of one call."""
    times = []
    for _ in range(rounds):
        with counter:
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    return common.median(times), counter.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-render", action="store_true", help="skip the PDF and spreadsheet jobs")
    parser.add_argument("--database-url", help="a database already holding a district (skips bench-data)")
    args = parser.parse_args()

    import sqlalchemy as sa

    url = args.database_url or common.ensure_district()
    app = common.app_for(url)
    from svcproc.contracts.models import Contract
    from svcproc.delivery.models import ServiceActivity
    from svcproc.extensions import db
    from svcproc.procurement.models import ProjectPlan, Tender
    from svcproc.reports import assemble, services
    from svcproc.reports.models import ReportFormat, ReportKind

    with app.app_context(), app.test_request_context():
        counter = Statements(db.engine)
        year, year_contracts = db.session.execute(
            sa.select(ProjectPlan.fiscal_year, sa.func.count(Contract.id))
            .join(Tender, Tender.plan_id == ProjectPlan.id).join(Contract, Contract.tender_id == Tender.id)
            .group_by(ProjectPlan.fiscal_year).order_by(sa.func.count(Contract.id).desc()).limit(1)).one()
        org_id, org_contracts = db.session.execute(
            sa.select(Contract.organization_id, sa.func.count()).group_by(Contract.organization_id)
            .order_by(sa.func.count().desc()).limit(1)).one()
        entries = db.session.execute(sa.select(sa.func.count()).select_from(ServiceActivity)).scalar_one()
        figures = common.Figures("portfolio_bench", dialect=url.split(":", 1)[0], year=year,
                                 contracts_in_year=year_contracts, organization_contracts=org_contracts,
                                 service_entries=entries, rounds=args.rounds)

        seconds, statements = _timed(lambda: assemble.portfolio_data(year, "zh_CN"), args.rounds, counter)
        figures.add(f"portfolio {year}: assembling ({year_contracts:,} contracts, median)", seconds, " s",
                    at_most=GOAL_SECONDS)
        figures.add(f"portfolio {year}: SQL statements", statements, "", at_most=GOAL_STATEMENTS)
        seconds, statements = _timed(lambda: assemble.organization_data(org_id, "zh_CN"), args.rounds, counter)
        figures.add(f"history of the largest organization ({org_contracts:,} contracts, median)", seconds, " s",
                    at_most=GOAL_SECONDS)
        figures.add("history: SQL statements", statements, "", at_most=GOAL_STATEMENTS)

        if not args.no_render:
            for fmt in (ReportFormat.PDF, ReportFormat.XLSX):
                def job():
                    services.generate(None, ReportKind.PORTFOLIO, year, "zh_CN", fmt=fmt)
                    db.session.rollback()   # nothing kept: the next run makes it again

                seconds, _statements = _timed(job, 1, counter)
                figures.add(f"portfolio {year}: the whole {fmt.value.upper()} job", seconds, " s",
                            note="assemble, render, keep (in a job, not a request)")
    figures.save()


if __name__ == "__main__":
    main()
