"""Input shapes of monitoring cases."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class CaseForm(FlaskForm):
    subject = StringField(_l("What the case looks into"), validators=[DataRequired(), Length(max=200)])
    number = StringField(_l("Tender or contract number"), validators=[Optional(), Length(max=40)])
    flag_id = HiddenField()


class FindingsForm(FlaskForm):
    findings = TextAreaField(_l("Findings"), validators=[DataRequired(), Length(max=8000)])


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("What the bureau eliminated or put right"), validators=[DataRequired(), Length(max=8000)])


class ReturnForm(FlaskForm):
    reason = TextAreaField(_l("What the answer leaves unresolved"), validators=[DataRequired(), Length(max=8000)])


class ConclusionForm(FlaskForm):
    conclusion = TextAreaField(_l("Conclusion"), validators=[DataRequired(), Length(max=8000)])


class DocumentForm(FlaskForm):
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=200)])
    file = FileField(_l("File (PDF, Word, Excel, PNG or JPEG)"))
