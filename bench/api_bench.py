"""API benchmark: every list endpoint of the JSON API and of the open contracting data, for anyone
(tender and contract notices, OCDS release pages) and with a personal access token of procurement
staff, the largest organization's manager and one of its social workers, and the auditor
(contracts, a contract's service entries and red flags, the change feed), first pages and pages
deep in the list (followed through their `next` cursors, as a client syncing would).

Each endpoint is requested in turn with the bare route (/healthz) on the same gunicorn server
(2 workers), as pages_bench.py does; the figure is its p95 over the bare route's p95 (goal ≤ 3×).
Each endpoint's SQL statements are counted in-process on the same database (goal ≤ 12: a list costs
the same statements whatever the page size or the place in the list). The server's API rate limit is
raised for the run (the limiter still counts every request). Usage:

    BENCH_SCALE=small|district .venv/bin/python bench/api_bench.py [--rounds N] [--only SUBSTRING]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from pages_bench import _driver_url  # noqa: E402

GOAL_RATIO = 3.0
GOAL_QUERIES = 12
BARE = "/healthz"
DEEP = 10  # pages followed for "deep" entries
LOGINS = ("bench-procurement", "bench-manager", "bench-worker", "bench-auditor")


def _ids(url: str) -> dict:
    """The largest organization's busiest running contract (the one pages_bench reads)."""
    import sqlalchemy as sa

    engine = sa.create_engine(_driver_url(url))
    with engine.connect() as conn:
        contract = conn.exec_driver_sql(
            "SELECT a.contract_id FROM service_activity a JOIN contract c ON c.id = a.contract_id "
            "WHERE c.organization_id = 1 AND c.status = 'in_progress' GROUP BY a.contract_id "
            "ORDER BY count(*) DESC LIMIT 1").scalar()
        flagged = conn.exec_driver_sql(
            f"SELECT coalesce((SELECT contract_id FROM red_flag WHERE contract_id IN "
            f"(SELECT id FROM contract WHERE organization_id = 1) GROUP BY contract_id ORDER BY count(*) DESC "
            f"LIMIT 1), {contract})").scalar()
    engine.dispose()
    return {"contract": contract, "flagged": flagged}


def make_tokens(app) -> dict[str, str]:
    """A read token for each benchmark login (new ones each run: the secrets are not stored)."""
    import sqlalchemy as sa

    from svcproc.accounts.models import User
    from svcproc.api import tokens
    from svcproc.extensions import db

    secrets = {}
    with app.app_context():
        for login in LOGINS:
            user = db.session.execute(sa.select(User).where(User.username == login)).scalar_one()
            _token, secret = tokens.create_token(user, "api benchmark", ["read"], None)
            secrets[login] = secret
        db.session.commit()
    return secrets


def plan(ids: dict) -> dict[str | None, list[tuple[str, str]]]:
    """login (None: anyone) -> [(label, path)]; paths marked "deep:" are followed DEEP pages first."""
    c, f = ids["contract"], ids["flagged"]
    return {
        None: [
            ("tender notices", "/api/v1/notices/tenders"),
            ("tender notices, 100 a page", "/api/v1/notices/tenders?limit=100"),
            ("tender notices, deep", "deep:/api/v1/notices/tenders"),
            ("contract notices", "/api/v1/notices/contracts"),
            ("contract notices, deep", "deep:/api/v1/notices/contracts"),
            ("OCDS index", "/ocds/"),
            ("OCDS releases", "/ocds/releases.json"),
            ("OCDS releases, deep", "deep:/ocds/releases.json"),
        ],
        "bench-procurement": [
            ("contracts", "/api/v1/contracts"),
            ("contracts, deep", "deep:/api/v1/contracts"),
            ("services", f"/api/v1/contracts/{c}/services"),
            ("services, 100 a page", f"/api/v1/contracts/{c}/services?limit=100"),
            ("services, deep", f"deep:/api/v1/contracts/{c}/services"),
            ("red flags", f"/api/v1/contracts/{f}/red-flags"),
            ("changes", "/api/v1/changes"),
            ("changes, deep", "deep:/api/v1/changes"),
            ("changes, 100 a page", "/api/v1/changes?limit=100"),
        ],
        "bench-manager": [
            ("contracts", "/api/v1/contracts"),
            ("services", f"/api/v1/contracts/{c}/services"),
            ("services, deep", f"deep:/api/v1/contracts/{c}/services"),
            ("red flags", f"/api/v1/contracts/{f}/red-flags"),
            ("changes", "/api/v1/changes"),
            ("changes, deep", "deep:/api/v1/changes"),
        ],
        "bench-worker": [
            ("contracts", "/api/v1/contracts"),
            ("services", f"/api/v1/contracts/{c}/services"),
            ("changes", "/api/v1/changes"),
        ],
        "bench-auditor": [
            ("contracts", "/api/v1/contracts"),
            ("services", f"/api/v1/contracts/{c}/services"),
            ("changes, deep", "deep:/api/v1/changes"),
        ],
    }


