"""Two people edit the same contract: the second save, made from a form opened before the first
save, answers 409 with a clear message, keeps what they typed, and changes nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import gettext as _

from svcproc.contracts import workflow
from svcproc.contracts.models import Amendment, Contract, ContractStatus
from svcproc.core.permissions import Role
from svcproc.extensions import db
from tests.builders.accounts import UserFactory
from tests.helpers import count, in_page, login

from .conftest import db_state

C = ContractStatus
STALE = lambda: _("Someone else saved this record after you opened it. Your entries are kept below; "  # noqa: E731
                  "check the current values and save again.")


def _version_in(html: str) -> str:
    match = re.search(r'<input id="version" name="version" type="hidden" value="(\d+)">', html)
    assert match, "the form carries no version"
    return match.group(1)


def _edit_data(contract: Contract, version: str, **changes) -> dict:
    data = {"title": contract.title, "start_date": contract.start_date.isoformat(),
            "end_date": contract.end_date.isoformat(), "long_term_reason": contract.long_term_reason,
            **{k: getattr(contract, k) for k in workflow.ART23_FIELDS}, **contract.targets(), "version": version,
            "milestone_title": [m.title for m in contract.milestones],
            "milestone_due": [m.due_date.isoformat() for m in contract.milestones],
            "milestone_required": [m.required_deliverables for m in contract.milestones],
            "milestone_percent": [str(m.tranche_percent) for m in contract.milestones]}
    data.update(changes)
    return data


@pytest.fixture
def two_editors(build, make_client):
    """A draft contract and two procurement officers, each with the edit form open."""
    setup = build(C.DRAFT)
    first, second = make_client(), make_client()
    login(first, setup.staff)
    login(second, UserFactory(role=Role.PROCUREMENT))
    versions = [_version_in(c.get(f"/contracts/{setup.contract.id}/edit").get_data(as_text=True))
                for c in (first, second)]
    return setup, first, second, versions


def test_the_second_save_is_stale(two_editors):
    setup, first, second, (v1, v2) = two_editors
    contract = setup.contract
    assert first.post(f"/contracts/{contract.id}/edit", data=_edit_data(contract, v1, quality="甲的质量要求")
                      ).status_code == 303
    before = db_state()

    response = second.post(f"/contracts/{contract.id}/edit",
                           data=_edit_data(contract, v2, quality="乙的质量要求", title="乙改的标题"))

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert in_page(STALE) in html
    assert "乙的质量要求" in html and 'value="乙改的标题"' in html   # their entries are kept
    assert db_state() == before
    saved = db.session.get(Contract, contract.id)
    assert (saved.quality, saved.title) == ("甲的质量要求", contract.title)


def test_a_schedule_change_alone_makes_the_other_form_stale(two_editors):
    setup, first, second, (v1, v2) = two_editors
    contract = setup.contract
    due = [(contract.start_date + timedelta(days=60)).isoformat(), contract.end_date.isoformat()]
    assert first.post(f"/contracts/{contract.id}/edit", data=_edit_data(
        contract, v1, milestone_title=["首期", "末期"], milestone_due=due, milestone_required=["", ""],
        milestone_percent=["50", "50"])).status_code == 303
    before = db_state()

    response = second.post(f"/contracts/{contract.id}/edit", data=_edit_data(contract, v2, title="乙改的标题"))

    assert response.status_code == 409
    assert db_state() == before
    assert [m.title for m in db.session.get(Contract, contract.id).milestones] == ["首期", "末期"]


def test_the_stale_form_keeps_the_typed_schedule(two_editors):
    setup, first, second, (v1, v2) = two_editors
    contract = setup.contract
    first.post(f"/contracts/{contract.id}/edit", data=_edit_data(contract, v1, quality="甲的质量要求"))

    response = second.post(f"/contracts/{contract.id}/edit", data=_edit_data(
        contract, v2, milestone_title=["乙的里程碑"], milestone_due=[contract.end_date.isoformat()],
        milestone_required=[""], milestone_percent=["100"]))

    assert response.status_code == 409
    assert 'value="乙的里程碑"' in response.get_data(as_text=True)


def test_a_save_from_a_fresh_form_goes_through(two_editors, make_client):
    setup, first, _second, (v1, _v2) = two_editors
    contract = setup.contract
    first.post(f"/contracts/{contract.id}/edit", data=_edit_data(contract, v1, quality="甲的质量要求"))
    fresh = _version_in(first.get(f"/contracts/{contract.id}/edit").get_data(as_text=True))

    response = first.post(f"/contracts/{contract.id}/edit", data=_edit_data(contract, fresh, quality="再改一次"))

    assert response.status_code == 303
    assert db.session.get(Contract, contract.id).quality == "再改一次"


# --- amendments -------------------------------------------------------------------------------------


@pytest.fixture
def two_amenders(build, make_client):
    setup = build(C.IN_PROGRESS)
    first, second = make_client(), make_client()
    login(first, setup.staff)
    login(second, UserFactory(role=Role.PROCUREMENT))
    versions = [_version_in(c.get(f"/contracts/{setup.contract.id}/amend").get_data(as_text=True))
                for c in (first, second)]
    return setup, first, second, versions


def _amend_data(version: str, **values) -> dict:
    return {"reason": "增加服务人数。", "amended_on": "2025-04-01", "version": version, **values}


def test_the_second_amendment_from_an_old_form_is_stale(two_amenders):
    setup, first, second, (v1, v2) = two_amenders
    contract = setup.contract
    day = workflow.today().isoformat()
    assert first.post(f"/contracts/{contract.id}/amend", data=_amend_data(v1, amended_on=day, amount="470000")
                      ).status_code == 303
    before = db_state()

    response = second.post(f"/contracts/{contract.id}/amend",
                           data=_amend_data(v2, amended_on=day, amount="495000", reason="乙的变更理由"))

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert in_page(STALE) in html
    assert "乙的变更理由" in html and 'value="495000"' in html
    assert db_state() == before
    assert db.session.get(Contract, contract.id).amount_fen == 47_000_000
    assert count(Amendment) == 1
