"""Pages for the beneficiary register, service logs, ledger imports, progress and red flags."""
from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import Blueprint, Response, abort, flash, make_response, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_babel import lazy_gettext as _nl

from ..contracts.models import Contract
from ..contracts.permissions import can_view_contract
from ..core import nav
from ..core import charts, files, jobs, search
from ..core.errors import StaleObject, ValidationError, check_version
from ..core.permissions import has_permission, require
from ..core.web import field_error, is_htmx, is_local_url, paginate, redirect_to, send_stored
from ..extensions import db
from ..registry.models import Area, AreaLevel, SocialWorker
from ..procurement.labels import TARGET_LABELS
from . import labels, ledger, services
from . import progress as progress_module
from . import permissions as perms
from .flags import explain_flag
from .forms import ActivityForm, BeneficiaryForm, DeleteActivityForm, EmptyForm, ExplainForm, GroupForm, ImportForm, WorkersForm
from .models import (ActivityEvidence, Beneficiary, ImportBatch, ImportStatus, RedFlag, RedFlagKind, ServiceActivity,
                     ServiceGroup)

bp = Blueprint("delivery", __name__)
nav.menu("delivery.beneficiaries", _nl("Beneficiaries"), order=30, visible=perms.can_list_beneficiaries)
nav.menu("delivery.red_flags", _nl("Red flags"), order=31, visible=perms.can_view_red_flags)
nav.predicates(perms)

# A contract's service log is paged through to its end (a few thousand entries at most, read
# through the contract's index); the district-wide lists stop at the usual cap.
ENTRIES_CAP = 20_000
# Files larger than this are checked and imported in the background with a progress bar.
INLINE_IMPORT_BYTES = 256 * 1024


@bp.app_context_processor
def _labels():
    return {"activity_type_labels": labels.ACTIVITY_TYPE_LABELS, "gender_labels": labels.GENDER_LABELS,
            "beneficiary_category_labels": labels.CATEGORY_LABELS, "consent_by_labels": labels.CONSENT_BY_LABELS,
            "consent_method_labels": labels.CONSENT_METHOD_LABELS, "import_status_labels": labels.IMPORT_STATUS_LABELS,
            "red_flag_labels": labels.RED_FLAG_LABELS}


@bp.app_template_filter("category_label")
def _category_label(code: str) -> str:
    return str(labels.CATEGORY_LABELS.get(code, code))


def _communities():
    """(id, name) of every community, for the forms' and filters' choices: once per request, and as
    plain rows (a page has two lists of them; nothing else of an area is needed)."""
    from flask import g

    if "communities" not in g:
        g.communities = db.session.execute(sa.select(Area.id, Area.name).where(Area.level == AreaLevel.COMMUNITY)
                                           .order_by(Area.code)).all()
    return g.communities


def _contract(contract_id: int) -> Contract:
    contract = db.get_or_404(Contract, contract_id)
    require(can_view_contract(current_user, contract))
    return contract


# --- beneficiaries ----------------------------------------------------------------------------


def _scoped_people(stmt: sa.Select) -> sa.Select:
    """Bureau staff and auditors see every register; an organization's staff only their own."""
    if has_permission(current_user, "procurement.read"):
        return stmt
    return stmt.where(Beneficiary.organization_id == current_user.organization_id)


def _beneficiary(beneficiary_id: int) -> Beneficiary:
    person = db.get_or_404(Beneficiary, beneficiary_id)
    require(perms.can_view_beneficiaries(current_user, person.organization_id))
    return person


@bp.route("/beneficiaries")
@login_required
def beneficiaries():
    require(perms.can_list_beneficiaries(current_user))
    q = request.args.get("q", "").strip()
    category = request.args.get("category", "")
    community = request.args.get("community", "")
    stmt = _scoped_people(sa.select(Beneficiary).order_by(Beneficiary.name, Beneficiary.id)
                          .options(joinedload(Beneficiary.community), joinedload(Beneficiary.organization)))
    if q:
        stmt = stmt.where(search.contains(Beneficiary.name, q))
    if category in labels.CATEGORY_LABELS:
        # JSON arrays differ between databases; a text match on the stored list works on both.
        stmt = stmt.where(sa.cast(Beneficiary.categories, sa.String).like(f'%"{category}"%'))
    if community.isdigit():
        stmt = stmt.where(Beneficiary.community_id == int(community))
    page = paginate(stmt)
    template = "delivery/_beneficiary_table.html" if is_htmx() else "delivery/beneficiaries.html"
    return render_template(template, page=page, q=q, category=category, community=community,
                           community_options=[(str(c.id), c.name) for c in _communities()])


