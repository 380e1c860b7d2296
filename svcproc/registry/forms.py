"""Input shapes for areas, organizations and social workers."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from .models import AreaLevel, CertificationLevel, OrgKind, OrgRating, OrgScale, OrgStatus, RegistrationType

AREA_LEVEL_LABELS = {
    AreaLevel.DISTRICT: _l("District"),
    AreaLevel.STREET: _l("Street"),
    AreaLevel.COMMUNITY: _l("Community"),
    AreaLevel.GRID: _l("Grid"),
}
ORG_KIND_LABELS = {
    OrgKind.SERVICE: _l("Social work organization"),
    OrgKind.EVALUATION: _l("Evaluation organization"),
}
REGISTRATION_TYPE_LABELS = {
    RegistrationType.SOCIAL_SERVICE_AGENCY: _l("Social service agency"),
    RegistrationType.SOCIAL_GROUP: _l("Social group"),
    RegistrationType.FOUNDATION: _l("Foundation"),
    RegistrationType.PUBLIC_INSTITUTION: _l("Public institution"),
    RegistrationType.ENTERPRISE: _l("Enterprise"),
}
# The size an organization declared (中小企业声明函); small and micro enterprises get the price deduction.
SCALE_LABELS = {
    OrgScale.UNSTATED: _l("Not stated"),
    OrgScale.LARGE: _l("Large enterprise"),
    OrgScale.MEDIUM: _l("Medium enterprise"),
    OrgScale.SMALL: _l("Small enterprise"),
    OrgScale.MICRO: _l("Micro enterprise"),
}
RATING_LABELS = {
    OrgRating.NONE: _l("Not rated"),
    OrgRating.A1: "1A", OrgRating.A2: "2A", OrgRating.A3: "3A", OrgRating.A4: "4A", OrgRating.A5: "5A",
}
STATUS_LABELS = {
    OrgStatus.ACTIVE: _l("Active"),
    OrgStatus.SUSPENDED: _l("Suspended"),
    OrgStatus.DISHONEST: _l("On the dishonesty list"),
}
CERTIFICATION_LABELS = {
    CertificationLevel.NONE: _l("Not certified"),
    CertificationLevel.ASSISTANT: _l("Assistant social worker"),
    CertificationLevel.INTERMEDIATE: _l("Social worker (intermediate)"),
    CertificationLevel.SENIOR: _l("Senior social worker"),
}


def _choices(labels: dict) -> list[tuple[str, str]]:
    return [(key.value, str(label)) for key, label in labels.items()]


PHONE = Regexp(r"^[0-9+\- ()]*$", message=_l("A phone number has digits, spaces, +, - and brackets only."))


class AreaForm(FlaskForm):
    level = SelectField(_l("Level"), validators=[DataRequired()])
    code = StringField(_l("Division code"), validators=[DataRequired(), Length(max=20),
                       Regexp(r"^[0-9A-Za-z]+$", message=_l("The code has digits and letters only."))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    parent_id = SelectField(_l("Part of"), validators=[Optional()])
    version = HiddenField()

    def fill_choices(self, parents) -> None:
        self.level.choices = _choices(AREA_LEVEL_LABELS)
        self.parent_id.choices = [("", "—")] + [
            (str(a.id), f"{a.path} ({AREA_LEVEL_LABELS[a.level]})") for a in parents
        ]


class OrganizationForm(FlaskForm):
    name = StringField(_l("Registered name"), validators=[DataRequired(), Length(max=200)])
    credit_code = StringField(_l("Unified social credit code"), validators=[DataRequired(), Length(max=30)],
                              render_kw={"autocapitalize": "characters", "spellcheck": "false"})
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    registration_type = SelectField(_l("Registration type"), validators=[DataRequired()])
    rating = SelectField(_l("Rating"), validators=[DataRequired()])
    rated_on = DateField(_l("Rated on"), validators=[Optional()])
    scale = SelectField(_l("Enterprise size (declared)"), validators=[Optional()])
    area_id = SelectField(_l("Area"), validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40), PHONE])
    contact_email = EmailField(_l("Contact e-mail"), validators=[Optional(), Email(), Length(max=200)])
    version = HiddenField()

    def fill_choices(self, areas) -> None:
        self.kind.choices = _choices(ORG_KIND_LABELS)
        self.registration_type.choices = _choices(REGISTRATION_TYPE_LABELS)
        self.rating.choices = _choices(RATING_LABELS)
        self.scale.choices = _choices(SCALE_LABELS)
        self.area_id.choices = [("", "—")] + [(str(a.id), a.path) for a in areas]


class OrgStatusForm(FlaskForm):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])

    def fill_choices(self) -> None:
        self.status.choices = _choices(STATUS_LABELS)


class WorkerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    organization_id = SelectField(_l("Organization"), validators=[Optional()])
    certification_level = SelectField(_l("Certification"), validators=[DataRequired()])
    certificate_number = StringField(_l("Certificate number"), validators=[Optional(), Length(max=40)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40), PHONE])
    active = BooleanField(_l("Active"), default=True)
    version = HiddenField()

    def fill_choices(self, organizations) -> None:
        self.certification_level.choices = _choices(CERTIFICATION_LABELS)
        self.organization_id.choices = [(str(o.id), o.name) for o in organizations]


class LocalDayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired()])
    kind = SelectField(_l("The day is"), validators=[DataRequired()],
                       choices=[("day_off", _l("A local day off")), ("working_day", _l("A local working day"))])
    name = StringField(_l("What it is"), validators=[DataRequired(), Length(max=200)])
