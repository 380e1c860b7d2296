"""The public lists write their page size into the statement's text (core/web.py `text_limit`), so
PostgreSQL plans each of them once per connection instead of at every request; lists of one
organization keep it a parameter (a plan made once would be one for an organization of average
size)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from svcproc.core.web import text_limit
from svcproc.extensions import db

PUBLIC_LISTS = ["/api/v1/notices/tenders", "/api/v1/notices/contracts", "/ocds/releases.json"]


def _selects(counted) -> list[str]:
    return [s for s in counted.statements if s.lstrip().upper().startswith("SELECT") and "LIMIT" in s.upper()]


def test_the_limit_is_in_the_text_and_the_statement_compiled_once(app):
    stmt = sa.select(sa.literal_column("1").label("one"))
    with app.app_context():
        texts = [str(stmt.limit(text_limit(n)).compile(db.engine, compile_kwargs={"render_postcompile": True}))
                 for n in (3, 21)]
        keys = [stmt.limit(text_limit(n))._generate_cache_key().key for n in (3, 21)]
        rows = db.session.execute(sa.select(sa.func.count()).select_from(
            sa.union_all(*[sa.select(sa.literal(1))] * 5).subquery()).limit(text_limit(1))).all()
    assert "LIMIT 3" in texts[0] and "LIMIT 21" in texts[1]
    assert keys[0] == keys[1]  # one compiled form in SQLAlchemy's cache for every page size
    assert rows == [(5,)]


@pytest.mark.parametrize("path", PUBLIC_LISTS)
def test_a_public_list_sends_its_page_size_in_the_text(client, world, count_queries, path, app):
    app.config["PROPAGATE_EXCEPTIONS"] = True
    client.get(path)
    with count_queries() as counted:
        response = client.get(path, query_string={"limit": 3} if "/api/" in path else {})
    assert response.status_code == 200, response.get_data(as_text=True)
    (statement,) = _selects(counted)
    limit = statement.upper().rsplit("LIMIT", 1)[1].split()[0]
    assert limit.isdigit(), statement


def test_a_list_of_one_organization_keeps_its_page_size_a_parameter(client, world, token_of, count_queries):
    headers = token_of("manager")
    client.get("/api/v1/contracts", headers=headers)
    with count_queries() as counted:
        response = client.get("/api/v1/contracts", headers=headers)
    assert response.status_code == 200
    (statement,) = [s for s in _selects(counted) if "FROM contract" in s]
    assert not statement.upper().rsplit("LIMIT", 1)[1].split()[0].isdigit(), statement


def test_postgresql_runs_a_public_list_from_one_plan(client, world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    for _ in range(14):  # prepared at the 5th run; 5 custom plans, then the generic one is kept
        assert client.get("/api/v1/notices/tenders").status_code == 200
    plans = db.session.execute(sa.text(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%FROM tender%' "
        "AND statement LIKE '%LIMIT 26%'")).all()
    assert plans and max(generic for generic, _custom in plans) > 0, plans


def test_a_contracts_service_log_is_planned_once(client, world, token_of, count_queries):
    # One contract's entries are read from that contract's own index, whichever contract it is and
    # however large its organization: one plan serves every contract (api/views.py `services`).
    headers = token_of("manager")
    url = f"/api/v1/contracts/{world.contract.id}/services"
    client.get(url, headers=headers)
    with count_queries() as counted:
        assert client.get(url, headers=headers, query_string={"limit": 7}).status_code == 200
    (statement,) = [s for s in _selects(counted) if "FROM service_activity" in s]
    assert statement.upper().rsplit("LIMIT", 1)[1].split()[0] == "8", statement
    if db.engine.dialect.name == "postgresql":
        for _ in range(14):
            assert client.get(url, headers=headers).status_code == 200
        plans = db.session.execute(sa.text(
            "SELECT generic_plans FROM pg_prepared_statements WHERE statement LIKE '%FROM service_activity%' "
            "AND statement LIKE '%LIMIT 26%'")).scalars().all()
        assert plans and max(plans) > 0, plans
