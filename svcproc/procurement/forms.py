"""Input shapes for needs, plans, tenders, bids, scoring and objections."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (BooleanField, DateField, DateTimeLocalField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput

from ..core.formatting import parse_money
from ..core.widgets import CheckboxListWidget
from ..registry.forms import PHONE, RATING_LABELS
from .labels import CATEGORY_LABELS, METHOD_LABELS, TARGET_LABELS


def _choices(labels: dict) -> list[tuple[str, str]]:
    return [(key.value, str(label)) for key, label in labels.items()]


class MoneyField(StringField):
    """Yuan as typed (with or without separators), held as integer fen in .fen."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.fen = parse_money(self.data)

    def pre_validate(self, form):
        if self.data and parse_money(self.data) is None:
            # WTForms 3 reports only its own ValidationError; a plain ValueError would be a 500.
            raise ValidationError(str(_l("Enter an amount in yuan, e.g. 480000 or 480,000.00.")))


class CheckboxList(SelectMultipleField):
    """Boxes to tick. A value that is not among them (a page left open while the choices changed,
    or a tampered request) is refused with `invalid_message`, in the reader's language."""
    widget = CheckboxListWidget()
    option_widget = CheckboxInput()

    def __init__(self, *args, invalid_message=None, **kwargs):
        super().__init__(*args, **kwargs)
        # `values`: those refused, as sent. Kept lazy (not tested for truth, which would translate it
        # at every form's making): translated only when a value is refused.
        self.invalid_message = invalid_message if invalid_message is not None else _l(
            "Choose only among the options listed (%(values)s is not among them).")

    def pre_validate(self, form):
        if not self.validate_choice:
            return
        if self.choices is None:
            raise TypeError("a checkbox list needs its choices")
        offered = {value for value, *_rest in self.choices}
        refused = [str(value) for value in self.data or () if value not in offered]
        if refused:
            raise ValidationError(str(self.invalid_message) % {"values": "、".join(refused)})


class NeedForm(FlaskForm):
    community_id = SelectField(_l("Community"), validators=[DataRequired()])
    category = SelectField(_l("Kind of need"), validators=[DataRequired()])
    description = TextAreaField(_l("What is needed"), validators=[DataRequired(), Length(min=10, max=4000)])
    contact_name = StringField(_l("Your name (optional)"), validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=40), PHONE])

    def fill_choices(self, communities) -> None:
        self.community_id.choices = [("", "—")] + [(str(c.id), c.path) for c in communities]
        self.category.choices = _choices(CATEGORY_LABELS)


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])


class MergeForm(FlaskForm):
    into = StringField(_l("Receipt code of the need it duplicates"),
                       validators=[DataRequired(), Length(max=16)])


class PlanForm(FlaskForm):
    fiscal_year = IntegerField(_l("Fiscal year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    category = SelectField(_l("Service category"), validators=[DataRequired()])
    budget = MoneyField(_l("Budget (yuan)"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=8000)])
    communities = CheckboxList(_l("Communities served"), coerce=int, validators=[Optional()])
    needs = CheckboxList(_l("Needs this plan answers"), coerce=int, validators=[Optional()])
    target_cases = IntegerField(TARGET_LABELS["target_cases"], default=0, validators=[InputRequired(), NumberRange(0)])
    target_groups = IntegerField(TARGET_LABELS["target_groups"], default=0, validators=[InputRequired(), NumberRange(0)])
    target_group_sessions = IntegerField(TARGET_LABELS["target_group_sessions"], default=0,
                                         validators=[InputRequired(), NumberRange(0)])
    target_events = IntegerField(TARGET_LABELS["target_events"], default=0, validators=[InputRequired(), NumberRange(0)])
    target_person_times = IntegerField(TARGET_LABELS["target_person_times"], default=0,
                                       validators=[InputRequired(), NumberRange(0)])
    target_people = IntegerField(TARGET_LABELS["target_people"], default=0, validators=[InputRequired(), NumberRange(0)])
    target_service_hours = IntegerField(TARGET_LABELS["target_service_hours"], default=0,
                                        validators=[InputRequired(), NumberRange(0)])
    target_satisfaction = IntegerField(TARGET_LABELS["target_satisfaction"], default=90,
                                       validators=[InputRequired(), NumberRange(0, 100)])
    version = StringField(render_kw={"type": "hidden"})

    def fill_choices(self, communities, needs) -> None:
        self.category.choices = _choices(CATEGORY_LABELS)
        self.communities.choices = [(c.id, c.name) for c in communities]
        self.needs.choices = [(n.id, f"{n.receipt_code} · {n.community.name} · {n.description[:40]}") for n in needs]


class TenderForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    method = SelectField(_l("Procurement method"), validators=[DataRequired()])
    ceiling = MoneyField(_l("Ceiling price (yuan)"), validators=[DataRequired()])
    min_rating = SelectField(_l("Minimum rating of bidders"), validators=[DataRequired()])
    price_weight = StringField(_l("Price weight (points)"), validators=[DataRequired(), Length(max=8),
                               Regexp(r"^\d+(\.\d{1,2})?$", message=_l("Enter points, e.g. 20 or 12.5."))])
    description = TextAreaField(_l("Service requirements"), validators=[Optional(), Length(max=20000)])
    clarification_deadline = DateTimeLocalField(_l("Questions until"), format="%Y-%m-%dT%H:%M",
                                                validators=[DataRequired()])
    bid_deadline = DateTimeLocalField(_l("Bid deadline"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    opening_at = DateTimeLocalField(_l("Opening"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    publicity_days = IntegerField(_l("Publicity period (working days)"), default=7,
                                  validators=[InputRequired(), NumberRange(1, 30)])
    deposit = MoneyField(_l("Bid deposit (yuan, empty: none)"), validators=[Optional()])
    sme_deduction_percent = IntegerField(_l("Price deduction for small and micro enterprises (%)"), default=10,
                                         validators=[InputRequired()])
    version = StringField(render_kw={"type": "hidden"})

    def fill_choices(self) -> None:
        self.method.choices = _choices(METHOD_LABELS)
        self.min_rating.choices = _choices(RATING_LABELS)


class DocumentForm(FlaskForm):
    title = StringField(_l("Document title"), validators=[Optional(), Length(max=200)])
    file = MultipleFileField(_l("File (PDF, Word or Excel)"))


class AssignExpertForm(FlaskForm):
    count = IntegerField(_l("Experts to draw"), validators=[InputRequired(), NumberRange(1, 25)])


class QuestionForm(FlaskForm):
    question = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(min=5, max=4000)])


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=8000)])


