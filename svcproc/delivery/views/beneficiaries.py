"""The beneficiary register, and the participant picker of the activity form."""
from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import abort, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, load_only, raiseload

from ...contracts.models import Contract
from ...core import exports, flow, search
from ...core.errors import DomainError, ValidationError
from ...core.permissions import require
from ...core.web import is_htmx, paginate
from ...extensions import db
from ...registry.models import Area, Organization
from .. import labels, privacy, services
from .. import permissions as perms
from ..forms import BeneficiaryForm, EmptyForm
from ..models import Beneficiary, BeneficiaryView, PersonStatus, ServiceActivity, ViewKind, activity_participant
from . import bp
from .common import communities, contract_with_own_worker_or_404


def _beneficiary(beneficiary_id: int, *options) -> Beneficiary:
    person = db.get_or_404(Beneficiary, beneficiary_id, options=list(options) or None)
    require(perms.can_view_beneficiary(current_user, person))
    return person


# What the person's page shows beside the record: the organization's name and the community's path
# (community, street, district), joined in the statement that reads the person.
_PAGE_LOADS = (joinedload(Beneficiary.organization),
               joinedload(Beneficiary.community).joinedload(Area.parent).joinedload(Area.parent))


@functools.cache
def _person_page() -> sa.Select:
    """The person with how many other registers hold them (made once, as the statements below)."""
    return (sa.select(Beneficiary, services.elsewhere_count()).where(Beneficiary.id == sa.bindparam("person"))
            .options(*_PAGE_LOADS))


@functools.cache
def _person_history() -> sa.Select:
    A = ServiceActivity
    return (sa.select(A.id, A.activity_date, A.type, Contract.title)
            .join(activity_participant, activity_participant.c.activity_id == A.id)
            .join(Contract, Contract.id == A.contract_id)
            .where(activity_participant.c.beneficiary_id == sa.bindparam("person"))
            .order_by(A.activity_date.desc(), A.id.desc()).limit(50))


def _registered() -> tuple[sa.Select, str, str, str]:
    """The people the register lists with the request's filters (the page and its export)."""
    q = request.args.get("q", "").strip()
    category = request.args.get("category", "")
    community = request.args.get("community", "")
    stmt = perms.visible_beneficiaries(current_user)
    if q:
        stmt = stmt.where(search.contains(Beneficiary.name, q))
    if category in labels.CATEGORY_LABELS:
        # JSON arrays differ between databases; a text match on the stored list works on both.
        stmt = stmt.where(sa.cast(Beneficiary.categories, sa.String).like(f'%"{category}"%'))
    if community.isdigit():
        stmt = stmt.where(Beneficiary.community_id == int(community))
    return stmt, q, category, community


@bp.route("/beneficiaries")
@login_required
def beneficiaries():
    require(perms.can_list_beneficiaries(current_user))
    stmt, q, category, community = _registered()
    # The columns the list shows, and of the community and organization their names: the rows a
    # search matches (hundreds in a large organization) are sorted before the page is cut, so
    # whole people (sealed numbers, consent) and whole organizations would be sorted with them.
    B = Beneficiary
    page = paginate(stmt.order_by(B.name, B.id), loads=(
        load_only(B.id, B.organization_id, B.name, B.gender, B.birth_year, B.community_id, B.categories,
                  B.id_number_masked, B.phone_masked, B.status),
        joinedload(B.community).load_only(Area.id, Area.name),
        joinedload(B.organization).load_only(Organization.id, Organization.name)), counted_with_rows=bool(q))
    template = "delivery/_beneficiary_table.html" if is_htmx() else "delivery/beneficiaries.html"
    return render_template(template, page=page, q=q, category=category, community=community,
                           community_options=[(str(c.id), c.name) for c in communities()])