def _beneficiary_values(form: BeneficiaryForm) -> dict:
    community = db.session.get(Area, int(form.community_id.data)) if str(form.community_id.data).isdigit() else None
    return dict(name=form.name.data, gender=form.gender.data, id_number=form.id_number.data or "",
                birth_year=form.birth_year.data, community=community, categories=form.categories.data or [],
                phone=form.phone.data or "", consent_by=form.consent_by.data, guardian_name=form.guardian_name.data,
                consent_method=form.consent_method.data, consent_on=form.consent_on.data)


@bp.route("/beneficiaries/new", methods=["GET", "POST"])
@login_required
def beneficiary_new():
    require(perms.can_edit_beneficiary(current_user, current_user.organization_id))
    form = BeneficiaryForm()
    form.fill_choices(_communities())
    if request.method == "GET":
        form.consent_on.data = services.today()
    if form.validate_on_submit():
        try:
            person = services.create_beneficiary(current_user, current_user.organization_id, **_beneficiary_values(form))
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "name")
        else:
            db.session.commit()
            flash(_("%(n)s added to the register.", n=person.name), "success")
            return redirect_to(url_for("delivery.beneficiary", beneficiary_id=person.id))
    status = 422 if request.method == "POST" else 200
    return render_template("delivery/beneficiary_form.html", form=form, person=None), status


@bp.route("/beneficiaries/<int:beneficiary_id>")
@login_required
def beneficiary(beneficiary_id: int):
    person = _beneficiary(beneficiary_id)
    history = db.session.execute(
        sa.select(ServiceActivity).join(ServiceActivity.participants).where(Beneficiary.id == person.id)
        .order_by(ServiceActivity.activity_date.desc()).limit(50)).unique().scalars().all()
    return render_template("delivery/beneficiary.html", person=person, history=history,
                           elsewhere=services.same_person_elsewhere(person), action_form=EmptyForm())


@bp.route("/beneficiaries/<int:beneficiary_id>/edit", methods=["GET", "POST"])
@login_required
def beneficiary_edit(beneficiary_id: int):
    person = _beneficiary(beneficiary_id)
    require(perms.can_edit_beneficiary(current_user, person.organization_id))
    form = BeneficiaryForm(obj=person) if request.method == "GET" else BeneficiaryForm()
    form.fill_choices(_communities())
    if request.method == "GET":
        form.gender.data, form.consent_by.data = person.gender.value, person.consent_by.value
        form.consent_method.data, form.community_id.data = person.consent_method.value, str(person.community_id)
        form.id_number.data = ""  # never sent back to the browser; leave empty to keep it
        form.phone.data = ""
        form.version.data = str(person.version)
    if form.validate_on_submit():
        try:
            check_version(person, form.version.data)
            services.update_beneficiary(current_user, person, **_beneficiary_values(form))
        except StaleObject as exc:
            db.session.rollback()
            # Keep what the person typed; a second save, made knowingly, replaces the newer version.
            form.version.data = str(person.version)
            return render_template("delivery/beneficiary_form.html", form=form, person=person, stale=exc.message), 409
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "name")
        else:
            db.session.commit()
            flash(_("%(n)s saved.", n=person.name), "success")
            return redirect_to(url_for("delivery.beneficiary", beneficiary_id=person.id))
    status = 422 if request.method == "POST" else 200
    return render_template("delivery/beneficiary_form.html", form=form, person=person), status


