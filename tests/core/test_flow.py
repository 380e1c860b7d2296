"""The request's one transaction: commit on success only, side effects after the commit, and a
refused action answered on the page it was sent from with what was typed."""
from __future__ import annotations

import json
import re

import pytest

from svcproc.core import flow
from svcproc.extensions import db
from tests.builders.contracts import in_progress_with_milestone, local_today
from tests.contracts.conftest import db_state
from tests.helpers import login


@pytest.fixture
def accepted(clock):
    return in_progress_with_milestone(clock, "accepted")


def _refusal(html: str) -> tuple[str, dict]:
    match = re.search(r'<p class="flash flash-error refusal"[^>]*data-action="([^"]*)"[^>]*>(.*?)</p>', html, re.S)
    assert match, "the refusal is not on the page"
    values = re.search(r'<script type="application/json" id="refusal-values">(.*?)</script>', html, re.S)
    return match.group(1), {"message": match.group(2).strip(), "values": json.loads(values.group(1))}


@pytest.mark.parametrize("htmx", [False, True], ids=["form post", "htmx"])
def test_a_refused_payment_answers_on_the_contract_page_with_what_was_typed(client, accepted, htmx):
    setup, milestone = accepted
    login(client, setup.staff)
    page = f"/contracts/{setup.contract.id}"
    before = db_state()
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://localhost{page}"} if htmx else {
        "Referer": f"http://localhost{page}"}

    response = client.post(f"/milestones/{milestone.id}/payments", headers=headers,
                           data={"amount": "135000.01", "voucher_number": "PZ-9",
                                 "paid_on": local_today().isoformat(), "csrf_token": "x"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert setup.contract.number in html and "errors/error" not in html
    action, refusal = _refusal(html)
    assert action == f"/milestones/{milestone.id}/payments"
    assert refusal["values"]["amount"] == ["135000.01"] and refusal["values"]["voucher_number"] == ["PZ-9"]
    assert "csrf_token" not in refusal["values"]
    assert db_state() == before
    if htmx:
        assert (response.headers["HX-Retarget"], response.headers["HX-Reselect"]) == ("#main", "#main")


def test_without_a_page_to_return_to_the_refusal_is_the_plain_message(client, accepted):
    setup, milestone = accepted
    login(client, setup.staff)

    response = client.post(f"/milestones/{milestone.id}/payments",
                           data={"amount": "135000.01", "voucher_number": "PZ-9", "paid_on": local_today().isoformat()})

    assert response.status_code == 422
    assert 'id="refusal"' not in response.get_data(as_text=True)


def test_a_page_elsewhere_is_not_rendered(client, accepted):
    setup, milestone = accepted
    login(client, setup.staff)

    response = client.post(f"/milestones/{milestone.id}/payments", headers={"Referer": "https://evil.example/x"},
                           data={"amount": "135000.01", "voucher_number": "PZ-9", "paid_on": local_today().isoformat()})

    assert response.status_code == 422
    assert 'id="refusal"' not in response.get_data(as_text=True)


def test_side_effects_wait_for_the_commit(app):
    ran: list[str] = []
    with app.test_request_context():
        flow.after_commit(lambda: ran.append("after"))
        flow.on_rollback(lambda: ran.append("undo"))
        flow.rollback()
        assert ran == ["undo"]
        flow.after_commit(lambda: ran.append("after"))
        flow.on_rollback(lambda: ran.append("undo again"))
        db.session.commit()
    assert ran == ["undo", "after"]


def test_a_view_answering_with_an_error_leaves_nothing_behind(app, accepted):
    from svcproc.contracts.models import Contract

    setup, _milestone = accepted
    contract_id, title = setup.contract.id, setup.contract.title
    db.session.commit()

    def view():
        db.session.get(Contract, contract_id).title = "changed and refused"
        return "refused", 422

    with app.test_request_context(method="POST"):
        flow.transactional(view)()
    assert db.session.get(Contract, contract_id).title == title