class BidForm(FlaskForm):
    price = MoneyField(_l("Bid price (yuan)"), validators=[DataRequired()])
    declaration_accepted = BooleanField(_l("I declare that this bid is true and complete, that the organization "
                                           "meets the eligibility conditions, and that it has not colluded with "
                                           "other bidders."))
    documents = MultipleFileField(_l("Bid documents (PDF, Word, Excel or images)"))


class DeclarationForm(FlaskForm):
    related = CheckboxList(_l("Bidders I am related to (employment in the last 3 years, family, financial "
                              "interest, or any other tie that could bias my scoring)"), coerce=int,
                           validators=[Optional()])
    note = TextAreaField(_l("Details (optional)"), validators=[Optional(), Length(max=2000)])
    confirm = BooleanField(_l("I confirm this declaration is complete and true."), validators=[DataRequired()])


class ObjectionForm(FlaskForm):
    subject = SelectField(_l("Objection to"), validators=[DataRequired()])
    reasons = TextAreaField(_l("Reasons for the objection"), validators=[DataRequired(), Length(min=10, max=8000)])
    files = MultipleFileField(_l("Supporting files (optional)"))

    def fill_choices(self, subjects) -> None:
        """Only the subjects the person may object to now."""
        from .labels import OBJECTION_SUBJECT_LABELS

        self.subject.choices = [(s.value, OBJECTION_SUBJECT_LABELS[s]) for s in subjects]


class ComplaintForm(FlaskForm):
    reasons = TextAreaField(_l("Reasons for the complaint"), validators=[DataRequired(), Length(min=10, max=8000)])
    files = MultipleFileField(_l("Supporting files (optional)"))


class ComplaintOutcomeForm(FlaskForm):
    decision = SelectField(_l("The finance department's decision"),
                           choices=[("dismissed", _l("Complaint dismissed")), ("upheld", _l("Complaint upheld"))],
                           validators=[DataRequired()])
    text = TextAreaField(_l("Text of the decision"), validators=[DataRequired(), Length(max=8000)])
    decided_on = DateField(_l("Date of the decision"), validators=[DataRequired()])


class AmendedDocumentForm(FlaskForm):
    title = StringField(_l("Title of the amended document"), validators=[Optional(), Length(max=200)])


class ObjectionAnswerForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("dismissed", _l("Dismiss the objection")),
                                                    ("upheld", _l("Uphold the objection"))],
                           validators=[DataRequired()])
    answer = TextAreaField(_l("Answer to the bidder"), validators=[DataRequired(), Length(max=8000)])


class EmptyForm(FlaskForm):
    """Carries only the CSRF token."""


class ExpertCategoriesForm(FlaskForm):
    categories = CheckboxList(_l("Service categories this expert evaluates"), validators=[Optional()])

    def fill_choices(self) -> None:
        self.categories.choices = _choices(CATEGORY_LABELS)


class ExpertTieForm(FlaskForm):
    organization = SelectField(_l("Organization"), validators=[DataRequired()])
    kind = SelectField(_l("Tie"), validators=[DataRequired()])
    note = StringField(_l("Details (e.g. when the employment ended)"), validators=[Optional(), Length(max=500)])

    def fill_choices(self, organizations) -> None:
        from .labels import AFFILIATION_LABELS

        self.organization.choices = [("", "—")] + [(str(o.id), o.name) for o in organizations]
        self.kind.choices = _choices(AFFILIATION_LABELS)


GUARANTEE_FORM_LABELS = {"transfer": _l("Bank transfer"), "guarantee_letter": _l("Guarantee letter")}


class DepositRecordForm(FlaskForm):
    amount = MoneyField(_l("Amount received (yuan)"), validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    form = SelectField(_l("Paid by"), choices=list(GUARANTEE_FORM_LABELS.items()), validators=[DataRequired()])


class ReturnForm(FlaskForm):
    returned_on = DateField(_l("Returned on"), validators=[DataRequired()])


class LowPriceExplanationForm(FlaskForm):
    explanation = TextAreaField(_l("Written explanation of the price"),
                                validators=[DataRequired(), Length(min=10, max=8000)])
    file = FileField(_l("Supporting document (optional)"))
