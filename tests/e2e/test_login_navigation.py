"""Logging in through the real form shows each role the menu it may use; logging out ends the session."""
from __future__ import annotations

import pytest

from .helpers import login, logout

pytestmark = pytest.mark.e2e

# (user, sees the users page, sees the audit trail) — matched on the links' targets, not their
# labels, so the test holds whichever language the catalogs are in.
ROLES = [
    ("admin", True, True),
    ("orgmanager", False, False),
    ("auditor", False, True),
]


@pytest.mark.parametrize(("username", "sees_users", "sees_audit"), ROLES)
def test_login_shows_the_roles_navigation_and_logout_ends_the_session(browser_page, username, sees_users,
                                                                         sees_audit):
    page = browser_page

    login(page, username)

    nav = page.locator("nav.main-nav")
    assert nav.locator('a[href="/"]').count() == 1
    assert nav.locator('a[href="/registry/organizations"]').count() == 1
    assert nav.locator('a[href="/admin/users"]').count() == (1 if sees_users else 0)
    assert nav.locator('a[href="/audit"]').count() == (1 if sees_audit else 0)

    logout(page)

    assert page.url.endswith("/login")
    page.goto("/registry/organizations")
    assert "/login" in page.url, "a logged-out browser could still open a registry page"
