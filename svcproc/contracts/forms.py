"""Input shapes for contracts, amendments, milestones, deliverables and payments."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..procurement.forms import MoneyField
from ..procurement.labels import TARGET_LABELS
from .labels import ART23_LABELS, DELIVERABLE_KIND_LABELS


def _target(name):
    return IntegerField(TARGET_LABELS[name], validators=[InputRequired(), NumberRange(0)])


class ContractForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    start_date = DateField(_l("Service starts"), validators=[DataRequired()])
    end_date = DateField(_l("Service ends"), validators=[DataRequired()])
    long_term_reason = TextAreaField(_l("Reason for a term longer than one year"), validators=[Optional(), Length(max=2000)])
    # Left empty: the bureau's usual term (a new contract) or the term as it was. The range (1-60 days)
    # is the workflow's rule: its refusal names the regulation.
    payment_days = IntegerField(_l("Payment due (days after a milestone is accepted)"), validators=[Optional()])
    service_content = TextAreaField(ART23_LABELS["service_content"], validators=[Optional(), Length(max=20000)])
    quantity = TextAreaField(ART23_LABELS["quantity"], validators=[Optional(), Length(max=4000)])
    quality = TextAreaField(ART23_LABELS["quality"], validators=[Optional(), Length(max=4000)])
    settlement = TextAreaField(ART23_LABELS["settlement"], validators=[Optional(), Length(max=4000)])
    rights_obligations = TextAreaField(ART23_LABELS["rights_obligations"], validators=[Optional(), Length(max=8000)])
    breach_liability = TextAreaField(ART23_LABELS["breach_liability"], validators=[Optional(), Length(max=4000)])
    target_cases = _target("target_cases")
    target_groups = _target("target_groups")
    target_group_sessions = _target("target_group_sessions")
    target_events = _target("target_events")
    target_person_times = _target("target_person_times")
    target_people = _target("target_people")
    target_service_hours = _target("target_service_hours")
    target_satisfaction = IntegerField(TARGET_LABELS["target_satisfaction"],
                                       validators=[InputRequired(), NumberRange(0, 100)])
    version = HiddenField()


class SignForm(FlaskForm):
    signed_on = DateField(_l("Signed on"), validators=[DataRequired()])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])


class AmendmentForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the amendment"), validators=[DataRequired(), Length(max=4000)])
    amended_on = DateField(_l("Amendment date"), validators=[DataRequired()])
    amount = MoneyField(_l("New contract amount (yuan)"), validators=[Optional()])
    end_date = DateField(_l("New end date"), validators=[Optional()])
    service_content = TextAreaField(_l("New service content"), validators=[Optional(), Length(max=20000)])
    target_cases = IntegerField(TARGET_LABELS["target_cases"], validators=[Optional(), NumberRange(0)])
    target_groups = IntegerField(TARGET_LABELS["target_groups"], validators=[Optional(), NumberRange(0)])
    target_group_sessions = IntegerField(TARGET_LABELS["target_group_sessions"], validators=[Optional(), NumberRange(0)])
    target_events = IntegerField(TARGET_LABELS["target_events"], validators=[Optional(), NumberRange(0)])
    target_person_times = IntegerField(TARGET_LABELS["target_person_times"], validators=[Optional(), NumberRange(0)])
    target_people = IntegerField(TARGET_LABELS["target_people"], validators=[Optional(), NumberRange(0)])
    target_service_hours = IntegerField(TARGET_LABELS["target_service_hours"], validators=[Optional(), NumberRange(0)])
    target_satisfaction = IntegerField(TARGET_LABELS["target_satisfaction"], validators=[Optional(), NumberRange(0, 100)])
    version = HiddenField()


class DeliverableForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[(k.value, v) for k, v in DELIVERABLE_KIND_LABELS.items()],
                       validators=[DataRequired()])
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=200)])
    files = MultipleFileField(_l("Files (PDF, Word, Excel, PNG or JPEG)"))


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("accept", _l("Accept")), ("return", _l("Return with comments"))],
                           validators=[DataRequired()])
    comment = TextAreaField(_l("Comments"), validators=[Optional(), Length(max=4000)])


class PaymentForm(FlaskForm):
    amount = MoneyField(_l("Amount (yuan)"), validators=[DataRequired()])
    voucher_number = StringField(_l("Voucher number"), validators=[DataRequired(), Length(max=60)])
    paid_on = DateField(_l("Paid on"), validators=[DataRequired()])


class EmptyForm(FlaskForm):
    """Carries only the CSRF token."""


class BondForm(FlaskForm):
    amount = MoneyField(_l("Performance bond (yuan)"), validators=[DataRequired()])
    form = SelectField(_l("Paid by"), choices=[("transfer", _l("Bank transfer")),
                                               ("guarantee_letter", _l("Guarantee letter"))],
                       validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])


class BondReturnForm(FlaskForm):
    returned_on = DateField(_l("Returned on"), validators=[DataRequired()])
