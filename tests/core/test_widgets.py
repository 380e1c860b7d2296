"""The fast attribute writer writes what WTForms' own writes, character for character."""
import pytest
from markupsafe import Markup
from wtforms import Form, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget, core

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
        required = SelectField(choices=[("", "—"), ("1", None), ("2", Markup("<b>二</b>"))], validators=[DataRequired()])
        triples = SelectField(choices=[("a", "A", {"data_x": "1"}), ("b", "B", {})], default="b")
        unchosen = SelectField(choices=[(3, "three"), (4, "four")], coerce=int)

    form = F()
    def render():
        return [str(form.kind()), str(form.coded()), str(form.attributed()), str(form.many(size=3)), str(form.text(class_="t", required=True)),
                str(form.text.label(class_="label")), str(form.required()), str(form.required(class_="s", hx_get="/x")),
                str(form.triples()), str(form.unchosen())]

    fast = render()
    widgets.install(widgets.ORIGINAL, widgets.ORIGINAL_RENDER_OPTION, widgets.ORIGINAL_SELECT)
    try:
        slow = render()
    finally:
        widgets.install()
    assert fast == slow
    assert core.html_params is widgets.html_params and core.Input.html_params is widgets.html_params
    assert core.Select.__dict__["render_option"] is widgets.render_option
    assert 'selected value="b"' in fast[0] and "<option value=\"x\"" not in fast[2]


@pytest.mark.parametrize("validators", [[], [Optional()], [DataRequired()]])
@pytest.mark.parametrize("selected", [[], ["2", 'c"&<'], ["1", "2", 'c"&<']])
def test_a_list_of_checkboxes_is_written_as_wtforms_writes_it(app, validators, selected):
    choices = [("1", 'A "quoted" <choice> & more'), ("2", "乙"), ('c"&<', ""), ("4", Markup("<b>bold</b>"))]

    class F(Form):
        fast = SelectMultipleField(choices=choices, validators=validators, widget=widgets.CheckboxListWidget(),
                                   option_widget=CheckboxInput())
        slow = SelectMultipleField(choices=choices, validators=validators, widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput())

    form = F(prefix="f")
    form.fast.data = form.slow.data = selected

    def same(field_html):
        return field_html.replace('id="f-fast', 'id="f-X').replace('for="f-fast', 'for="f-X').replace(
            'name="f-fast"', 'name="f-X"').replace('id="f-slow', 'id="f-X').replace('for="f-slow', 'for="f-X').replace(
            'name="f-slow"', 'name="f-X"')

    assert same(str(form.fast())) == same(str(form.slow()))
    assert same(str(form.fast(class_="checks"))) == same(str(form.slow(class_="checks")))
    assert str(form.fast()).count('type="checkbox"') == len(choices)


def test_a_list_of_checkboxes_with_attributes_of_its_own_is_written_by_wtforms(app):
    class F(Form):
        fast = SelectMultipleField(choices=[SelectChoice("a", "A", render_kw={"disabled": True}), SelectChoice("b", "B")],
                                   widget=widgets.CheckboxListWidget(), option_widget=CheckboxInput())
        slow = SelectMultipleField(choices=[SelectChoice("a", "A", render_kw={"disabled": True}), SelectChoice("b", "B")],
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    form = F()
    assert str(form.fast()).replace("fast", "x") == str(form.slow()).replace("slow", "x")
