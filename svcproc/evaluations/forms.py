"""Input shapes for evaluation rounds, parties, evaluators, surveys, evidence, findings and rectification."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .labels import ROUND_KIND_LABELS


class RoundForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[(k.value, v) for k, v in ROUND_KIND_LABELS.items()],
                       validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    template_version = SelectField(_l("Indicator template"), coerce=int, validators=[DataRequired()])
    evaluation_org = SelectField(_l("Evaluation organization"), coerce=int, validators=[Optional()])
    target_percent = IntegerField(_l("Outputs measured against this share of the targets (%)"),
                                  validators=[Optional(), NumberRange(1, 100)])
    scheduled_start = DateField(_l("Evaluation starts"), validators=[DataRequired()])
    scheduled_end = DateField(_l("Evaluation ends"), validators=[DataRequired()])


class ScheduleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    scheduled_start = DateField(_l("Evaluation starts"), validators=[DataRequired()])
    scheduled_end = DateField(_l("Evaluation ends"), validators=[DataRequired()])


class EvaluatorForm(FlaskForm):
    user = SelectField(_l("Evaluator"), coerce=int, validators=[DataRequired()])
    party = SelectField(_l("Party"), coerce=int, validators=[DataRequired()])


class DeclarationForm(FlaskForm):
    related = BooleanField(_l("I am related to the evaluated organization (former staff, family, business or "
                              "financial ties)"))
    note = TextAreaField(_l("Describe the relation"), validators=[Optional(), Length(max=2000)])


class SurveyForm(FlaskForm):
    leaf_key = SelectField(_l("Indicator"), validators=[DataRequired()])
    group_name = StringField(_l("Group of respondents"), validators=[DataRequired(), Length(max=100)])
    surveyed = IntegerField(_l("Surveyed"), validators=[InputRequired(), NumberRange(1)])
    satisfied = IntegerField(_l("Satisfied"), validators=[InputRequired(), NumberRange(0)])
    surveyed_on = DateField(_l("Surveyed on"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class SurveyImportForm(FlaskForm):
    leaf_key = SelectField(_l("Indicator"), validators=[DataRequired()])
    file = FileField(_l("Responses (.xlsx or .csv, one row per respondent)"))
    surveyed_on = DateField(_l("Surveyed on"), validators=[Optional()])


class EvidenceForm(FlaskForm):
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=200)])
    file = FileField(_l("File (PDF, Word, Excel, PNG or JPEG)"))


class FindingForm(FlaskForm):
    text = TextAreaField(_l("Finding"), validators=[DataRequired(), Length(max=4000)])


class ItemForm(FlaskForm):
    action = TextAreaField(_l("What must be rectified"), validators=[DataRequired(), Length(max=4000)])
    owner = StringField(_l("Responsible person"), validators=[DataRequired(), Length(max=100)])
    deadline = DateField(_l("Deadline"), validators=[DataRequired()])


class ResponseForm(FlaskForm):
    text = TextAreaField(_l("What was done"), validators=[DataRequired(), Length(max=4000)])
    files = MultipleFileField(_l("Evidence (PDF, Word, Excel, PNG or JPEG)"))


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)])
