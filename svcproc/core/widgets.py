"""WTForms' attribute writer, made fast: forms with long choice lists (an entry form lists every
community twice) spent most of their time in `html_params`, which formats each attribute through
`Markup.format` (string.Formatter). This writes the same text with plain string operations; every
widget of WTForms calls it, so installing it once speeds them all. A select's options, hundreds on
some forms, are written the same way (`render_option`)."""
from __future__ import annotations

from markupsafe import Markup, escape
from wtforms.widgets import core as _core


def html_params(**kwargs) -> Markup:
    """The text `wtforms.widgets.core.html_params` writes, character for character."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = escape(_core.clean_key(key))
        if value is True:
            params.append(key)
        elif value is not False:
            params.append(f'{key}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))


ORIGINAL = _core.html_params
ORIGINAL_RENDER_OPTION = _core.Select.__dict__["render_option"]


def _attribute(value) -> str:
    if isinstance(value, bool):
        value = str(value)
    return str(escape(value)).replace(chr(34), "&quot;")


@classmethod
def render_option(cls, choice, **kwargs) -> Markup:
    """The text `Select.render_option` writes: an option with no attributes of its own is written
    directly (`selected` sorts before `value`, as the attribute writer orders them)."""
    if kwargs or choice.render_kw:
        return ORIGINAL_RENDER_OPTION.__func__(cls, choice, **kwargs)
    label = escape(choice.label or choice.value)
    selected = "selected " if choice.selected else ""
    return Markup(f'<option {selected}value="{_attribute(choice.value)}">{label}</option>')


ORIGINAL_SELECT = _core.Select.__call__


def select(self, field, **kwargs) -> Markup:
    """The text `Select.__call__` writes. A single choice select whose choices are plain (value,
    label) pairs (an entry form's 131 communities) is written from them directly: WTForms makes a
    choice object of each, twice, before writing it. Anything else goes through WTForms."""
    from wtforms.fields import SelectField

    choices = field.choices
    if (self.multiple or type(self) is not _core.Select or not isinstance(choices, (list, tuple))
            or getattr(type(field), "iter_choices", None) is not SelectField.iter_choices
            or not all(type(choice) is tuple and len(choice) == 2 for choice in choices)):
        return ORIGINAL_SELECT(self, field, **kwargs)
    kwargs.setdefault("id", field.id)
    flags = getattr(field, "flags", {})
    for k in dir(flags):
        if k in self.validation_attrs and k not in kwargs:
            kwargs[k] = getattr(flags, k)
    html = [f"<select {html_params(name=field.name, **kwargs)}>"]
    data, coerce = field.data, field.coerce
    for value, label in choices:
        selected = "selected " if coerce(value) == data else ""
        html.append(f'<option {selected}value="{_attribute(value)}">{escape(label or value)}</option>')
    html.append("</select>")
    return Markup("".join(html))


def install(writer=html_params, option_writer=render_option, select_writer=select) -> None:
    """Put `writer` wherever WTForms looks `html_params` up: the widgets' module, the package that
    re-exports it (labels use that one) and the widget classes that keep it as a static method;
    `option_writer` as the select's option writer and `select_writer` as the select's own."""
    import wtforms.widgets

    _core.Select.render_option = option_writer
    _core.Select.__call__ = select_writer
    _core.html_params = wtforms.widgets.html_params = writer
    for name in dir(_core):
        cls = getattr(_core, name)
        if isinstance(cls, type) and "html_params" in vars(cls):
            cls.html_params = staticmethod(writer)


class CheckboxListWidget(_core.ListWidget):
    """`ListWidget(prefix_label=False)` of `CheckboxInput`s (a field of checkboxes, one a choice),
    written directly: WTForms builds, binds and renders a field and a label for each checkbox, 22 µs
    each, and an entry form lists every social worker of a contract (36 in the largest). The text is
    WTForms' own, character for character; anything this does not write (attributes of a choice,
    of the field, another option widget) goes through WTForms."""

    def __init__(self):
        super().__init__(prefix_label=False)

    def __call__(self, field, **kwargs):
        if field.render_kw or type(field.option_widget) is not _core.CheckboxInput:
            return super().__call__(field, **kwargs)
        choices = list(field._iter_choices_normalized())
        if any(choice.render_kw for choice in choices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        # What the flags of the field's validators add to each input (as CheckboxInput does).
        flags = {}
        for name in _core.CheckboxInput.validation_attrs:
            value = getattr(field.flags, name, None)
            if value:
                flags[name] = value() if callable(value) else value
        if any(value is not True for value in flags.values()):
            return super().__call__(field, **kwargs)
        # The input's attributes in the writer's order (sorted by name): checked, disabled, id,
        # name, required, type, value.
        disabled = "disabled " if "disabled" in flags else ""
        middle = f'name="{_attribute(field.name)}" ' + ("required " if "required" in flags else "") + 'type="checkbox"'
        html = [f"<ul {html_params(**kwargs)}>"]
        for i, choice in enumerate(choices):
            id_ = _attribute(f"{field.id}-{i}")
            checked = "checked " if choice.selected else ""
            label = escape(choice.label or choice.value)
            html.append(f'<li><input {checked}{disabled}id="{id_}" {middle} value="{_attribute(str(choice.value))}"> '
                        f'<label for="{id_}">{label}</label></li>')
        html.append("</ul>")
        return Markup("".join(html))