@bp.route("/beneficiaries/<int:beneficiary_id>/reveal", methods=["POST"])
@login_required
def beneficiary_reveal(beneficiary_id: int):
    person = _beneficiary(beneficiary_id)
    require(perms.can_reveal_identity(current_user, person))
    if not EmptyForm().validate_on_submit():
        abort(400)
    number, phone = services.reveal_identity(current_user, person)
    db.session.commit()
    return render_template("delivery/_revealed.html", person=person, number=number, phone=phone), 200, {
        "Cache-Control": "no-store"}


@bp.route("/contracts/<int:contract_id>/people")
@login_required
def participant_search(contract_id: int):
    """The participant picker: people of the contract's organization whose name matches."""
    contract = _contract(contract_id)
    require(perms.can_record_activity(current_user, contract))
    q = request.args.get("q", "").strip()
    people = []
    if q:
        people = db.session.execute(
            sa.select(Beneficiary).where(Beneficiary.organization_id == contract.organization_id,
                                         search.contains(Beneficiary.name, q))
            .order_by(Beneficiary.name, Beneficiary.id).limit(12).options(joinedload(Beneficiary.community))
        ).scalars().all()
    return render_template("delivery/_people_results.html", people=people, q=q, contract=contract)


@bp.route("/contracts/<int:contract_id>/people/<int:beneficiary_id>/chip")
@login_required
def participant_chip(contract_id: int, beneficiary_id: int):
    contract = _contract(contract_id)
    require(perms.can_record_activity(current_user, contract))
    person = db.get_or_404(Beneficiary, beneficiary_id)
    if person.organization_id != contract.organization_id:
        abort(404)
    return render_template("delivery/_person_chip.html", person=person)


@bp.route("/contracts/<int:contract_id>/people/quick", methods=["POST"])
@login_required
def participant_quick_add(contract_id: int):
    """Add someone new to the register from the activity form, and pick them at once."""
    contract = _contract(contract_id)
    require(perms.can_record_activity(current_user, contract))
    form = BeneficiaryForm(prefix="new")
    form.fill_choices(_communities())
    error = None
    if form.validate_on_submit():
        try:
            person = services.create_beneficiary(current_user, contract.organization_id, **_beneficiary_values(form))
        except ValidationError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            return render_template("delivery/_person_chip.html", person=person, added=True)
    else:
        error = " ".join(f"{getattr(form, k).label.text}: {' '.join(v)}" for k, v in form.errors.items())
    response = render_template("delivery/_quick_add_error.html", error=error)
    return response, 422, {"HX-Retarget": "#quick-add-error", "HX-Reswap": "innerHTML"}


# --- activities -------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/services")
@login_required
def activities(contract_id: int):
    contract = _contract(contract_id)
    type_ = request.args.get("type", "")
    month = request.args.get("month", "")
    stmt = sa.select(ServiceActivity).where(ServiceActivity.contract_id == contract.id).order_by(
        ServiceActivity.activity_date.desc(), ServiceActivity.start_time.desc(), ServiceActivity.id.desc()).options(
        joinedload(ServiceActivity.community), joinedload(ServiceActivity.group))
    if type_ in {t.value for t in labels.ACTIVITY_TYPE_LABELS}:
        stmt = stmt.where(ServiceActivity.type == type_)
    if len(month) == 7 and month[4] == "-":
        try:
            first = date.fromisoformat(month + "-01")
        except ValueError:
            first = None
        if first:
            last = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
            stmt = stmt.where(ServiceActivity.activity_date >= first, ServiceActivity.activity_date < last)
    page = paginate(stmt, cap=ENTRIES_CAP)
    template = "delivery/_activity_table.html" if is_htmx() else "delivery/activities.html"
    return render_template(template, contract=contract, page=page, type=type_, month=month,
                           can_record=perms.can_record_activity(current_user, contract),
                           can_manage=perms.can_manage_delivery(current_user, contract))


def _activity_form(contract: Contract, obj=None) -> ActivityForm:
    form = ActivityForm(obj=obj) if obj is not None and request.method == "GET" else ActivityForm()
    groups = db.session.execute(sa.select(ServiceGroup).where(ServiceGroup.contract_id == contract.id)
                                .order_by(ServiceGroup.name)).unique().scalars().all()
    form.fill_choices(_communities(), contract.workers, groups)
    return form


