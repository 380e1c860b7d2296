"""Pages that offer many forms in branches build only those they show (core/web.py `deferred`):
what each person sees is the same, and a form nobody is shown is never built."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from flask import template_rendered

from svcproc.accounts.models import Role
from svcproc.contracts.models import ContractStatus
from svcproc.core.web import Deferred, deferred
from tests.builders.accounts import user_for_role
from tests.builders.contracts import contract_in, deliver
from tests.helpers import login

FORMS = ("sign_form", "reason_form", "action_form", "deliverable_form", "review_form", "payment_form")


@contextmanager
def rendered(app):
    seen = []

    def keep(_sender, template, context, **_extra):
        seen.append(context)

    template_rendered.connect(keep, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(keep, app)


def test_an_object_is_made_once_when_first_read():
    made = []
    forms = deferred(one=lambda: made.append(1) or {"a": 1})
    assert made == [] and not forms["one"].built
    assert forms["one"]["a"] == 1 and "a" in forms["one"] and list(forms["one"]) == ["a"]
    assert made == [1] and forms["one"].built


@pytest.fixture
def submitted(clock):
    setup = contract_in(ContractStatus.IN_PROGRESS, clock)
    deliver(setup, setup.milestones[0])
    return setup


@pytest.mark.parametrize("who, built", [
    ("auditor", set()),                          # reads the contract, acts on nothing
    ("staff", {"review_form", "reason_form", "action_form"}),  # a milestone to review; the contract to end
])
def test_the_contract_page_builds_the_forms_it_shows(app, make_client, submitted, who, built):
    person = user_for_role(Role.AUDITOR) if who == "auditor" else submitted.staff
    client = make_client()
    login(client, person)
    with rendered(app) as seen:
        response = client.get(f"/contracts/{submitted.contract.id}")
    assert response.status_code == 200
    context = seen[0]
    assert all(isinstance(context[name], Deferred) for name in FORMS)
    assert {name for name in FORMS if context[name].built} == built
    html = response.get_data(as_text=True)
    assert ('name="decision"' in html) == ("review_form" in built)
