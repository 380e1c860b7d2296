"""Who sees which rows: each domain declares, per kind of record, its `visible_<things>(user)` query
beside its `can_view_<thing>(user, obj)` predicate, and registers the pair here so one test can
check, for every role and every record, that lists and the predicate agree."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa


@dataclass(frozen=True)
class Scope:
    model: type
    visible: Callable[[Any], sa.Select]       # visible(user) -> a select of the model's rows
    can_view: Callable[[Any, Any], bool]      # can_view(user, obj)


SCOPES: dict[str, Scope] = {}


def register(model: type, visible: Callable[[Any], sa.Select], can_view: Callable[[Any, Any], bool]) -> None:
    SCOPES[model.__name__] = Scope(model, visible, can_view)


def visible_ids(user, model: type) -> set[int]:
    """The ids of every row of `model` the person's lists may hold (for tests and exports)."""
    from ..extensions import db

    scope = SCOPES[model.__name__]
    stmt = scope.visible(user).with_only_columns(model.id).order_by(None)
    return set(db.session.execute(stmt).scalars())
