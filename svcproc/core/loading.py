"""A page's collections read by plain statements built once, then handed to their parents.

A selectin load reads a collection for its parents in one statement, but builds that statement
anew at every use: some 0.3 ms of Python per collection, more than the statement takes to run. A
page that shows one record with a few collections reads each with a module-level statement of its
own and hands the rows out with `hand_out`, which leaves each parent's collection loaded as the
selectin load would (no statement when it is read, nothing marked changed).

A collection that is mostly empty (a contract's amendments, a tender's objections) is asked after in
the statement that reads its parent (`has`: whether there is any, from the collection's index), and
read only when there is: an empty one is handed out as it is, without the statement that would
find nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value


def has(name: str, *criteria) -> sa.Label:
    """A column for the parent's statement: whether a row meets `criteria` (correlated to the parent)."""
    return sa.exists().where(*criteria).label(name)


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


def hand_out_some(present: bool, parents: Sequence, collection: str, read: Callable[[], Iterable],
                  parent_key: str) -> None:
    """`hand_out` the children `read` gives, reading them only when there are some (`present`, as
    `has` found them): otherwise each parent's collection is handed out empty."""
    hand_out(parents, collection, read() if present else (), parent_key)