def _activity_values(contract: Contract, form: ActivityForm) -> dict:
    ids = [int(i) for i in request.form.getlist("participants") if i.isdigit()]
    participants = db.session.execute(sa.select(Beneficiary).where(Beneficiary.id.in_(ids))).unique().scalars().all() if ids else []
    workers = [w for w in contract.workers if w.id in set(form.workers.data or [])]
    group = db.session.get(ServiceGroup, int(form.group_id.data)) if str(form.group_id.data or "").isdigit() else None
    if group is not None and group.contract_id != contract.id:
        group = None
    community = db.session.get(Area, int(form.community_id.data)) if str(form.community_id.data or "").isdigit() else None
    return dict(type=form.type.data, activity_date=form.activity_date.data, start_time=form.start_time.data,
                end_time=form.end_time.data, community=community, place=form.place.data, hours=form.hours.data,
                workers=workers, participants=participants, head_count=form.head_count.data or 0, group=group,
                session_number=form.session_number.data, topic=form.topic.data, outcome=form.outcome.data,
                notes=form.notes.data)


def _chosen_people(contract: Contract) -> list[Beneficiary]:
    """The participants posted back, as chips for the form again: only the contract's own register
    (an id typed into the request must not show another organization's person)."""
    ids = [int(i) for i in request.form.getlist("participants") if i.isdigit()]
    if not ids:
        return []
    return db.session.execute(sa.select(Beneficiary).where(
        Beneficiary.id.in_(ids), Beneficiary.organization_id == contract.organization_id)).unique().scalars().all()


def _local_or(default: str) -> str:
    """The form's `next` when it stays on this site, else the default."""
    target = request.form.get("next", "")
    return target if is_local_url(target) else default


@bp.route("/contracts/<int:contract_id>/services/new", methods=["GET", "POST"])
@login_required
def activity_new(contract_id: int):
    contract = _contract(contract_id)
    require(perms.can_record_activity(current_user, contract))
    form = _activity_form(contract)
    if request.method == "GET":
        form.activity_date.data = services.today()
        worker = perms.worker_record(current_user)
        if worker is not None:
            form.workers.data = [worker.id]
    if form.validate_on_submit():
        try:
            services.record_activity(current_user, contract, _activity_values(contract, form),
                                     request.files.getlist("evidence"))
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "type" if exc.field not in form else exc.field)
        else:
            db.session.commit()
            flash(_("Service recorded."), "success")
            if request.form.get("again"):
                return redirect_to(url_for("delivery.activity_new", contract_id=contract_id))
            return redirect_to(url_for("delivery.activities", contract_id=contract_id))
    status = 422 if request.method == "POST" else 200
    return render_template("delivery/activity_form.html", form=form, contract=contract, activity=None,
                           chosen=_chosen_people(contract) if request.method == "POST" else [],
                           quick=_quick_form()), status


def _quick_form() -> BeneficiaryForm:
    form = BeneficiaryForm(prefix="new", formdata=None)
    form.fill_choices(_communities())
    form.consent_on.data = services.today()
    return form


@bp.route("/services/<int:activity_id>")
@login_required
def activity(activity_id: int):
    item = db.get_or_404(ServiceActivity, activity_id)
    require(can_view_contract(current_user, item.contract))
    show_people = perms.can_view_beneficiaries(current_user, item.contract.organization_id)
    return render_template("delivery/activity.html", activity=item, show_people=show_people,
                           can_record=perms.can_record_activity(current_user, item.contract))


