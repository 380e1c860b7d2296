"""The fast attribute writer writes what WTForms' own writes, character for character."""
import pytest
from markupsafe import Markup
from wtforms import Form, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import core

from svcproc.core import widgets

CASES = [
    {},
    {"name": "type", "id": "type"},
    {"checked": True, "readonly": False, "name": "text1", "abc": "hello"},
    {"value": 'say "hi" & <b>', "class_": "a b", "for_": "x"},
    {"data_hx_get": "/x?a=1&b=2", "aria_describedby": "f-err", "aria-invalid": "true"},
    {"value": Markup('<i class="x">ok</i>'), "title": "it's"},
    {"value": 12, "min": 0, "step": 0.5, "placeholder": None},
    {"label": "社区 \"一\"", "selected": True, "multiple": False},
]


@pytest.mark.parametrize("kwargs", CASES)
def test_same_text_as_wtforms(kwargs):
    assert widgets.html_params(**kwargs) == widgets.ORIGINAL(**kwargs)
    assert isinstance(widgets.html_params(**kwargs), Markup)


def test_installed_widgets_render_the_same(app):
    class F(Form):
        kind = SelectField(choices=[("a", 'A "quoted" <choice>'), ("b", "乙"), ('c"&<', ""), (True, "yes")],
                           default="b")
        coded = SelectField(choices=[(1, "one"), (2, "two")], coerce=int, default=2)
        attributed = SelectField(choices=[SelectChoice("x", "X", render_kw={"disabled": True}),
                                          SelectChoice("y", "Y")], default="x")
        many = SelectMultipleField(choices=[(str(i), f"n{i}") for i in range(5)], default=["1", "3"])
        text = StringField(default='x "y" & z', render_kw={"placeholder": '"p"'})

    form = F()
    def render():
        return [str(form.kind()), str(form.coded()), str(form.attributed()), str(form.many(size=3)), str(form.text(class_="t", required=True)),
                str(form.text.label(class_="label"))]

    fast = render()
    widgets.install(widgets.ORIGINAL, widgets.ORIGINAL_RENDER_OPTION)
    try:
        slow = render()
    finally:
        widgets.install()
    assert fast == slow
    assert core.html_params is widgets.html_params and core.Input.html_params is widgets.html_params
    assert core.Select.__dict__["render_option"] is widgets.render_option
    assert 'selected value="b"' in fast[0] and "<option value=\"x\"" not in fast[2]
