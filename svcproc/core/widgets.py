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


def install(writer=html_params, option_writer=render_option) -> None:
    """Put `writer` wherever WTForms looks `html_params` up: the widgets' module, the package that
    re-exports it (labels use that one) and the widget classes that keep it as a static method;
    and `option_writer` as the select's option writer."""
    import wtforms.widgets

    _core.Select.render_option = option_writer
    _core.html_params = wtforms.widgets.html_params = writer
    for name in dir(_core):
        cls = getattr(_core, name)
        if isinstance(cls, type) and "html_params" in vars(cls):
            cls.html_params = staticmethod(writer)
