"""A refused status change: htmx swaps in the 422 form with its error, and nothing is saved."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from .helpers import login

pytestmark = pytest.mark.e2e


def _org_state(live_server, org_id: int):
    from svcproc.audit.models import AuditEvent
    from svcproc.registry.models import Organization

    with live_server.db_session() as session:
        org = session.get(Organization, org_id)
        events = session.execute(
            sa.select(sa.func.count()).select_from(AuditEvent)
            .where(AuditEvent.object_type == "organization", AuditEvent.object_id == str(org_id))
        ).scalar_one()
        return org.status.value, org.status_reason, org.version, events


def test_suspending_without_a_reason_swaps_in_the_error_and_changes_nothing(browser_page, live_server):
    page = browser_page
    org_id = live_server.ids["org_yangguang"]
    before = _org_state(live_server, org_id)
    login(page, "admin")
    page.goto(f"/registry/organizations/{org_id}")
    page.wait_for_function("typeof window.htmx === 'object'")
    page.evaluate("window.__e2eSameDocument = true")
    form = page.locator("#status-form")
    form.locator("select[name=status]").select_option("suspended")
    form.locator("textarea[name=reason]").fill("")

    with page.expect_response(lambda r: r.url.endswith(f"/registry/organizations/{org_id}/status")) as answer:
        form.locator("button[type=submit]").click()

    response = answer.value
    assert response.status == 422
    assert response.request.headers.get("hx-request") == "true", "the form was posted without htmx"
    form = page.locator("#status-form")
    error = form.locator("#reason-err")
    error.wait_for()
    assert error.inner_text().strip()
    assert form.locator("#reason").get_attribute("aria-invalid") == "true"
    assert form.locator("select[name=status]").input_value() == "suspended", "the choice was lost"
    assert page.locator("#status-form").count() == 1, "the fragment was nested instead of replacing the form"
    assert page.evaluate("window.__e2eSameDocument === true"), "the page was reloaded"
    assert page.evaluate("document.activeElement && document.activeElement.id") == "reason", \
        "focus did not move to the field that needs fixing"
    assert page.locator("dl.facts .badge-active").count() == 1
    assert _org_state(live_server, org_id) == before