@bp.route("/services/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def activity_edit(activity_id: int):
    item = db.get_or_404(ServiceActivity, activity_id)
    contract = item.contract
    require(can_view_contract(current_user, contract) and perms.can_record_activity(current_user, contract))
    form = _activity_form(contract, item)
    if request.method == "GET":
        form.type.data, form.community_id.data = item.type.value, str(item.community_id)
        form.group_id.data = str(item.group_id or "")
        form.workers.data = [w.id for w in item.workers]
        form.hours.data = str(item.hours)
        form.version.data = str(item.version)
    if form.validate_on_submit():
        try:
            check_version(item, form.version.data)
            services.correct_activity(current_user, item, _activity_values(contract, form), form.reason.data)
        except StaleObject as exc:
            db.session.rollback()
            # Keep what the person typed; a second save, made knowingly, replaces the newer version.
            form.version.data = str(item.version)
            return render_template("delivery/activity_form.html", form=form, contract=contract, activity=item,
                                   chosen=_chosen_people(contract), quick=_quick_form(), stale=exc.message), 409
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "type" if exc.field not in form else exc.field)
        else:
            db.session.commit()
            flash(_("Entry corrected; the earlier version is kept in its history."), "success")
            return redirect_to(url_for("delivery.activity", activity_id=item.id))
    status = 422 if request.method == "POST" else 200
    chosen = list(item.participants) if request.method == "GET" else _chosen_people(contract)
    return render_template("delivery/activity_form.html", form=form, contract=contract, activity=item, chosen=chosen,
                           quick=_quick_form()), status


@bp.route("/services/<int:activity_id>/delete", methods=["GET", "POST"])
@login_required
def activity_delete(activity_id: int):
    """A pause before an entry goes: what it is, and why it is deleted."""
    item = db.get_or_404(ServiceActivity, activity_id)
    contract = item.contract
    require(can_view_contract(current_user, contract) and perms.can_record_activity(current_user, contract))
    form = DeleteActivityForm()
    if form.validate_on_submit():
        try:
            services.delete_activity(current_user, item, form.reason.data)
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "reason")
        else:
            db.session.commit()
            flash(_("Entry deleted; the audit trail keeps it as it was."), "success")
            return redirect_to(url_for("delivery.activities", contract_id=contract.id))
    status = 422 if request.method == "POST" else 200
    return render_template("delivery/activity_delete.html", form=form, activity=item, contract=contract), status


@bp.route("/services/<int:activity_id>/evidence/<int:evidence_id>")
@login_required
def evidence_download(activity_id: int, evidence_id: int):
    item = db.get_or_404(ServiceActivity, activity_id)
    require(can_view_contract(current_user, item.contract))
    evidence = db.get_or_404(ActivityEvidence, evidence_id)
    if evidence.activity_id != item.id:
        abort(404)
    return send_stored(evidence.file)


@bp.route("/contracts/<int:contract_id>/groups", methods=["POST"])
@login_required
def group_new(contract_id: int):
    contract = _contract(contract_id)
    require(perms.can_record_activity(current_user, contract))
    form = GroupForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Give the group a name and the planned number of sessions."), "name")
    services.create_group(current_user, contract, form.name.data, form.planned_sessions.data, [])
    db.session.commit()
    flash(_("Group %(n)s created.", n=form.name.data), "success")
    return redirect_to(_local_or(url_for("delivery.activity_new", contract_id=contract.id)))


@bp.route("/contracts/<int:contract_id>/workers", methods=["GET", "POST"])
@login_required
def contract_workers(contract_id: int):
    contract = _contract(contract_id)
    require(perms.can_manage_delivery(current_user, contract))
    form = WorkersForm()
    staff = db.session.execute(sa.select(SocialWorker).where(SocialWorker.organization_id == contract.organization_id,
                                                             SocialWorker.active.is_(True))
                               .order_by(SocialWorker.name)).unique().scalars().all()
    form.workers.choices = [(w.id, w.name) for w in staff]
    if request.method == "GET":
        form.workers.data = [w.id for w in contract.workers]
    if form.validate_on_submit():
        chosen = [w for w in staff if w.id in set(form.workers.data or [])]
        services.set_contract_workers(current_user, contract, chosen)
        db.session.commit()
        flash(_("Social workers on the contract saved."), "success")
        return redirect_to(url_for("delivery.activities", contract_id=contract.id))
    return render_template("delivery/workers.html", form=form, contract=contract)


