"""Lists and the view predicate agree: for every scope a domain registered in
svcproc.core.scoping.SCOPES, every person of the access-matrix world and every row of the scope's
model in that world, the row is in the person's list scope (`visible_<things>(user)`) exactly when
`can_view_<thing>(user, obj)` lets them open it — so no list shows a row its page refuses, and no
page is reachable that no list leads to.

The world is the one of tests/test_access_matrix.py (a tender in publicity, the org manager's
contracts, service logs, red flags, an evaluation round, reports), built once for the module.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from svcproc import create_app
from svcproc.accounts.models import User
from svcproc.core import scoping
from svcproc.extensions import db
from tests.test_access_matrix import built, jobs_stay_queued  # noqa: F401 - fixtures of the shared world

pytestmark = pytest.mark.usefixtures("shared_connection")

# The domains register their scopes while the app is put together (their modules are imported by
# create_app); an app made here, before collection reads SCOPES, has them all registered.
create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})

# Every kind of record some list shows, with whose scope it is.
EXPECTED = ("Tender", "Bid", "Contract", "Beneficiary", "ServiceActivity", "RedFlag", "EvaluationRound",
            "Organization", "SocialWorker", "User")


@pytest.mark.parametrize("name", EXPECTED)
def test_the_model_has_a_registered_scope(name):
    assert name in scoping.SCOPES, f"no visible_<things>/can_view_<thing> pair registered for {name}"


def _people() -> list[User]:
    """Everyone of the world: each role's user of the access matrix, the other organizations'
    managers, the panel's other experts, the evaluation's second evaluator, and the outsiders."""
    return list(db.session.execute(sa.select(User).order_by(User.id)).scalars())


@pytest.fixture
def outsiders(built):  # noqa: F811
    """A manager and a social worker of an organization with no part in the world's contracts."""
    from tests.test_access_matrix import _outsider

    return [_outsider("org_manager"), _outsider("social_worker")]


def _rows(model) -> list:
    return list(db.session.execute(sa.select(model).order_by(model.id)).scalars())


@pytest.mark.parametrize("name", sorted(set(EXPECTED) | set(scoping.SCOPES)))
def test_the_list_scope_and_the_predicate_agree(outsiders, name):
    scope = scoping.SCOPES[name]
    db.session.flush()
    rows = _rows(scope.model)
    assert rows, f"the world has no {name} to check"
    disagreements = []

    for person in _people():
        listed = scoping.visible_ids(person, scope.model)
        for obj in rows:
            viewable = bool(scope.can_view(person, obj))
            if (obj.id in listed) != viewable:
                disagreements.append(f"{person.username} ({person.role.value}) × {name} {obj.id}: "
                                     f"listed={obj.id in listed}, can_view={viewable}")

    assert not disagreements, "\n".join(disagreements)


def test_every_role_of_the_matrix_is_among_the_people(built):  # noqa: F811
    from tests.test_access_matrix import ROLE_USERS

    roles = {person.role.value for person in _people()}

    assert set(ROLE_USERS) <= roles
