"""A contract's service log: its entries (recorded, corrected, deleted), groups and social workers."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, with_expression

from ...contracts.models import Contract
from ...contracts.permissions import can_view_contract
from ...contracts.workflow import locking_milestone
from ...core import exports, flow, versions
from ...core.errors import DomainError, ValidationError
from ...core.permissions import require
from ...core.web import capped_count, is_htmx, paginate, redirect_to, send_stored
from ...extensions import db
from ...registry.models import Area, AreaLevel, SocialWorker
from .. import labels, services
from .. import permissions as perms
from ..forms import ActivityForm, DeleteActivityForm, GroupForm, WorkersForm
from ..models import (ActivityEvidence, Beneficiary, ContractProgress, ServiceActivity, ServiceGroup,
                      activity_worker)
from . import bp
from .common import communities, contract_communities, contract_or_404, contract_with_own_worker_or_404

# A contract's service log is paged through to its end (a few thousand entries at most, read
# through the contract's index); the district-wide lists stop at the usual cap.
ENTRIES_CAP = 20_000


LOG_ORDER = (ServiceActivity.activity_date.desc(), ServiceActivity.start_time.desc(), ServiceActivity.id.desc())


def _logged(contract: Contract) -> tuple[sa.Select, str, str]:
    """The contract's entries the log lists with the request's filters (kind of service, month):
    the page and its export read the same rows."""
    type_ = request.args.get("type", "")
    month = request.args.get("month", "")
    stmt = perms.visible_activities(current_user).where(ServiceActivity.contract_id == contract.id)
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
    return stmt, type_, month


# How many entries the log lists, kept under the version of the contract's service log (which every
# change to its entries moves on, delivery/progress.py `log_changed`): paging through a log, or
# coming back to it, counts its entries once per version instead of on every page (6,000 entries
# of the largest contract took a sixth of the page). Each web host keeps its own; a host that has
# not counted this version yet counts.
_COUNTED = versions.Kept(None)
_LOG_VERSION = with_expression(Contract.service_log_version, sa.select(ContractProgress.log_version).where(
    ContractProgress.contract_id == Contract.id).scalar_subquery())
_LOG_LOADS = (_LOG_VERSION,)


def _counted(contract: Contract, stmt: sa.Select, type_: str, month: str) -> int:
    user = current_user
    # The reader's scope is part of the key, though whoever may open a contract's log sees all of it.
    key = (contract.id, type_, month, user.role, user.organization_id)
    return _COUNTED.get_at(contract.service_log_version, key, lambda: capped_count(stmt, ENTRIES_CAP))


@bp.route("/contracts/<int:contract_id>/services")
@login_required
def activities(contract_id: int):
    # The contract with its log's version, and the login's own worker record if it is among the
    # contract's workers (whether the page offers to record), in one statement.
    contract = contract_with_own_worker_or_404(contract_id, _LOG_LOADS)
    stmt, type_, month = _logged(contract)
    page = paginate(stmt.order_by(*LOG_ORDER), cap=ENTRIES_CAP, total=_counted(contract, stmt, type_, month),
                    loads=(joinedload(ServiceActivity.community), joinedload(ServiceActivity.group)))
    template = "delivery/_activity_table.html" if is_htmx() else "delivery/activities.html"
    return render_template(template, contract=contract, page=page, type=type_, month=month,
                           can_record=perms.can_record_activity(current_user, contract),
                           can_manage=perms.can_manage_delivery(current_user, contract))


@bp.route("/contracts/<int:contract_id>/services/export.<any(csv, xlsx):fmt>")
@login_required
def activities_export(contract_id: int, fmt: str):
    """The service ledger as the log lists it, filters included, in one streamed statement: the
    social workers joined into one cell by the database, people as counts (never their identity)."""
    contract = contract_or_404(contract_id)
    listed, _type, _month = _logged(contract)
    A = ServiceActivity
    workers = (sa.select(exports.joined_text(SocialWorker.name))
               .join(activity_worker, activity_worker.c.social_worker_id == SocialWorker.id)
               .where(activity_worker.c.activity_id == A.id).scalar_subquery())
    stmt = exports.bounded(
        sa.select(A.activity_date, A.start_time, A.end_time, A.type, Area.name, A.place, workers, ServiceGroup.name,
                  A.session_number, A.participant_count, A.head_count, A.hours, A.topic, A.outcome, A.notes,
                  A.revision, A.id)
        .select_from(A).join(Area, Area.id == A.community_id).outerjoin(ServiceGroup, ServiceGroup.id == A.group_id)
        .where(exports.rows_of(listed)).order_by(*LOG_ORDER))

    def rows():
        for (day, start, end, type_, community, place, names, group, session, named, head_count, hours, topic,
             outcome, notes, revision, entry) in db.session.execute(stmt):
            yield [day, start.strftime("%H:%M"), end.strftime("%H:%M"), labels.ACTIVITY_TYPE_LABELS[type_], community,
                   place, names or "", group or "", session or "", named, head_count, named + head_count, hours, topic,
                   outcome, notes, revision, entry]

    return exports.export_response(
        fmt, exports.stamped(f"{_('Service log')}-{contract.number}"),
        [_("Date"), _("Start"), _("End"), _("Kind of service"), _("Community"), _("Place"), _("Social workers"),
         _("Group"), _("Session"), _("People named"), _("Others present"), _("Person-times"), _("Hours"), _("Topic"),
         _("Outcome"), _("Notes"), _("Revision"), _("Entry number")], rows(), title=_("Service log"))


def _activity_form(contract: Contract, obj=None) -> ActivityForm:
    form = ActivityForm(obj=obj) if obj is not None and request.method == "GET" else ActivityForm()
    if request.method == "POST":
        _posted_choices(contract, form)
    else:
        _all_choices(contract, form)
    return form


_GROUPS = sa.select(ServiceGroup).where(ServiceGroup.contract_id == sa.bindparam("contract"))


def _all_choices(contract: Contract, form: ActivityForm) -> None:
    """Every choice the form offers: the district's communities, the contract's workers and groups."""
    groups = db.session.execute(_GROUPS, {"contract": contract.id}).unique().scalars().all()
    form.fill_choices(communities(), contract.workers, groups, contract_communities(contract))


def _as_id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _posted_id(name: str) -> int | None:
    return _as_id(request.form.get(name, ""))


_COMMUNITY_AND_PEOPLE = (sa.select(Area, Beneficiary)
                         .outerjoin(Beneficiary, Beneficiary.id.in_(sa.bindparam("people", expanding=True)))
                         .where(Area.id == sa.bindparam("community")))


def _posted_choices(contract: Contract, form: ActivityForm) -> None:
    """The choices a sent form is checked against, limited to what it sent: the community and group
    it names (when the form offers them) instead of the whole district's lists. A valid choice stays
    valid and any other is refused as before; a page shown again gets every choice (`_all_choices`)."""
    community = group = people = None
    community_id, group_id = _posted_id("community_id"), _posted_id("group_id")
    ids = _posted_people()
    if community_id is not None and ids:
        # The community and the people named, in one statement (a row for each person found).
        rows = db.session.execute(_COMMUNITY_AND_PEOPLE, {"community": community_id, "people": ids}).all()
        if rows:
            community, people = rows[0][0], [person for _area, person in rows if person is not None]
    elif community_id is not None:
        community = db.session.get(Area, community_id)
    if community is not None:
        if community.level != AreaLevel.COMMUNITY and community.id not in {
                c.id for c in contract_communities(contract)}:
            community = None
    if group_id is not None:
        group = db.session.get(ServiceGroup, group_id)
        if group is not None and group.contract_id != contract.id:
            group = None
    workers = perms.named_workers(contract, _posted_ids("workers"), current_user)
    form.fill_choices([community] if community is not None else [], workers, [group] if group is not None else [])
    # what `_activity_values` takes
    form.posted = {"community": community, "group": group, "people": people, "workers": workers}


def _posted_ids(name: str) -> list[int]:
    return [i for i in map(_as_id, request.form.getlist(name)) if i is not None]


def _posted_people() -> list[int]:
    return _posted_ids("participants")


def _activity_values(contract: Contract, form: ActivityForm) -> dict:
    posted = getattr(form, "posted", None)
    participants = posted["people"] if posted is not None and posted["people"] is not None else None
    if participants is None:
        ids = _posted_people()
        participants = db.session.execute(sa.select(Beneficiary).where(Beneficiary.id.in_(ids))).scalars().all() \
            if ids else []
    chosen = set(form.workers.data or [])
    workers = [w for w in (posted["workers"] if posted is not None else contract.workers) if w.id in chosen]
    if posted is not None:  # read with the choices, as the form sent them (and validated against them)
        group, community = posted["group"], posted["community"]
    else:
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
    ids = _posted_people()
    if not ids:
        return []
    return db.session.execute(sa.select(Beneficiary).where(
        Beneficiary.id.in_(ids), Beneficiary.organization_id == contract.organization_id)).unique().scalars().all()


@bp.route("/contracts/<int:contract_id>/services/new", methods=["GET", "POST"])
@login_required
def activity_new(contract_id: int):
    # The contract, then its workers (who may record, whom the entry may name) as their own rows: joined
    # to the contract, each of a large team's rows would carry the whole contract again. A sent form
    # reads only the workers it names and the login's own.
    if request.method == "POST":
        contract, _named = perms.contract_with_named_workers(contract_id, _posted_ids("workers"), current_user)
        if contract is None:
            abort(404)
        require(can_view_contract(current_user, contract))
    else:
        contract = perms.with_workers(contract_or_404(contract_id))
    require(perms.can_record_activity(current_user, contract))
    form = _activity_form(contract)
    if request.method == "GET":
        form.activity_date.data = services.today()
        worker = perms.worker_record(current_user)
        if worker is not None:
            form.workers.data = [worker.id]
        chosen_group = request.args.get("group", "")
        if chosen_group in {value for value, _label in form.group_id.choices}:
            form.group_id.data = chosen_group  # just created from this form

    def save():
        services.record_activity(current_user, contract, _activity_values(contract, form),
                                 request.files.getlist("evidence"))
        if request.form.get("again"):
            return url_for("delivery.activity_new", contract_id=contract_id)
        return url_for("delivery.activities", contract_id=contract_id)

    def page(**extra):
        if request.method == "POST":
            _all_choices(contract, form)
        return render_template("delivery/activity_form.html", form=form, contract=contract, activity=None,
                               chosen=_chosen_people(contract) if request.method == "POST" else [],
                               **extra)

    return flow.submit(form, save, page, field="type", message=_("Service recorded."))


@bp.route("/services/<int:activity_id>")
@login_required
def activity(activity_id: int):
    item = db.get_or_404(ServiceActivity, activity_id)
    require(perms.can_view_activity(current_user, item))
    show_people = perms.can_view_beneficiaries(current_user, item.contract.organization_id)
    can_record = perms.can_record_activity(current_user, item.contract)
    # Behind a paid milestone the entry is locked: no buttons the correction would refuse, but why.
    locked_by = locking_milestone(item.contract_id, [item.activity_date]) if can_record else None
    return render_template("delivery/activity.html", activity=item, show_people=show_people,
                           can_record=can_record and locked_by is None, locked_by=locked_by)


def _recordable_activity(activity_id: int, workers: bool = False, options=()) -> ServiceActivity:
    """The entry with its contract (and what `options` load with it), and the login's own worker
    record on the contract if any, in one statement; with `workers` (a form naming them), the
    workers a sent form names as well, or for the form's page the contract's whole team as their own
    rows (joined, each worker's row would carry the entry and the contract again), before the check
    of who may record finds the login among them."""
    if workers and request.method != "POST":
        item = db.get_or_404(ServiceActivity, activity_id, options=[joinedload(ServiceActivity.contract), *options])
        perms.with_workers(item.contract)
    else:
        # With the entry: the workers a sent form names and the login's own (whether it may record).
        named = _posted_ids("workers") if workers else []
        item, _named = perms.entry_with_named_workers(activity_id, named, current_user, options)
        if item is None:
            abort(404)
    require(can_view_contract(current_user, item.contract) and perms.can_record_activity(current_user, item.contract))
    return item


@bp.route("/services/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def activity_edit(activity_id: int):
    item = _recordable_activity(activity_id, workers=True)
    contract = item.contract
    form = _activity_form(contract, item)
    if request.method == "GET":
        form.type.data, form.community_id.data = item.type.value, str(item.community_id)
        form.group_id.data = str(item.group_id or "")
        form.workers.data = [w.id for w in item.workers]
        form.hours.data = str(item.hours)

    def save():
        services.correct_activity(current_user, item, _activity_values(contract, form), form.reason.data)
        return url_for("delivery.activity", activity_id=item.id)

    def page(**extra):
        if request.method == "POST":
            _all_choices(contract, form)
        chosen = list(item.participants) if request.method == "GET" else _chosen_people(contract)
        return render_template("delivery/activity_form.html", form=form, contract=contract, activity=item,
                               chosen=chosen, **extra)

    return flow.submit(form, save, page, field="type", obj=item,
                       message=_("Entry corrected; the earlier version is kept in its history."))


_DELETION_LOADS = (joinedload(ServiceActivity.evidence).joinedload(ActivityEvidence.file),
                   joinedload(ServiceActivity.revisions))


@bp.route("/services/<int:activity_id>/delete", methods=["GET", "POST"])
@login_required
def activity_delete(activity_id: int):
    """A pause before an entry goes: what it is, and why it is deleted."""
    # The deletion's audit event keeps the entry's evidence files and earlier versions: read with the
    # entry (it has a few of each at most), not by a statement each.
    item = _recordable_activity(activity_id, options=_DELETION_LOADS if request.method == "POST" else ())
    contract = item.contract
    form = DeleteActivityForm()

    def save():
        services.delete_activity(current_user, item, form.reason.data)
        return url_for("delivery.activities", contract_id=contract.id)

    def page(**extra):
        return render_template("delivery/activity_delete.html", form=form, activity=item, contract=contract, **extra)

    return flow.submit(form, save, page, field="reason",
                       message=_("Entry deleted; the audit trail keeps it as it was."))


@bp.route("/services/<int:activity_id>/evidence/<int:evidence_id>")
@login_required
def evidence_download(activity_id: int, evidence_id: int):
    item = db.get_or_404(ServiceActivity, activity_id)
    require(perms.can_view_activity(current_user, item))
    evidence = db.get_or_404(ActivityEvidence, evidence_id)
    if evidence.activity_id != item.id:
        abort(404)
    return send_stored(evidence.file)


@bp.route("/contracts/<int:contract_id>/groups", methods=["POST"])
@login_required
def group_new(contract_id: int):
    """A group created from the entry form: with htmx the new option is added to the form's group
    list, chosen; without, the entry form comes back with the group chosen (what was typed in the
    entry is then typed again: the browser sent it here)."""
    contract = contract_with_own_worker_or_404(contract_id)
    require(perms.can_record_activity(current_user, contract))
    form = GroupForm(prefix="new_group")
    refused: list[str] = []

    def save():
        group = services.create_group(current_user, contract, form.name.data.strip(), form.planned_sessions.data, [])
        if not is_htmx():
            flash(_("Group %(n)s created.", n=group.name), "success")
            return url_for("delivery.activity_new", contract_id=contract.id, group=group.id)
        return make_response(render_template("delivery/_group_option.html", group=group))

    def refusal(exc: DomainError) -> bool:
        refused.append(exc.message)
        return True

    def page(**extra):
        error = " ".join(refused) or " ".join(
            f"{getattr(form, k).label.text}: {' '.join(map(str, v))}" for k, v in form.errors.items())
        response = make_response(render_template("delivery/_quick_add_error.html", error=error))
        response.headers.update({"HX-Retarget": "#group-add-error", "HX-Reswap": "innerHTML"})
        return response

    if not is_htmx():
        if not form.validate_on_submit():
            raise ValidationError(_("Give the group a name and the planned number of sessions."), "new_group-name")
        return redirect_to(save())
    return flow.submit(form, save, page, field="name", on_error=refusal)


@bp.route("/contracts/<int:contract_id>/workers", methods=["GET", "POST"])
@login_required
def contract_workers(contract_id: int):
    contract = contract_or_404(contract_id)
    require(perms.can_manage_delivery(current_user, contract))
    form = WorkersForm()
    staff = db.session.execute(sa.select(SocialWorker).where(SocialWorker.organization_id == contract.organization_id,
                                                             SocialWorker.active.is_(True))
                               .order_by(SocialWorker.name)).unique().scalars().all()
    names = labels.worker_labels(staff)
    form.workers.choices = [(w.id, names[w.id]) for w in staff]
    if request.method == "GET":
        form.workers.data = [w.id for w in contract.workers]

    def save():
        chosen = [w for w in staff if w.id in set(form.workers.data or [])]
        services.set_contract_workers(current_user, contract, chosen)
        return url_for("delivery.activities", contract_id=contract.id)

    def page(**extra):
        return render_template("delivery/workers.html", form=form, contract=contract, **extra)

    return flow.submit(form, save, page, field="workers", message=_("Social workers on the contract saved."))
