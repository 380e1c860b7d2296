"""Searching text that contains what a person typed, fast on a district's registers.

On PostgreSQL a GIN index over each name's characters and pairs of characters (see the migration's
`pgx_grams`) finds the candidates, and ILIKE keeps the exact "contains" meaning; SQLite, the small
embedded database, reads the column.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..extensions import db
from .web import like_pattern


def grams_of(text: str) -> list[str]:
    """What every name containing `text` has among its grams: the character, or each pair."""
    text = text.lower()
    if len(text) == 1:
        return [text]
    return sorted({text[i:i + 2] for i in range(len(text) - 1)})


def contains(column, text: str):
    """A condition: `column` contains `text`, letter case aside."""
    condition = column.ilike(like_pattern(text), escape="\\")
    if text and db.engine.dialect.name == "postgresql":
        grams = sa.func.pgx_grams(column)
        wanted = sa.literal(grams_of(text), type_=postgresql.ARRAY(sa.Text))
        condition = sa.and_(grams.op("@>")(wanted), condition)
    return condition