def _next(response_json: dict | None, headers) -> str | None:
    """The next page's path: the JSON `next` of an API list, the `Link: rel=next` of an OCDS page."""
    url = (response_json or {}).get("next")
    if url is None:
        link = headers.get("link") or headers.get("Link") or ""
        if 'rel="next"' in link:
            url = link[link.index("<") + 1:link.index(">")]
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def resolve(get, path: str) -> str:
    """The path itself, or for "deep:" the DEEP-th page reached by following `next`."""
    if not path.startswith("deep:"):
        return path
    path = path[len("deep:"):]
    for _ in range(DEEP):
        status, body, headers = get(path)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}")
        following = _next(json.loads(body) if path.startswith("/api/") else None, headers)
        if following is None:
            break
        path = following
    return path


def count_statements(app, secrets: dict, entries: dict) -> dict[tuple, tuple[int, int, str]]:
    """(login, label) -> (HTTP status, SQL statements, resolved path), served in-process."""
    import sqlalchemy as sa

    from svcproc.extensions import db

    counted = [0]

    def on_execute(*_args):
        counted[0] += 1

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", on_execute)
    results = {}
    for login, items in entries.items():
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secrets[login]}"} if login else {}

        def get(path, headers=headers, client=client):
            response = client.get(path, headers=headers)
            return response.status_code, response.get_data(), response.headers

        for label, path in items:
            resolved = resolve(get, path)
            get(resolved)  # warm caches first
            counted[0] = 0
            status, _body, _headers = get(resolved)
            results[(login, label)] = (status, counted[0], resolved)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60 if common.SCALE == "district" else 25)
    parser.add_argument("--only", default="", help="measure only endpoints whose label or path contains this")
    args = parser.parse_args()
    url = common.ensure_district()
    ids = _ids(url)
    entries = plan(ids)
    if args.only:
        entries = {login: [e for e in items if args.only in e[0] or args.only in e[1]]
                   for login, items in entries.items()}
    figures = common.Figures("api", database=url.split(":", 1)[0], rounds=args.rounds, workers=2)
    app = common.app_for(url, RATELIMIT_ENABLED=False)
    secrets = make_tokens(app)
    statements = count_statements(app, secrets, entries)
    within = total = 0
    worst = []
    with common.server(url, extra_env={"RATE_LIMIT_API": "1000000 per minute"}) as port:
        for login, items in entries.items():
            client = common.Client(port)
            headers = {"Authorization": f"Bearer {secrets[login]}"} if login else {}
            who = login or "anyone"
            figures.note(f"-- {who}")
            for label, path in items:
                status, queries, resolved = statements.get((login, label), (0, -1, path))
                try:
                    if status != 200:
                        raise RuntimeError(f"HTTP {status} in-process")

                    def call(resolved=resolved):
                        response = client.request("GET", resolved, headers=headers)
                        if response.status != 200:
                            raise RuntimeError(f"HTTP {response.status}")

                    call()
                    times = common.interleave({"bare": lambda: client.get(BARE), "api": call}, rounds=args.rounds)
                except (OSError, RuntimeError) as exc:
                    figures.add(f"{who} {label}: answered", 0, "", at_least=1, note=f"{resolved}: {exc}")
                    client = common.Client(port)
                    total += 1
                    continue
                bare95 = common.percentile(times["bare"], 95)
                api95 = common.percentile(times["api"], 95)
                ratio = api95 / bare95
                ok = figures.add(f"{who} {label}", ratio, "×", at_most=GOAL_RATIO,
                                 note=f"p95 {api95 * 1000:.1f} ms vs bare {bare95 * 1000:.1f} ms; "
                                      f"p50 {common.percentile(times['api'], 50) * 1000:.1f} ms; {queries} SQL")
                if queries > GOAL_QUERIES:
                    figures.add(f"{who} {label}: SQL statements", queries, "", at_most=GOAL_QUERIES)
                total += 1
                within += bool(ok)
                worst.append((ratio, f"{who} {label}"))
    figures.add("API lists within 3× the bare route", within, f" of {total}", at_least=total)
    figures.note("slowest: " + "; ".join(f"{name} {ratio:.1f}×" for ratio, name in sorted(worst, reverse=True)[:8]))
    figures.save()


if __name__ == "__main__":
    main()
