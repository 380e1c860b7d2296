"""Service entries written as JSON by PostgreSQL, for the API's lists of them.

A list of entries read as rows and written in Python took three times as long as reading them: the
rows, their workers and people passed through the driver and the ORM, then a dict per entry and per
person. On PostgreSQL a list instead picks its page's entries by their keys alone, then one
statement (`values_by_id`, the same text for any page, so planned once) writes each as a `json`
value, its workers and people (by name, then id) aggregated beside it from the link tables' primary
keys; the page passes those values on as they are (`core/jsonio.RawJSON`). Written inside the
statement that orders the list, the values of every entry the plan sorted were written too.

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
    """Whose participants an entry's value names (who may see them is the caller's to decide, by
    `delivery.permissions.can_view_beneficiaries`)."""
    NONE = "none"    # nobody's
    ALL = "all"      # every entry's
    NAMED = "named"  # those of the entries whose ids are bound as `named`


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
def entry_value(people: People) -> sa.ColumnElement:
    """The entry as its JSON value (keys in `views._entry`'s sorted order)."""
    if people is People.ALL:
        participants = _participants()
    elif people is People.NAMED:
        named = sa.bindparam("named", type_=postgresql.ARRAY(sa.Integer))
        participants = sa.case((_A.id == sa.any_(named), _participants()), else_=sa.null())
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


@functools.cache
def _values_by_id(people: People) -> sa.Select:
    """The JSON values of the entries whose ids are bound as one array: one text for any number of
    entries, so PostgreSQL plans it once per connection."""
    ids = sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer))
    return (sa.select(_A.id, sa.cast(entry_value(people), sa.Text).label("entry")).select_from(_A)
            .join(Area, Area.id == _A.community_id, isouter=True).where(_A.id == sa.any_(ids)))


def values_by_id(ids: list[int], named: set[int] | None = None) -> dict[int, str]:
    """{entry id: its JSON value} of these entries, in one statement planned once, naming the
    participants of the entries in `named` (None: of every entry). A list picks its page's entries
    first by their keys (a narrow statement, which may be planned at every request, as the change
    feed's is), then has them written by this one."""
    ids = list(ids)
    if named is None:
        people, params = People.ALL, {"ids": ids}
    else:
        named = [i for i in ids if i in named]
        people = People.ALL if len(named) == len(ids) else People.NONE if not named else People.NAMED
        params = {"ids": ids, "named": named} if people is People.NAMED else {"ids": ids}
    return dict(db.session.connection().execute(_values_by_id(people), params).all())
