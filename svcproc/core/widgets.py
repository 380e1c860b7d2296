"""WTForms' attribute writer, made fast: forms with long choice lists (an entry form lists every
community twice) spent most of their time in `html_params`, which formats each attribute through
`Markup.format` (string.Formatter). This writes the same text with plain string operations; every
widget of WTForms calls it, so installing it once speeds them all."""
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


def install(writer=html_params) -> None:
    """Put `writer` wherever WTForms looks `html_params` up: the widgets' module, the package that
    re-exports it (labels use that one) and the widget classes that keep it as a static method."""
    import wtforms.widgets

    _core.html_params = wtforms.widgets.html_params = writer
    for name in dir(_core):
        cls = getattr(_core, name)
        if isinstance(cls, type) and "html_params" in vars(cls):
            cls.html_params = staticmethod(writer)
