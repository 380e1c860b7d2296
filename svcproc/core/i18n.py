"""Which language a page is in: the person's choice (account, then cookie), else Chinese."""
from __future__ import annotations

from flask import current_app, request
from flask_login import current_user

LANG_COOKIE = "svcproc_lang"


def supported(locale: str | None) -> str | None:
    if locale and locale in current_app.config["LANGUAGES"]:
        return locale
    return None


def select_locale() -> str:
    try:
        if current_user and current_user.is_authenticated and supported(current_user.locale):
            return current_user.locale
    except Exception:  # outside a request, or the user loader failed
        pass
    try:
        chosen = supported(request.cookies.get(LANG_COOKIE))
    except RuntimeError:
        chosen = None
    return chosen or current_app.config["BABEL_DEFAULT_LOCALE"]
