"""The language switch: Chinese by default, English on request, and the choice is remembered."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from .helpers import html_lang, login, logout, switch_language

pytestmark = pytest.mark.e2e

# Switching while logged in saves the choice on this account; the test clears it at the end.
USER = "procurement"


@pytest.fixture
def forget_saved_language(live_server):
    """Afterwards the account has no saved language again, so the other tests that log in as
    this user (in whatever order they run) get the language of their cookie."""
    yield
    import sqlalchemy as sa

    from svcproc.accounts.models import User

    with live_server.db_session() as session:
        session.execute(sa.update(User).where(User.username == USER).values(locale=None))
        session.commit()


def test_language_choice_sticks_across_pages_and_logins(new_browser_context, forget_saved_language):
    page = new_browser_context().new_page()
    page.goto("/")
    assert html_lang(page) == "zh-CN"
    assert page.locator(".lang-switch button", has_text="中文").get_attribute("aria-current") == "true"

    switch_language(page, "English")
    assert html_lang(page) == "en"
    assert urlsplit(page.url).path == "/"

    page.goto("/login")
    assert html_lang(page) == "en"
    login(page, USER)
    assert html_lang(page) == "en"
    page.goto("/registry/organizations")
    assert html_lang(page) == "en"

    # Switching while logged in returns to the same page and is saved on the account.
    switch_language(page, "中文")
    assert html_lang(page) == "zh-CN"
    assert urlsplit(page.url).path == "/registry/organizations"
    switch_language(page, "English")
    assert html_lang(page) == "en"
    logout(page)
    assert html_lang(page) == "en"

    login(page, USER)
    assert html_lang(page) == "en"
    logout(page)

    # Another browser, no cookie: Chinese until the person logs in, then their saved choice.
    other = new_browser_context().new_page()
    other.goto("/login")
    assert html_lang(other) == "zh-CN"
    login(other, USER)
    assert html_lang(other) == "en"
    logout(other)