# --- progress ---------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/progress")
@login_required
def contract_progress(contract_id: int):
    contract = _contract(contract_id)
    result = progress_module.kept(contract.id)
    db.session.commit()  # the figures are kept for the next reader (a cache, not a record: no audit)
    rows = result.against(contract)
    targets_chart = charts.progress_bars([charts.Bar(str(TARGET_LABELS[name]), actual, target)
                                          for name, actual, target in rows],
                                         _("Outputs against targets"))
    months = list(result.by_month)
    month_chart = charts.column_chart(months, {
        _("Person-times"): [result.by_month[m]["person_times"] for m in months],
        _("Service hours"): [float(result.by_month[m]["hours"]) for m in months]}, _("By month"))
    communities = list(result.by_community)
    community_chart = charts.column_chart(communities, {
        _("Person-times"): [result.by_community[c]["person_times"] for c in communities]}, _("By community"))
    return render_template("delivery/progress.html", contract=contract, result=result, rows=rows,
                           targets_chart=targets_chart, month_chart=month_chart, community_chart=community_chart)


# --- imports ----------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/imports", methods=["GET", "POST"])
@login_required
def imports(contract_id: int):
    contract = _contract(contract_id)
    require(perms.can_manage_delivery(current_user, contract))
    form = ImportForm()
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(_("Choose the ledger file."), "file")
        batch = ledger.create_batch(current_user, contract, upload)
        if batch.file.size <= INLINE_IMPORT_BYTES:
            ledger.run_check(current_user, batch)
            db.session.commit()
            return redirect_to(url_for("delivery.import_batch", batch_id=batch.id))
        job = jobs.create_job("ledger_check", {"batch_id": batch.id}, current_user)
        batch.job_id = job.id
        db.session.commit()
        jobs.dispatch(job)
        return redirect_to(url_for("delivery.import_batch", batch_id=batch.id))
    batches = db.session.execute(sa.select(ImportBatch).where(ImportBatch.contract_id == contract.id)
                                 .order_by(ImportBatch.id.desc()).limit(20)).unique().scalars().all()
    return render_template("delivery/imports.html", form=form, contract=contract, batches=batches,
                           columns=ledger.COLUMNS, type_words=ledger.TYPE_LIST)


