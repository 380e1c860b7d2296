"""A page's collections read by plain statements built once, then handed to their parents.

A selectin load reads a collection for its parents in one statement, but builds that statement
anew at every use: some 0.3 ms of Python per collection, more than the statement takes to run. A
page that shows one record with a few collections reads each with a module-level statement of its
own and hands the rows out with `hand_out`, which leaves each parent's collection loaded as the
selectin load would (no statement when it is read, nothing marked changed).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm.attributes import set_committed_value


def hand_out(parents: Sequence, collection: str, children: Iterable, parent_key: str) -> None:
    """Give each of `parents` its `collection`: the `children` (read in the collection's order) whose
    `parent_key` is the parent's id (a child of none of them is left out)."""
    groups: dict = {parent.id: [] for parent in parents}
    for child in children:
        group = groups.get(getattr(child, parent_key))
        if group is not None:
            group.append(child)
    for parent in parents:
        set_committed_value(parent, collection, groups[parent.id])


def point_to(children: Iterable, reference: str, targets: Iterable, key: str) -> None:
    """Give each of `children` its many-to-one `reference`: the one of `targets` whose id is the
    child's `key` (None when none is)."""
    by_id = {target.id: target for target in targets}
    for child in children:
        set_committed_value(child, reference, by_id.get(getattr(child, key)))