@bp.route("/beneficiaries/export.<any(csv, xlsx):fmt>")
@login_required
def beneficiaries_export(fmt: str):
    """The register as listed, in one streamed statement. Identity numbers and phones only in their
    masked form (the sealed columns are never read here): a full number is revealed one person at a
    time, audited, and never leaves in a file."""
    require(perms.can_list_beneficiaries(current_user))
    listed, _q, _category, _community = _registered()
    B = Beneficiary
    stmt = exports.bounded(
        sa.select(B.name, B.gender, B.birth_year, Area.name, B.categories, B.id_number_masked, B.phone_masked,
                  B.consent_by, B.consent_on, Organization.name)
        .select_from(B).join(Area, Area.id == B.community_id).join(Organization, Organization.id == B.organization_id)
        .where(exports.rows_of(listed)).order_by(B.name, B.id))

    def rows():
        for name, gender, born, community, categories, number, phone, consent_by, consent_on, organization in \
                db.session.execute(stmt):
            yield [name, labels.GENDER_LABELS[gender], born, community,
                   "、".join(str(labels.CATEGORY_LABELS.get(c, c)) for c in categories or []), number, phone,
                   labels.CONSENT_BY_LABELS[consent_by], consent_on, organization]

    return exports.export_response(
        fmt, exports.stamped(_("Beneficiaries")),
        [_("Name"), _("Gender"), _("Birth year"), _("Community"), _("Categories"), _("Identity number (masked)"),
         _("Phone (masked)"), _("Consent given by"), _("Consent date"), _("Organization")], rows(),
        title=_("Beneficiaries"))


def _beneficiary_values(form: BeneficiaryForm) -> dict:
    community = db.session.get(Area, int(form.community_id.data)) if str(form.community_id.data).isdigit() else None
    return dict(name=form.name.data, gender=form.gender.data, id_number=form.id_number.data or "",
                birth_year=form.birth_year.data, community=community, categories=form.categories.data or [],
                phone=form.phone.data or "", consent_by=form.consent_by.data, guardian_name=form.guardian_name.data,
                consent_method=form.consent_method.data, consent_on=form.consent_on.data,
                sensitive_consent=form.sensitive_consent.data,
                sensitive_consent_purpose=form.sensitive_consent_purpose.data or "",
                sensitive_consent_on=form.sensitive_consent_on.data)


@bp.route("/beneficiaries/new", methods=["GET", "POST"])
@login_required
def beneficiary_new():
    require(perms.can_edit_beneficiary(current_user, current_user.organization_id))
    form = BeneficiaryForm()
    form.fill_choices(communities())
    if request.method == "GET":
        form.consent_on.data = services.today()

    def save():
        person = services.create_beneficiary(current_user, current_user.organization_id, **_beneficiary_values(form))
        flash(_("%(n)s added to the register.", n=person.name), "success")
        return url_for("delivery.beneficiary", beneficiary_id=person.id)

    def page(**extra):
        return render_template("delivery/beneficiary_form.html", form=form, person=None, **extra)

    return flow.submit(form, save, page, field="name")


@bp.route("/beneficiaries/<int:beneficiary_id>")
@login_required
def beneficiary(beneficiary_id: int):
    # The person with how many other registers hold them, in one statement.
    row = db.session.execute(_person_page(), {"person": beneficiary_id}).one_or_none()
    if row is None:
        abort(404)
    person, elsewhere = row
    require(perms.can_view_beneficiary(current_user, person))
    privacy.log_view(current_user, person, ViewKind.VIEWED)
    # The person's newest entries as the page lists them (date, kind, the contract's title), from the
    # participant index: not whole entries, each joined to its whole contract.
    history = db.session.execute(_person_history(), {"person": person.id}).all()
    views = paginate(privacy.view_log(person).options(joinedload(BeneficiaryView.user))) \
        if perms.can_view_person_log(current_user, person) else None
    return render_template("delivery/beneficiary.html", person=person, history=history, views=views,
                           elsewhere=elsewhere, action_form=EmptyForm())


@bp.route("/beneficiaries/<int:beneficiary_id>/edit", methods=["GET", "POST"])
@login_required
def beneficiary_edit(beneficiary_id: int):
    person = _beneficiary(beneficiary_id)
    require(perms.can_edit_beneficiary(current_user, person.organization_id))
    privacy.refuse_withdrawn_edit(person)
    form = BeneficiaryForm(obj=person) if request.method == "GET" else BeneficiaryForm()
    form.fill_choices(communities())
    if request.method == "GET":
        form.gender.data, form.consent_by.data = person.gender.value, person.consent_by.value
        form.consent_method.data, form.community_id.data = person.consent_method.value, str(person.community_id)
        form.id_number.data = ""  # never sent back to the browser; leave empty to keep it
        form.phone.data = ""
        # The separate consent on the record is shown beside the form, never ticked in it.
        form.sensitive_consent.data, form.sensitive_consent_on.data = False, None
        form.sensitive_consent_purpose.data = ""
        privacy.log_view(current_user, person, ViewKind.VIEWED)

    def save():
        services.update_beneficiary(current_user, person, **_beneficiary_values(form))
        flash(_("%(n)s saved.", n=person.name), "success")
        return url_for("delivery.beneficiary", beneficiary_id=person.id)

    def page(**extra):
        return render_template("delivery/beneficiary_form.html", form=form, person=person, **extra)

    return flow.submit(form, save, page, field="name", obj=person)


