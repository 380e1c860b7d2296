"""Which language a page is in: the person's choice (account, then cookie), else Chinese."""
from __future__ import annotations

from functools import lru_cache

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
        if _language_territory(code) == (locale.language, locale.territory):
            return code
    return str(locale)


@lru_cache(maxsize=16)
def _language_territory(code: str) -> tuple[str, str | None]:
    candidate = Locale.parse(code)
    return candidate.language, candidate.territory


def _domain_class():
    from flask_babel import Domain, get_locale

    class LocaleCachedDomain(Domain):
        """Flask-Babel's domain, its catalogs found by the locale object itself: the stock lookup
        formats the locale's name for every string, and a page translates a hundred or more."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._by_locale: dict = {}

        def get_translations(self):
            locale = get_locale()
            if locale is None:
                return super().get_translations()
            try:
                return self._by_locale[locale]
            except KeyError:
                translations = self._by_locale[locale] = super().get_translations()
                return translations

    return LocaleCachedDomain


def install_fast_domain(app, babel) -> None:
    """Use the locale-cached domain for every gettext, lazy strings and templates included."""
    babel.domain_instance = _domain_class()(domain=app.extensions["babel"].default_domain)