@bp.route("/contracts/<int:contract_id>/imports/template.<kind>")
@login_required
def import_template(contract_id: int, kind: str):
    contract = _contract(contract_id)
    require(perms.can_manage_delivery(current_user, contract))
    if kind == "xlsx":
        return send_file(io.BytesIO(ledger.template_xlsx()), as_attachment=True, download_name="服务台账模板.xlsx",
                         mimetype=files.MIMETYPES["xlsx"])
    if kind == "csv":
        return Response(ledger.template_csv(), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename*=UTF-8''%E6%9C%8D%E5%8A%A1%E5%8F%B0%E8%B4%A6%E6%A8%A1%E6%9D%BF.csv"})
    abort(404)


def _batch(batch_id: int) -> ImportBatch:
    batch = db.get_or_404(ImportBatch, batch_id)
    contract = _contract(batch.contract_id)
    require(perms.can_manage_delivery(current_user, contract))
    return batch


@bp.route("/imports/<int:batch_id>")
@login_required
def import_batch(batch_id: int):
    batch = _batch(batch_id)
    job = db.session.get(jobs.Job, batch.job_id) if batch.job_id else None
    return render_template("delivery/import_batch.html", batch=batch, job=job, action_form=EmptyForm(),
                           contract=db.session.get(Contract, batch.contract_id))


@bp.route("/imports/<int:batch_id>/confirm", methods=["POST"])
@login_required
def import_confirm(batch_id: int):
    batch = _batch(batch_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if batch.status != ImportStatus.CHECKED or batch.error_count:
        raise ValidationError(_("Only a checked file without errors can be imported."), "file")
    if batch.file.size <= INLINE_IMPORT_BYTES:
        try:
            ledger.run_import(current_user, batch)
        except ledger.LedgerError:
            db.session.rollback()
            raise
        db.session.commit()
        flash(_("Imported: %(n)d new entries; %(d)d already recorded were skipped.", n=batch.rows_new,
                d=batch.rows_duplicate), "success")
        return redirect_to(url_for("delivery.import_batch", batch_id=batch.id))
    job = jobs.create_job("ledger_import", {"batch_id": batch.id}, current_user)
    batch.job_id = job.id
    batch.status, batch.status_changed_at = ImportStatus.IMPORTING, services.clock.now()
    db.session.commit()
    jobs.dispatch(job)
    return redirect_to(url_for("delivery.import_batch", batch_id=batch.id))


@jobs.job_function("ledger_check")
def _job_check(job, report):
    batch = db.session.get(ImportBatch, job.payload["batch_id"])
    actor = db.session.get(_user_model(), job.created_by_id) if job.created_by_id else None
    ledger.run_check(actor, batch, report)
    db.session.commit()
    return {"batch_id": batch.id, "errors": batch.error_count, "new": batch.rows_new}


@jobs.job_function("ledger_import")
def _job_import(job, report):
    batch = db.session.get(ImportBatch, job.payload["batch_id"])
    actor = db.session.get(_user_model(), job.created_by_id) if job.created_by_id else None
    try:
        ledger.run_import(actor, batch, report)
    except Exception:
        db.session.rollback()
        batch = db.session.get(ImportBatch, job.payload["batch_id"])
        batch.status = ImportStatus.CHECKED
        db.session.commit()
        raise
    db.session.commit()
    return {"batch_id": batch.id, "created": batch.rows_new}


def _user_model():
    from ..accounts.models import User

    return User


@bp.route("/jobs/<job_id>")
@login_required
def job_status(job_id: str):
    job = db.get_or_404(jobs.Job, job_id)
    require(job.created_by_id == current_user.id or has_permission(current_user, "procurement.read"))
    percent, message = jobs.progress_of(job)
    next_url = request.args.get("next", "")
    if not is_local_url(next_url):
        next_url = ""
    response = make_response(render_template("delivery/_job.html", job=job, percent=percent, message=message,
                                              next_url=next_url))
    if next_url and job.status in (jobs.JobStatus.DONE, jobs.JobStatus.FAILED) and is_htmx():
        response.headers["HX-Redirect"] = next_url  # show the finished result in full
    return response


# --- red flags --------------------------------------------------------------------------------


@bp.route("/red-flags")
@login_required
def red_flags():
    require(perms.can_view_red_flags(current_user))
    kind = request.args.get("kind", "")
    state = request.args.get("state", "open")
    stmt = (sa.select(RedFlag).where(RedFlag.active.is_(True)).order_by(RedFlag.found_at.desc(), RedFlag.id.desc())
            .options(joinedload(RedFlag.contract)))
    if kind in {k.value for k in RedFlagKind}:
        stmt = stmt.where(RedFlag.kind == RedFlagKind(kind))
    if state == "open":
        stmt = stmt.where(RedFlag.explanation == "")
    elif state == "explained":
        stmt = stmt.where(RedFlag.explanation != "")
    page = paginate(stmt)
    template = "delivery/_flag_table.html" if is_htmx() else "delivery/red_flags.html"
    return render_template(template, page=page, kind=kind, state=state, explain_form=ExplainForm(),
                           worker_names=_worker_names(page.items))


def _worker_names(flags) -> dict[int, str]:
    """Names of the social workers the flags are about, in one query."""
    ids = {f.detail.get("worker_id") for f in flags if f.detail.get("worker_id")}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(SocialWorker.id, SocialWorker.name).where(SocialWorker.id.in_(ids))).all())


@bp.route("/red-flags/<int:flag_id>/explain", methods=["POST"])
@login_required
def red_flag_explain(flag_id: int):
    flag = db.get_or_404(RedFlag, flag_id)
    require(perms.can_explain_flag(current_user, flag))
    form = ExplainForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Write the explanation."), "note")
    explain_flag(current_user, flag, form.note.data)
    db.session.commit()
    flash(_("Explanation recorded."), "success")
    return redirect_to(_local_or(url_for("delivery.red_flags")))


@bp.route("/contracts/<int:contract_id>/red-flags")
@login_required
def contract_flags(contract_id: int):
    contract = _contract(contract_id)
    flags = db.session.execute(sa.select(RedFlag).where(RedFlag.contract_id == contract.id, RedFlag.active.is_(True))
                               .options(joinedload(RedFlag.contract))
                               .order_by(RedFlag.kind, RedFlag.id)).unique().scalars().all()
    return render_template("delivery/contract_flags.html", contract=contract, flags=flags, explain_form=ExplainForm(),
                           worker_names=_worker_names(flags))


