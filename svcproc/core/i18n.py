"""Which language a page is in: the person's choice (account, then cookie), else Chinese."""
from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import current_app, request
from flask.globals import _cv_app
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


def _babel_namespace():
    """Flask-Babel's per-context namespace (where it keeps the chosen locale), read from the app
    context directly: `flask.g` is a proxy, and a page asks for translations a hundred times (the
    context variable imported once, not at every call: that import took most of the call's time)."""
    app_ctx = _cv_app.get(None)
    if app_ctx is None:
        return None
    return app_ctx.g.__dict__.get("_flask_babel")


def _domain_class():
    from flask_babel import Domain, get_locale

    class LocaleCachedDomain(Domain):
        """Flask-Babel's domain, its catalogs found by the locale object itself: the stock lookup
        formats the locale's name for every string, and a page translates a hundred or more. The
        catalog chosen is also kept beside the locale in the request's namespace, so the strings
        after the first find it with two dictionary reads; a changed locale (a refresh, or
        `force_locale`) is a different object and looks the catalog up again."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._by_locale: dict = {}

        def get_translations(self):
            namespace = _babel_namespace()
            if namespace is not None:
                held = namespace.__dict__.get("svcproc_translations")
                if held is not None and held[0] is namespace.__dict__.get("babel_locale"):
                    return held[1]
            locale = get_locale()
            if locale is None:
                return super().get_translations()
            try:
                translations = self._by_locale[locale]
            except KeyError:
                translations = self._by_locale[locale] = super().get_translations()
            namespace = _babel_namespace() if namespace is None else namespace
            if namespace is not None:
                namespace.svcproc_translations = (locale, translations)
            return translations

    return LocaleCachedDomain


def _template_callables(domain):
    """The templates' gettext family, as Jinja's newstyle gettext behaves (the result marked safe
    when the template escapes, then always formatted with its variables), calling the domain's
    catalog directly rather than through two more layers of template calls per string."""
    from jinja2 import pass_eval_context
    from markupsafe import Markup

    translations = domain.get_translations

    @pass_eval_context
    def gettext(eval_ctx, string, **variables):
        rv = translations().ugettext(string)
        if eval_ctx.autoescape:
            rv = Markup(rv)
        # Most strings of a page have no variables and no "%": formatting would give them back as
        # they are, after escaping an empty mapping (a sixth of a page's translating).
        if not variables and "%" not in rv:
            return rv
        return rv % variables

    @pass_eval_context
    def ngettext(eval_ctx, singular, plural, num, **variables):
        variables.setdefault("num", num)
        rv = translations().ungettext(singular, plural, num)
        if eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    @pass_eval_context
    def pgettext(eval_ctx, context, string, **variables):
        variables.setdefault("context", context)
        rv = translations().upgettext(context, string)
        if eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    @pass_eval_context
    def npgettext(eval_ctx, context, singular, plural, num, **variables):
        variables.setdefault("context", context)
        variables.setdefault("num", num)
        rv = translations().unpgettext(context, singular, plural, num)
        if eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext, "pgettext": pgettext, "npgettext": npgettext}


def install_fast_domain(app, babel) -> None:
    """Use the locale-cached domain for every gettext, lazy strings and templates included."""
    import flask_babel

    domain = babel.domain_instance = _domain_class()(domain=app.extensions["babel"].default_domain)
    app.jinja_env.globals.update(_template_callables(domain))
    flask_babel.get_domain = _domain_finder(getattr(flask_babel.get_domain, "stock", flask_babel.get_domain))
    _install_form_translations()


_FORM_CATALOGS: dict = {}


def _install_form_translations() -> None:
    """WTForms' own messages ("Not a valid choice", …) in the request's language, each language's
    catalog read once per process: Flask-WTF reads the catalog file again on every request that
    validates a form. Still kept on the request as Flask-WTF keeps it."""
    import flask_wtf.i18n as wtf_i18n
    from babel import support
    from flask_babel import get_locale
    from wtforms.i18n import messages_path

    stock = getattr(wtf_i18n._get_translations, "stock", wtf_i18n._get_translations)

    def _get_translations():
        if not request or "babel" not in current_app.extensions:
            return stock()
        translations = getattr(request, "wtforms_translations", None)
        if translations is None:
            locale = get_locale()
            translations = _FORM_CATALOGS.get(locale)
            if translations is None:
                translations = _FORM_CATALOGS[locale] = support.Translations.load(
                    messages_path(), [locale], domain="wtforms")
            request.wtforms_translations = translations
        return translations

    _get_translations.stock = stock
    wtf_i18n._get_translations = _get_translations


def _domain_finder(stock):
    """Flask-Babel's `get_domain`, which every gettext and lazy string calls first, reading the
    request's namespace directly; outside an app context, or before Flask-Babel made the namespace,
    the stock lookup answers."""

    def get_domain():
        namespace = _babel_namespace()
        if namespace is not None:
            domain = namespace.__dict__.get("babel_domain")
            if domain is not None:
                return domain
        return stock()

    get_domain.stock = stock
    return get_domain