@bp.route("/beneficiaries/<int:beneficiary_id>/reveal", methods=["POST"])
@login_required
def beneficiary_reveal(beneficiary_id: int):
    person = _beneficiary(beneficiary_id)
    require(perms.can_reveal_identity(current_user, person))
    number, phone = services.reveal_identity(current_user, person)
    return render_template("delivery/_revealed.html", person=person, number=number, phone=phone), 200, {
        "Cache-Control": "no-store"}


@bp.route("/contracts/<int:contract_id>/people")
@login_required
def participant_search(contract_id: int):
    """The participant picker: people of the contract's organization whose name matches."""
    contract = contract_with_own_worker_or_404(contract_id)
    require(perms.can_record_activity(current_user, contract))
    q = request.args.get("q", "").strip()
    people = []
    if q:
        people = db.session.execute(
            perms.visible_beneficiaries(current_user).where(Beneficiary.organization_id == contract.organization_id,
                                                            Beneficiary.status == PersonStatus.ACTIVE,
                                                            search.contains(Beneficiary.name, q))
            .order_by(Beneficiary.name, Beneficiary.id).limit(12)
            # What a result shows: every match is sorted before the twelve are cut, so the sealed
            # numbers would be sorted with them. The community's name comes from the kept choices,
            # not joined to every match (590 people of one surname, each compared with every area).
            .options(load_only(Beneficiary.id, Beneficiary.name, Beneficiary.birth_year, Beneficiary.community_id,
                               Beneficiary.id_number_masked), raiseload(Beneficiary.community))
        ).scalars().all()
    return render_template("delivery/_people_results.html", people=people, q=q, contract=contract,
                           community_names=dict(communities()) if people else {})


@bp.route("/contracts/<int:contract_id>/people/<int:beneficiary_id>/chip")
@login_required
def participant_chip(contract_id: int, beneficiary_id: int):
    contract = contract_with_own_worker_or_404(contract_id)
    require(perms.can_record_activity(current_user, contract))
    person = db.get_or_404(Beneficiary, beneficiary_id)
    if person.organization_id != contract.organization_id:
        abort(404)
    return render_template("delivery/_person_chip.html", person=person)


@bp.route("/contracts/<int:contract_id>/people/quick", methods=["GET"])
@login_required
def participant_quick_form(contract_id: int):
    """The activity form's fields to add someone new to the register, fetched when its panel opens."""
    contract = contract_with_own_worker_or_404(contract_id)
    require(perms.can_record_activity(current_user, contract))
    quick = BeneficiaryForm(prefix="new", formdata=None)
    quick.fill_choices(communities())
    quick.consent_on.data = services.today()
    return render_template("delivery/_quick_add_fields.html", quick=quick, contract=contract)


@bp.route("/contracts/<int:contract_id>/people/quick", methods=["POST"])
@login_required
def participant_quick_add(contract_id: int):
    """Add someone new to the register from the activity form, and pick them at once."""
    contract = contract_with_own_worker_or_404(contract_id)
    require(perms.can_record_activity(current_user, contract))
    form = BeneficiaryForm(prefix="new")
    form.fill_choices(communities())
    refused: list[str] = []

    def save():
        person = services.create_beneficiary(current_user, contract.organization_id, **_beneficiary_values(form))
        return make_response(render_template("delivery/_person_chip.html", person=person, added=True))

    def refusal(exc: DomainError) -> bool:
        refused.append(exc.message)
        return True

    def input_errors() -> str:
        return " ".join(f"{getattr(form, k).label.text}: {' '.join(v)}" for k, v in form.errors.items())

    def page(**extra):
        # The small form sits inside the activity form: its refusal goes to its own message line.
        response = make_response(render_template("delivery/_quick_add_error.html",
                                                 error=" ".join(refused) or input_errors()))
        response.headers.update({"HX-Retarget": "#quick-add-error", "HX-Reswap": "innerHTML"})
        return response

    if not is_htmx():
        # Sent without htmx (the whole activity form posted here): a refusal is answered on the
        # activity form it came from, with what was typed (core/flow.py answer_on_source_page).
        if not form.validate_on_submit():
            raise ValidationError(input_errors(), "name")
        return save()
    return flow.submit(form, save, page, field="name", on_error=refusal)
