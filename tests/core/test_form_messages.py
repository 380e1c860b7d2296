"""WTForms' own messages ("Not a valid choice") follow the request's language, and each language's
catalog is read once per process, not on every request that validates a form."""
from __future__ import annotations

import pytest
from babel import support
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField

from svcproc.core import i18n


class _Form(FlaskForm):
    class Meta:
        csrf = False

    kind = SelectField(choices=[("a", "A")])


@pytest.mark.parametrize("lang, message", [("zh_CN", "不是有效的选择。"), ("en", "Not a valid choice.")])
def test_a_builtin_message_is_in_the_request_language_and_its_catalog_read_once(app, monkeypatch, lang, message):
    i18n._FORM_CATALOGS.clear()
    loads = []
    real_load = support.Translations.load
    monkeypatch.setattr(support.Translations, "load",
                        classmethod(lambda cls, *a, **k: loads.append(a) or real_load(*a, **k)))
    for _request in range(3):
        with app.test_request_context("/", headers={"Cookie": f"svcproc_lang={lang}"}):
            form = _Form(formdata=MultiDict({"kind": "b"}))
            assert not form.validate()
            assert form.kind.errors == [message]
    wtforms_loads = [a for a in loads if "wtforms" in str(a[0])]
    assert len(wtforms_loads) == 1, wtforms_loads
