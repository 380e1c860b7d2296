"""Service entries written as JSON by PostgreSQL, for the API's lists of them.

A list of entries read as rows and written in Python took three times as long as reading them: the
rows, their workers and people passed through the driver and the ORM, then a dict per entry and per
person. On PostgreSQL each entry of a list is instead one `json` value built by the statement that
reads it, with its workers and people (by name, then id) aggregated beside it from the link tables'
primary keys, and the page passes those values on as they are (`core/jsonio.RawJSON`).

Each value holds what `views._entry` writes for the entry, key for key and in the same order:
dates and times as Python's `isoformat` writes them, the hours as the decimal's text, masked
numbers and phones only (an empty one as null). `tests/api/test_entry_json.py` compares the two
for entries of every shape. SQLite, which has no such functions, keeps the Python writing.
"""
from __future__ import annotations

import functools
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..delivery.models import Beneficiary, ServiceActivity, activity_participant, activity_worker
from ..extensions import db
from ..registry.models import Area, SocialWorker

_A = ServiceActivity


class People(Enum):
    """Whose participants an entry's value names."""
    NONE = "none"            # nobody's: the reader may not see the organization's people
    ALL = "all"              # every entry's
    OF_ORGANIZATIONS = "of"  # those of the entries whose contract's organization is in `shown_organizations`


def available() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _text(expression) -> sa.ColumnElement:
    return sa.type_coerce(expression, sa.Text)


def _const(text: str) -> sa.ColumnElement:
    """A constant written into the statement's text, not bound: the statement stays one text with
    no parameters but the page's own, planned once however many keys its values have."""
    assert "'" not in text and "%" not in text
    return sa.literal_column(f"'{text}'", sa.Text)


def _object(*pairs) -> sa.ColumnElement:
    """json_build_object of (key, value) pairs, the keys written into the text."""
    return sa.func.json_build_object(*(part for key, value in pairs for part in (_const(key), value)))


def _moment(column) -> sa.ColumnElement:
    """A UTC moment (stored without its zone) as `datetime.isoformat()` writes the aware value: the
    microseconds only when there are any, always six digits; null stays null."""
    seconds = sa.func.to_char(column, _const('YYYY-MM-DD"T"HH24:MI:SS'))
    fraction = sa.case((column == sa.func.date_trunc(_const("second"), column), _const("")),
                       else_=_text(sa.func.to_char(column, _const(".US"))))
    return sa.case((column.is_(None), sa.null()),
                   else_=_text(seconds).op("||")(fraction).op("||")(_const("+00:00")))


def _clock(column) -> sa.ColumnElement:
    """A time as `isoformat()[:5]` writes it (HH:MM)."""
    return sa.func.substr(sa.cast(column, sa.Text), sa.literal_column("1"), sa.literal_column("5"))


def _array(ordered_object, *order_by) -> sa.ColumnElement:
    """The objects aggregated in `order_by`'s order, `[]` when there are none."""
    return sa.func.coalesce(sa.func.json_agg(postgresql.aggregate_order_by(ordered_object, *order_by)),
                            sa.literal_column("'[]'::json"))


def _workers() -> sa.ScalarSelect:
    links = activity_worker.c
    return (sa.select(_array(_object(("id", SocialWorker.id), ("name", SocialWorker.name)),
                             SocialWorker.name, SocialWorker.id))
            .select_from(activity_worker).join(SocialWorker, SocialWorker.id == links.social_worker_id)
            .where(links.activity_id == _A.id).correlate(_A).scalar_subquery())


def _participants() -> sa.ScalarSelect:
    links, B = activity_participant.c, Beneficiary
    person = _object(("id", B.id), ("id_number_masked", sa.func.nullif(B.id_number_masked, _const(""))),
                     ("name", B.name), ("phone_masked", sa.func.nullif(B.phone_masked, _const(""))))
    return (sa.select(_array(person, B.name, B.id))
            .select_from(activity_participant).join(B, B.id == links.beneficiary_id)
            .where(links.activity_id == _A.id).correlate(_A).scalar_subquery())


@functools.cache
def entry_value(people: People, organization=None) -> sa.ColumnElement:
    """The entry as its JSON value (keys in `views._entry`'s sorted order). `organization`: the
    column of the entry's contract's organization, for People.OF_ORGANIZATIONS, which names the
    participants where it is one of the bound `shown_organizations`."""
    if people is People.ALL:
        participants = _participants()
    elif people is People.OF_ORGANIZATIONS:
        shown = sa.bindparam("shown_organizations", type_=postgresql.ARRAY(sa.Integer))
        participants = sa.case((organization == sa.any_(shown), _participants()), else_=sa.null())
    else:
        participants = sa.null()
    return _object(
        ("activity_date", _A.activity_date),
        ("community", _object(("id", _A.community_id), ("name", Area.name))),
        ("contract_id", _A.contract_id),
        ("created_at", _moment(_A.created_at)),
        ("end_time", _clock(_A.end_time)),
        ("group_id", _A.group_id),
        ("head_count", _A.head_count),
        ("hours", sa.cast(_A.hours, sa.Text)),
        ("id", _A.id),
        ("notes", _A.notes),
        ("outcome", _A.outcome),
        ("participant_count", _A.participant_count),
        ("participants", participants),
        ("place", _A.place),
        ("revision", _A.revision),
        ("session_number", _A.session_number),
        ("start_time", _clock(_A.start_time)),
        ("topic", _A.topic),
        ("type", _A.type),
        ("updated_at", _moment(_A.updated_at)),
        ("workers", _workers()),
    )


def entry_rows(stmt: sa.Select, people: People, *columns, organization=None) -> sa.Select:
    """`stmt` (a select of entries, e.g. `visible_activities`) reading the keys its lists page by
    and `columns`, and each entry's JSON value as `entry` (as text: the page passes it on)."""
    value = sa.cast(entry_value(people, organization), sa.Text).label("entry")
    return stmt.with_only_columns(_A.id, _A.activity_date, _A.start_time, _A.updated_at, *columns, value).join_from(
        _A, Area, Area.id == _A.community_id, isouter=True)
