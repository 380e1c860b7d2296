"""The message catalogs cover every user-facing string, and the interface really speaks Chinese.

When a test here fails after you added or changed strings:

1. `make translations` -- extracts the strings (svcproc/babel.cfg) and merges them into both
   catalogs; English entries are filled in for you, and it lists the Chinese entries to translate;
2. translate those entries (the empty `msgstr ""`) in
   svcproc/translations/zh_Hans_CN/LC_MESSAGES/messages.po, keeping every %(name)s placeholder;
3. `make install` compiles the catalogs, then run `.venv/bin/pytest tests/test_translations.py`.

The Chinese catalog's directory is zh_Hans_CN although the app's locale is zh_CN: Flask-Babel
parses "zh_CN" into Babel's zh_Hans_CN and looks for a directory of that name.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "svcproc" / "babel.cfg"
TRANSLATIONS = ROOT / "svcproc" / "translations"
# App locale (LANGUAGES, cookie value) -> catalog directory under svcproc/translations.
CATALOG_DIRS = {"zh_CN": "zh_Hans_CN", "en": "en"}
# Same as BABEL_KEYWORDS in the Makefile (`make translations`), on top of Babel's defaults
# (_, gettext, ngettext, pgettext, npgettext, ...).
EXTRA_KEYWORDS = ["_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2"]
# Same as --ignore-dirs in the Makefile: hidden directories (.venv, .git), node_modules, tests.
IGNORED_DIRS = {"node_modules", "tests"}
# msgids whose Chinese translation may legitimately contain no Chinese (names, codes).
NOT_CHINESE = {"svcproc"}

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)


# --- helpers ------------------------------------------------------------------------------------


def _forms(value) -> list[str]:
    """A msgid or msgstr as a list: one item, or one per plural form."""
    if isinstance(value, (list, tuple)):
        return ["" if v is None else v for v in value]
    return ["" if value is None else value]


def _placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text) if m.group("conv") != "%"}


def _label(msgid) -> str:
    return " / ".join(repr(f) for f in _forms(msgid))


HOW_TO_FIX = ("Run `make translations`, translate the entries listed for zh_CN in"
              " svcproc/translations/zh_Hans_CN/LC_MESSAGES/messages.po, then `make install`.")


def _report(title: str, lines: list[str], hint: str = HOW_TO_FIX) -> str:
    return f"{title} ({len(lines)}):\n  " + "\n  ".join(lines) + (f"\n{hint}" if hint else "")


def _directory_filter(dirpath) -> bool:
    name = Path(dirpath).name
    return not (name.startswith(".") or name in IGNORED_DIRS)


def extract_messages(root: Path = ROOT) -> dict[tuple[str, str | None], dict]:
    """Every translatable string under root, keyed like catalog entries: (msgid, context)."""
    with open(BABEL_CFG, encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(BABEL_CFG))
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(EXTRA_KEYWORDS))
    found: dict[tuple[str, str | None], dict] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=keywords, comment_tags=("TRANSLATORS:",),
        directory_filter=_directory_filter,
    ):
        forms = _forms(message)
        key = (forms[0], context)
        entry = found.setdefault(key, {"id": message, "where": []})
        entry["where"].append(f"{filename}:{lineno}")
    return found


def load_catalog(locale: str):
    path = TRANSLATIONS / CATALOG_DIRS[locale] / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `make translations`"
    with open(path, "rb") as fh:
        return read_po(fh, locale=CATALOG_DIRS[locale])


def _entries(catalog):
    return [m for m in catalog if m.id]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted():
    messages = extract_messages()
    assert messages, f"nothing extracted with {BABEL_CFG.relative_to(ROOT)}: check its patterns"
    return messages


@pytest.fixture(scope="module", params=sorted(CATALOG_DIRS))
def catalog(request):
    return request.param, load_catalog(request.param)


# --- the extraction itself -----------------------------------------------------------------------


SAMPLE_PY = """
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
LABEL = _l("Lazy label")
def view(n):
    return _("Plain %(n)s", n=n), ngettext("%(num)d bid", "%(num)d bids", n)
