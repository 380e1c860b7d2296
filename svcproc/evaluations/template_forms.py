"""Input shapes for the indicator template pages; the tree's rows and bands are read from the
editor's repeated fields (see template_views) and checked by indicators.clean_rows/clean_bands."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class TemplateForm(FlaskForm):
    name = StringField(_l("Template name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField(validators=[InputRequired()])


class NewTemplateForm(FlaskForm):
    name = StringField(_l("Template name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    # "default" or the id of a version to copy; choices are set by the view from the stored versions.
    start_from = SelectField(_l("Start from"), validators=[DataRequired()], validate_choice=True)


class VersionForm(FlaskForm):
    note = TextAreaField(_l("Note on this version"), validators=[Optional(), Length(max=4000)])
    # The version the editor was opened on: a save from an older page is refused (StaleObject).
    version = HiddenField(validators=[InputRequired()])
