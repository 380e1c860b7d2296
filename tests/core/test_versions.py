"""Versions of kinds of data (core/versions.py): a transaction that changes a watched row gives its
kind a new version as it commits; a figure kept under a version is worked out again only when the
version it was kept under is no longer the current one."""
from __future__ import annotations

import sqlalchemy as sa
from flask import g

from svcproc.contracts.models import ContractStatus
from svcproc.core import versions
from svcproc.core.versions import DataVersion
from svcproc.extensions import db
from svcproc.core.permissions import Role
from tests.builders.accounts import UserFactory
from tests.builders.contracts import contract_in
from tests.builders.procurement import make_plan, new_tender


def _version(name: str = "reminders") -> int:
    return db.session.execute(sa.select(DataVersion.value).where(DataVersion.name == name)).scalar_one()


def test_every_watched_kind_has_a_row():
    names = set(db.session.execute(sa.select(DataVersion.name)).scalars())

    assert "reminders" in versions.WATCHED and set(versions.WATCHED) <= names


def test_a_watched_column_changed_gives_a_new_version_an_unwatched_one_does_not(clock):
    setup = contract_in(ContractStatus.IN_PROGRESS, clock)
    db.session.commit()
    milestone = setup.milestones[0]
    before = _version()

    milestone.title = milestone.title + " (revised)"
    db.session.commit()
    assert _version() == before

    milestone.due_date = milestone.due_date.replace(day=1)
    db.session.flush()
    assert _version() == before  # not before the commit: the row is held for the commit alone
    db.session.commit()
    changed = _version()
    assert changed != before

    setup.contract.status = ContractStatus.COMPLETED
    db.session.commit()
    assert _version() not in (before, changed)


def test_adding_a_watched_row_gives_a_new_version(clock):
    before = _version()

    contract_in(ContractStatus.DRAFT, clock)
    db.session.commit()

    assert _version() != before


def test_a_rolled_back_change_leaves_the_version(clock):
    setup = contract_in(ContractStatus.IN_PROGRESS, clock)
    db.session.commit()
    before = _version()

    nested = db.session.begin_nested()
    setup.milestones[0].due_date = setup.milestones[0].due_date.replace(day=1)
    db.session.flush()
    nested.rollback()
    db.session.rollback()
    setup.milestones[0].title = "（改）"  # a later transaction changing nothing watched
    db.session.commit()

    assert _version() == before


def test_a_kept_figure_is_worked_out_again_only_under_a_new_version(app):
    kept = versions.Kept("reminders")
    worked: list[int] = []

    def work_out():
        worked.append(1)
        return len(worked)

    with app.test_request_context():
        g.data_versions = {"reminders": 7}
        assert kept.get("key", work_out) == 1
        assert kept.get("key", work_out) == 1
        assert kept.get("other key", work_out) == 2
        g.data_versions = {"reminders": 8}
        assert kept.get("key", work_out) == 3
    assert len(worked) == 3


def test_nothing_is_kept_without_a_version_or_after_a_change_in_the_same_request(app):
    kept = versions.Kept("reminders")
    worked: list[int] = []

    with app.test_request_context():
        kept.get("key", lambda: worked.append(1))
        kept.get("key", lambda: worked.append(1))
    assert len(worked) == 2  # no version read in this request: nothing kept

    with app.test_request_context():
        g.data_versions = {"reminders": 7}
        g.data_changed = {"reminders"}
        kept.get("key", lambda: worked.append(1))
        kept.get("key", lambda: worked.append(1))
    assert len(worked) == 4  # this request changed the kind: its figures include uncommitted changes


def test_the_kept_figures_are_bounded(app):
    kept = versions.Kept("reminders", size=3)
    with app.test_request_context():
        g.data_versions = {"reminders": 1}
        for key in range(10):
            kept.get(key, lambda: 0)
    assert len(kept._held) <= 3


def test_a_kind_watching_every_column_changes_with_any_of_them(clock):
    """procurement_queues watches every column of a tender: a title changed renews it, a read does not."""
    staff = UserFactory(role=Role.PROCUREMENT)
    tender = new_tender(staff, make_plan(staff))
    db.session.commit()
    before = _version("procurement_queues")

    _ = tender.title
    db.session.commit()
    assert _version("procurement_queues") == before

    tender.title = tender.title + "（更正）"
    db.session.commit()
    assert _version("procurement_queues") != before


def test_a_figure_kept_under_several_kinds_follows_each_of_them(app):
    kept = versions.Kept(("reminders", "spending"))
    worked: list[int] = []

    def work_out():
        worked.append(1)
        return len(worked)

    with app.test_request_context():
        g.data_versions = {"reminders": 1, "spending": 1}
        assert kept.get("key", work_out) == 1 and kept.get("key", work_out) == 1
        g.data_versions = {"reminders": 1, "spending": 2}
        assert kept.get("key", work_out) == 2
        g.data_versions = {"reminders": 2, "spending": 2}
        assert kept.get("key", work_out) == 3
        g.data_versions = {"reminders": 2}          # one of them unknown: nothing kept
        assert kept.get("key", work_out) == 4 and kept.get("key", work_out) == 5
