"""Which language a page is in: the person's choice (account, then cookie), else Chinese."""
from __future__ import annotations

from babel import Locale
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


def locale_code(locale: Locale | None) -> str:
    """The configured code (`zh_CN`, `en`) of a Babel locale.

    Babel spells zh_CN as zh_Hans_CN, so comparing str(get_locale()) with the configured codes
    would mark every Chinese page as English.
    """
    if locale is None:
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    for code in current_app.config["LANGUAGES"]:
        candidate = Locale.parse(code)
        if (candidate.language, candidate.territory) == (locale.language, locale.territory):
            return code
    return str(locale)
