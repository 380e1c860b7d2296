"""Identity numbers and phones are encrypted at rest: after people are registered and a ledger naming
them is imported, neither the database's bytes nor the stored ledger file hold a plain number.

The data is committed for real (`committed_world`, cleaned up afterwards): uncommitted rows of a
rolled-back test transaction would never reach the SQLite file, and the check would pass vacuously.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from svcproc.core import storage
from svcproc.delivery import identity, ledger
from svcproc.delivery.models import Beneficiary, ImportBatch
from svcproc.extensions import db
from tests.builders.delivery import OTHER_PEOPLE, PEOPLE, World, csv_bytes, ledger_row, upload


@pytest.fixture
def db_session(committed_session):
    """This module's tests commit (see the module docstring)."""
    yield committed_session


def _secrets() -> list[str]:
    numbers = [World.number(k) for k in (*PEOPLE, *OTHER_PEOPLE)]
    phones = [World.phone(k) for k in (*PEOPLE, *OTHER_PEOPLE) if World.phone(k)]
    return numbers + phones


def _spellings(secret: str) -> list[bytes]:
    """The ways a database could hold the text: UTF-8, UTF-16 and, for PostgreSQL's bytea text, hex."""
    return [secret.encode(), secret.encode("utf-16-le"), secret.encode().hex().encode(),
            ("\\x" + secret.encode().hex()).encode()]


def _import(world) -> ImportBatch:
    n = world.number
    batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes([
        ledger_row(day="2025-06-02", people=f"{n('elder')};{n('second')};{n('shared')}"),
        ledger_row(day="2025-06-03", kind="个案", people=n("child"), head_count=""),
    ]), "六月台账.csv"))
    ledger.run_check(world.manager, batch)
    ledger.run_import(world.manager, batch)
    db.session.commit()
    return batch


def _database_bytes() -> bytes:
    """Everything the database holds, as bytes: the SQLite files, or every PostgreSQL row as text."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists())
    parts = []
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            # The row's own text form (bytea as hex) and each binary column's raw bytes.
            parts += [row[0].encode() for row in conn.execute(sa.text(f'SELECT CAST(t AS text) FROM "{table.name}" t'))]
            for column in table.columns:
                if isinstance(column.type, sa.LargeBinary):
                    parts += [bytes(v) for v in conn.execute(sa.select(column)).scalars() if v is not None]
    return b"\n".join(parts)


def test_the_database_holds_no_plain_number_or_phone(committed_world):
    world = committed_world
    _import(world)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Beneficiary)).scalar_one() >= 7

    raw = _database_bytes()

    assert world.people["elder"].name.encode() in raw  # the check does see the data
    leaks = [s for s in _secrets() for spelling in _spellings(s) if spelling in raw]
    assert leaks == []


def test_every_column_of_every_table_is_free_of_plain_numbers(committed_world):
    _import(committed_world)
    found = []

    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            for column, value in zip(table.columns, row):
                data = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                found += [(table.name, column.name, s) for s in _secrets() if s.encode() in data]

    assert found == []


def test_the_sealed_columns_open_to_the_numbers(committed_world):
    world = committed_world
    mine, theirs = world.people["shared"], world.people["other_shared"]

    assert identity.unseal_number(mine.id_number_sealed) == world.number("shared")
    assert identity.unseal_phone(mine.phone_sealed) == world.phone("shared")
    assert mine.id_number_sealed != theirs.id_number_sealed          # a fresh nonce per seal
    assert mine.id_match_key == theirs.id_match_key


def test_the_stored_ledger_file_is_encrypted(committed_world):
    world = committed_world
    batch = _import(world)

    kept = storage.backend().read(batch.file.stored_name)

    assert batch.file.encrypted
    assert [s for s in _secrets() if s.encode() in kept] == []
    with ledger.ledger_stream(batch.file) as content:
        assert world.number("elder").encode() in content.read()