"""
SAMPLE_HTML = """{% set x = 1 %}{% do [].append(1) %}
<h1>{{ _("Template text") }}</h1>
<p>{{ _("Template %(n)s", n=x) }}</p>
<p>{{ ngettext("%(num)d record", "%(num)d records", x) }}</p>
"""


def test_babel_cfg_extracts_every_kind_of_call(tmp_path):
    """babel.cfg takes _l/_/ngettext from svcproc/**.py and _()/ngettext() from templates/**.html,
    and nothing from tests, virtualenvs or node_modules."""
    for rel, text in {
        "svcproc/sample.py": SAMPLE_PY,
        "svcproc/sub/deeper/sample.py": 'from flask_babel import gettext as _\nX = _("Deep")\n',
        "templates/sample.html": SAMPLE_HTML,
        "templates/sub/sample.html": '{{ _("Nested template") }}',
        "tests/test_sample.py": 'X = _("From a test")\n',
        ".venv/lib/site.py": 'X = _("From the venv")\n',
        "static/node_modules/pkg/templates/x.html": '{{ _("From node_modules") }}',
    }.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    found = {key[0]: _forms(entry["id"]) for key, entry in extract_messages(tmp_path).items()}
    assert found == {
        "Lazy label": ["Lazy label"],
        "Plain %(n)s": ["Plain %(n)s"],
        "%(num)d bid": ["%(num)d bid", "%(num)d bids"],
        "Deep": ["Deep"],
        "Template text": ["Template text"],
        "Template %(n)s": ["Template %(n)s"],
        "%(num)d record": ["%(num)d record", "%(num)d records"],
        "Nested template": ["Nested template"],
    }


def test_extraction_finds_the_source(extracted):
    where = {w.split(":")[0] for entry in extracted.values() for w in entry["where"]}
    assert any(w.startswith("svcproc/") and w.endswith(".py") for w in where), "no Python file extracted"
    assert any(w.startswith("templates/") and w.endswith(".html") for w in where), "no template extracted"


# --- (a) every source string is in every catalog --------------------------------------------------


def test_every_string_is_in_the_catalog(extracted, catalog):
    locale, cat = catalog
    missing, wrong_plural = [], []
    for (msgid, context), entry in sorted(extracted.items(), key=lambda kv: kv[0][0]):
        msg = cat.get(msgid, context)
        if msg is None:
            missing.append(f"{_label(entry['id'])}  ({', '.join(entry['where'][:3])})")
        elif _forms(msg.id) != _forms(entry["id"]):
            wrong_plural.append(f"{_label(entry['id'])}: catalog has {_label(msg.id)}")
    assert not missing, _report(f"[{locale}] msgids in the source but not in the catalog", missing)
    assert not wrong_plural, _report(f"[{locale}] plural forms differ from the source", wrong_plural)


# --- (b) and (c): translated, nothing fuzzy -------------------------------------------------------


def test_catalog_header(catalog):
    locale, cat = catalog
    assert not cat.fuzzy, f"[{locale}] the catalog header is marked fuzzy: remove '#, fuzzy' above msgid \"\""
    expected = {"zh_CN": 1, "en": 2}[locale]
    assert cat.num_plurals == expected, f"[{locale}] Plural-Forms should have nplurals={expected}"


def test_every_entry_is_translated(catalog):
    locale, cat = catalog
    untranslated = []
    for msg in _entries(cat):
        forms = _forms(msg.string)
        if not msg.pluralizable:
            ok = bool(forms[0].strip())
        else:
            ok = len(forms) >= cat.num_plurals and all(f.strip() for f in forms[: cat.num_plurals])
        if not ok:
            untranslated.append(_label(msg.id))
    assert not untranslated, _report(f"[{locale}] entries without a translation", untranslated)


def test_no_fuzzy_entries(catalog):
    locale, cat = catalog
    fuzzy = [_label(msg.id) for msg in _entries(cat) if msg.fuzzy]
    assert not fuzzy, _report(f"[{locale}] fuzzy entries", fuzzy,
                              hint="Check each translation, then delete its '#, fuzzy' line.")


# --- (d) placeholders -----------------------------------------------------------------------------


def test_placeholders_match(catalog):
    locale, cat = catalog
    problems = []
    for msg in _entries(cat):
        wanted = set().union(*(_placeholders(f) for f in _forms(msg.id)))
        forms = [f for f in _forms(msg.string) if f]
        if not forms:
            continue  # reported by test_every_entry_is_translated
        if not msg.python_format and not wanted:
            stray = set().union(*(_placeholders(f) for f in forms if "%(" in f))
            if stray:
                problems.append(f"{_label(msg.id)}: translation adds {sorted(stray)}")
            continue
        got = [_placeholders(f) for f in forms]
        unknown = set().union(*got) - wanted
        if not msg.pluralizable:
            lost = wanted - got[0]
        else:
            # A singular form may leave the number out ("one record"); together they keep all.
            lost = wanted - set().union(*got)
        if unknown or lost:
            detail = []
            if lost:
                detail.append(f"missing {sorted(lost)}")
            if unknown:
                detail.append(f"unknown {sorted(unknown)}")
            problems.append(f"{_label(msg.id)}: {', '.join(detail)} in {forms!r}")
    assert not problems, _report(f"[{locale}] placeholders differ from the msgid", problems,
                                 hint="Use exactly the msgid's %(name)s placeholders in each translation.")


# --- (e) the Chinese catalog is Chinese, the English one English ----------------------------------


def _has_words(msgid) -> bool:
    text = PLACEHOLDER.sub("", _forms(msgid)[0])
    return bool(re.search(r"[A-Za-z]", text))


def test_chinese_catalog_is_chinese():
    cat = load_catalog("zh_CN")
    entries = _entries(cat)
    not_chinese = [
        f"{_label(msg.id)} -> {_forms(msg.string)!r}"
        for msg in entries
        if _has_words(msg.id) and _forms(msg.id)[0] not in NOT_CHINESE
        and any(f and not CJK.search(f) for f in _forms(msg.string)[: cat.num_plurals])
    ]
    assert not not_chinese, _report(
        "zh_CN translations without Chinese characters", not_chinese,
        hint="Translate them into Chinese; if a name or code must stay as it is, add its msgid to"
             " NOT_CHINESE in tests/test_translations.py.")
    assert len(entries) > 50


def test_english_catalog_is_english():
    """`make translations` copies the source text; the English catalog never holds Chinese."""
    cat = load_catalog("en")
    chinese = [f"{_label(msg.id)} -> {_forms(msg.string)!r}" for msg in _entries(cat)
               if any(CJK.search(f) for f in _forms(msg.string))]
    assert not chinese, _report("en translations with Chinese characters", chinese,
                                hint="Put the English source text (the msgid) in these msgstr lines.")


# --- (f) the app renders each language ------------------------------------------------------------


@pytest.fixture
def compiled_translations(tmp_path):
    """The catalogs as they are now, compiled like `pybabel compile` does, in the same layout."""
    target = tmp_path / "translations"
    for locale, dirname in CATALOG_DIRS.items():
        out = target / dirname / "LC_MESSAGES"
        out.mkdir(parents=True)
        with open(out / "messages.mo", "wb") as fh:
            write_mo(fh, load_catalog(locale))
    return target


def _clear_translation_cache(app):
    # Flask-Babel keeps loaded catalogs per locale on the (process-wide) Babel domain, whichever
    # app loaded them: start and end with an empty cache so other apps' catalogs do not leak in.
    from flask_babel import get_domain

    with app.app_context():
        cache = getattr(get_domain(), "cache", None)
        if isinstance(cache, dict):
            cache.clear()


@pytest.fixture
def own_app(tmp_path, monkeypatch, compiled_translations):
    from svcproc import create_app

    instance = tmp_path / "instance"
    monkeypatch.setenv("SVCPROC_INSTANCE", str(instance))
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'translations.db'}",
        "BABEL_TRANSLATION_DIRECTORIES": str(compiled_translations),
    })
    _clear_translation_cache(app)
    yield app
    _clear_translation_cache(app)


def test_app_reads_the_catalogs_from_svcproc_translations(tmp_path, monkeypatch):
    from svcproc import create_app

    monkeypatch.setenv("SVCPROC_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert [Path(d).resolve() for d in app.extensions["babel"].translation_directories] == [TRANSLATIONS]
    assert set(app.config["LANGUAGES"]) == set(CATALOG_DIRS)


@pytest.mark.parametrize("cookie", [None, "zh_CN", "en"])
def test_login_page_is_translated(own_app, cookie):
    locale = cookie or own_app.config["BABEL_DEFAULT_LOCALE"]
    expected = load_catalog(locale).get("Log in")
    assert expected is not None and expected.string, f"[{locale}] 'Log in' is not translated"
    label = expected.string

    client = own_app.test_client()
    if cookie:
        client.set_cookie("svcproc_lang", cookie)
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"<h1>{label}</h1>" in html, f"[{locale}] /login does not show {label!r}"
    assert f"<title>{label} ·" in html
    if locale == "zh_CN":
        assert label == "登录"
        assert '<html lang="zh-CN">' in html
        assert "Log in" not in html
    else:
        assert label == "Log in"
        assert '<html lang="en">' in html
        assert "登录" not in html
