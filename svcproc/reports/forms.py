"""The public verification page's upload (input shape only; the file is checked by its content)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField


class VerifyFileForm(FlaskForm):
    file = FileField(_l("The report's PDF file"))
