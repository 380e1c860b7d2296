"""Input shapes for beneficiaries, activities, groups, imports and red flags."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..core.formatting import natural_key
from ..procurement.forms import CheckboxList
from .labels import (ACTIVITY_TYPE_LABELS, CATEGORY_LABELS, CONSENT_BY_LABELS, CONSENT_METHOD_LABELS,
                     GENDER_LABELS, worker_labels)


def _choices(labels: dict) -> list[tuple[str, str]]:
    return [(getattr(k, "value", k), str(v)) for k, v in labels.items()]


class BeneficiaryForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    gender = SelectField(_l("Gender"), validators=[DataRequired()])
    id_number = StringField(_l("Identity number"), validators=[Optional(), Length(max=30)],
                            render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "text"})
    birth_year = IntegerField(_l("Birth year"), validators=[Optional(), NumberRange(1900, 2100)])
    community_id = SelectField(_l("Community"), validators=[DataRequired()])
    categories = CheckboxList(_l("Categories"), validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)], render_kw={"inputmode": "tel",
                                                                                          "autocomplete": "off"})
    consent_by = SelectField(_l("Consent given by"), validators=[DataRequired()])
    guardian_name = StringField(_l("Guardian's name"), validators=[Optional(), Length(max=100)])
    consent_method = SelectField(_l("How consent was given"), validators=[DataRequired()])
    consent_on = DateField(_l("Consent date"), validators=[DataRequired()])
    # Never ticked in advance: the person's separate consent is a choice recorded here (PIPL art. 29).
    sensitive_consent = BooleanField(_l("The person (or guardian) separately consented to the sensitive data "
                                        "(identity number, phone, health or means)"), default=False)
    sensitive_consent_purpose = StringField(_l("Purpose of the sensitive data"),
                                            validators=[Optional(), Length(max=300)])
    sensitive_consent_on = DateField(_l("Date of the separate consent"), validators=[Optional()])
    version = HiddenField()

    def fill_choices(self, communities) -> None:
        self.gender.choices = _choices(GENDER_LABELS)
        self.community_id.choices = [("", "—")] + [(str(c.id), c.name) for c in communities]
        self.categories.choices = _choices(CATEGORY_LABELS)
        self.consent_by.choices = _choices(CONSENT_BY_LABELS)
        self.consent_method.choices = _choices(CONSENT_METHOD_LABELS)


def natural_key_of_name(item) -> tuple:
    return natural_key(item.name)


class ActivityForm(FlaskForm):
    type = SelectField(_l("Kind of service"), validators=[DataRequired()])
    activity_date = DateField(_l("Date"), validators=[DataRequired()])
    start_time = TimeField(_l("From"), validators=[DataRequired()])
    end_time = TimeField(_l("To"), validators=[DataRequired()])
    community_id = SelectField(_l("Community"), validators=[DataRequired()])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    hours = StringField(_l("Service hours"), validators=[Optional(), Length(max=8)],
                        render_kw={"inputmode": "decimal", "placeholder": "1.5"})
    workers = CheckboxList(_l("Social workers"), coerce=int, validators=[Optional()],
                           invalid_message=_l("Only the social workers assigned to this contract can be "
                                              "named (%(values)s is not)."))
    head_count = IntegerField(_l("Others present (head-count)"), default=0, validators=[Optional(), NumberRange(0)])
    group_id = SelectField(_l("Group"), validators=[Optional()])
    session_number = IntegerField(_l("Session number"), validators=[Optional(), NumberRange(1, 100)])
    topic = StringField(_l("Topic"), validators=[Optional(), Length(max=300)])
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=4000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])
    evidence = MultipleFileField(_l("Evidence (sign-in sheet, photos)"))
    reason = TextAreaField(_l("Why is the entry corrected?"), validators=[Optional(), Length(max=2000)])
    version = HiddenField()

    def fill_choices(self, communities, workers, groups, own_communities=()) -> None:
        """`own_communities` (the contract's) come first, then the rest of the district; groups in
        natural order (小组2 before 小组10)."""
        self.type.choices = _choices(ACTIVITY_TYPE_LABELS)
        own = [(str(c.id), c.name) for c in own_communities]
        taken = {value for value, _label in own}
        self.community_id.choices = ([("", "—")] + own
                                     + [(str(c.id), c.name) for c in communities if str(c.id) not in taken])
        labels = worker_labels(workers)  # namesakes told apart by number and masked phone
        self.workers.choices = [(w.id, labels[w.id]) for w in workers]
        self.group_id.choices = [("", "—")] + [(str(g.id), g.name) for g in sorted(groups, key=natural_key_of_name)]


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=200)])
    planned_sessions = IntegerField(_l("Planned sessions"), default=6, validators=[DataRequired(), NumberRange(1, 100)])


class WorkersForm(FlaskForm):
    workers = CheckboxList(_l("Social workers on this contract"), coerce=int, validators=[Optional()])


class ImportForm(FlaskForm):
    file = FileField(_l("Ledger file (.xlsx or .csv)"))


class ExplainForm(FlaskForm):
    note = TextAreaField(_l("Explanation"), validators=[DataRequired(), Length(max=4000)])


class DeleteActivityForm(FlaskForm):
    reason = TextAreaField(_l("Why is the entry deleted?"), validators=[Optional(), Length(max=2000)])


class WithdrawConsentForm(FlaskForm):
    withdrawn_on = DateField(_l("Date consent was withdrawn"), validators=[Optional()])
    reason = TextAreaField(_l("How was consent withdrawn?"), validators=[Optional(), Length(max=2000)])


class EmptyForm(FlaskForm):
    """Carries only the CSRF token."""
