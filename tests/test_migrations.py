"""The migrations build exactly the schema the models declare, and can be undone."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from svcproc.config import ROOT
from svcproc.core.types import include_object_for
from svcproc.extensions import db


def test_migrated_schema_matches_the_models(db_session):
    conn = db_session.connection()
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False,
                                                     "include_object": include_object_for(conn.dialect.name)})

    differences = compare_metadata(context, db.metadata)

    assert differences == []


def test_the_comparison_would_notice_a_difference(db_session):
    """The check above is not vacuous: a model table missing from the database shows up."""
    declared = sa.MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(declared)
    sa.Table("not_migrated", declared, sa.Column("id", sa.Integer, primary_key=True))
    context = MigrationContext.configure(db_session.connection(), opts={"compare_type": True})

    differences = compare_metadata(context, declared)

    assert [(d[0], d[1].name) for d in differences if d[0] == "add_table"] == [("add_table", "not_migrated")]


def test_database_is_at_the_single_head(db_session):
    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    current = MigrationContext.configure(db_session.connection()).get_current_heads()

    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    assert tuple(current) == tuple(heads)


def test_db_check_finds_nothing_to_migrate(cli):
    result = cli("db", "check")

    # Flask-Migrate exits 1 when autogenerate would produce operations.
    assert result.exit_code == 0, result.output


def test_the_audit_chain_head_row_is_created_by_the_migration(db_session):
    row = db_session.execute(sa.text("SELECT id, last_seq, last_hash FROM audit_chain_head")).one()

    assert tuple(row) == (1, 0, "0" * 64)


def test_downgrade_and_upgrade_again_on_a_fresh_database(tmp_path):
    """Round trip on a throwaway SQLite database (the shared test database keeps its schema)."""
    import flask_migrate

    from svcproc import create_app

    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'roundtrip.db'}"})
    with other.app_context():
        engine = db.engine
        flask_migrate.upgrade()
        tables = set(sa.inspect(engine).get_table_names())
        flask_migrate.downgrade(revision="base")
        after_downgrade = set(sa.inspect(engine).get_table_names())
        flask_migrate.upgrade()
        after_upgrade = set(sa.inspect(engine).get_table_names())
        engine.dispose()

    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert after_downgrade <= {"alembic_version"}
    assert after_upgrade == tables


@pytest.mark.parametrize("table", ["user_account", "organization", "area", "social_worker"])
def test_status_enums_are_guarded_by_check_constraints(db_session, table):
    """An enum column refuses a value outside the enum, even written with raw SQL."""
    columns = {"user_account": "role", "organization": "kind", "area": "level", "social_worker": "certification_level"}
    checks = sa.inspect(db_session.connection()).get_check_constraints(table)

    assert any(columns[table] in (c.get("sqltext") or "") for c in checks), checks


def test_an_organizations_name_search_has_its_index_on_postgresql(app):
    """The organization's grams index (btree_gin) the beneficiary search reads on PostgreSQL."""
    import sqlalchemy as sa

    from svcproc.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL index")
    definition = db.session.execute(sa.text(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'pgx_beneficiary_org_name_grams'")).scalar()
    assert definition and "gin (organization_id, pgx_grams((name)::text))" in definition
