"""What the browser tests share: logging in and out through the real forms, the language switch."""
from __future__ import annotations

from pathlib import Path

DEMO_PASSWORD = "E2e-Demo-Pass-7"  # passes the password rules for every demo user name
AXE_JS = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe.min.js"
# Playwright's own timeouts, in ms: generous enough for a loaded CI box, short enough to fail fast.
DEFAULT_TIMEOUT_MS = 10_000


def set_up_context(context, live_server) -> None:
    """Every context's timeouts and its answer for the htmx CDN.

    Navigation gets twice the rest of the timeouts, as a page load on a loaded CI box (both
    databases' suites run side by side) waits for the server and every script the page names.

    The CDN's htmx is refused at once. The machines the suite runs on reach package registries
    only, and there a look-up of the CDN's name sometimes hung for five seconds before failing, so
    a page waited on the network, at random, before its fallback loaded the local copy. Refused,
    every page takes the fallback the templates write, at once and every time.
    """
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS * 2)
    cdn = live_server.app.config.get("HTMX_CDN_URL") or ""
    if cdn:
        context.route(cdn, lambda route: route.abort("connectionrefused"))


# The two screens the role walks use: a desktop window and a phone held upright.
SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
              "has_touch": True},
}
# Lines printed under "e2e timings" at the end of the run (conftest's pytest_terminal_summary).
REPORT: list[str] = []


def login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real form (the header's language buttons are submit buttons too)."""
    page.goto("/login")
    form = page.locator("main form")
    form.locator("[name=username]").fill(username)
    form.locator("[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("nav.main-nav .account").count() == 1, f"{username} did not get logged in: {page.url}"


def logout(page) -> None:
    with page.expect_navigation():
        page.locator("nav.main-nav .account button[type=submit]").click()
    # Logged out: the public menu (notices, needs, log in) replaces the account menu.
    assert page.locator("nav.main-nav .account").count() == 0
    assert page.locator('nav.main-nav a[href="/login"]').count() == 1


def html_lang(page) -> str:
    return page.locator("html").get_attribute("lang")


def switch_language(page, label: str) -> None:
    with page.expect_navigation():
        page.locator(".lang-switch button", has_text=label).click()
