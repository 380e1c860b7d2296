"""Evaluation pages: rounds of a contract, their set-up, the evaluators' scoring page, the summary,
surveys, evidence, findings and rectification. Indicator template pages are in template_views."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_babel import lazy_gettext as _nl
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import User
from ..contracts.forms import EmptyForm, ReasonForm
from ..contracts.models import Contract
from ..contracts.workflow import today
from ..core import nav
from ..core import charts
from ..core.errors import ValidationError
from ..core.formatting import points
from ..core.permissions import Role, has_permission, require
from ..core.web import field_error, like_pattern, paginate, redirect_to, send_stored
from ..extensions import db
from ..registry.models import Organization, OrgKind
from ..procurement.labels import TARGET_LABELS
from . import indicators, labels, surveys, workflow
from . import permissions as perms
from .forms import (DeclarationForm, EvaluatorForm, EvidenceForm, FindingForm, ItemForm, NoteForm, ResponseForm,
                    RoundForm, ScheduleForm, SurveyForm, SurveyImportForm)
from .models import (EvaluationEvidence, EvaluationRound, Finding, ItemStatus, RectificationItem,
                     RectificationResponse, ResponseFile, RoundEvaluator, RoundKind, RoundStatus, SatisfactionSurvey)

from .results import first_level
from .tree import LeafKind

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")
nav.menu("evaluations.rounds", _nl("Evaluations"), order=40, visible=perms.can_list_evaluations)
nav.menu("evaluations.rectification", _nl("Rectification"), order=41, visible=perms.can_list_rectification)
nav.menu("evaluations.templates", _nl("Indicator templates"), order=42, visible=perms.can_view_templates)
nav.predicates(perms)

R = RoundStatus


@bp.app_context_processor
def _labels():
    return {"round_kind_labels": labels.ROUND_KIND_LABELS, "round_status_labels": labels.ROUND_STATUS_LABELS,
            "version_status_labels": labels.VERSION_STATUS_LABELS, "item_status_labels": labels.ITEM_STATUS_LABELS,
            "leaf_kind_labels": labels.LEAF_KIND_LABELS, "grade_labels": labels.GRADE_LABELS,
            "target_labels": TARGET_LABELS, "evaluation_rounds_of": contract_rounds}


def _scoped(stmt: sa.Select) -> sa.Select:
    """One place decides which rounds a person's lists hold: the bureau and auditors all, an
    evaluator those assigned to them, an organization's manager those of its own contracts."""
    if has_permission(current_user, "evaluations.read"):
        return stmt
    if has_permission(current_user, "evaluations.score"):
        return stmt.where(EvaluationRound.id.in_(
            sa.select(RoundEvaluator.round_id).where(RoundEvaluator.user_id == current_user.id)))
    if has_permission(current_user, "evaluations.respond") and current_user.organization_id:
        return stmt.where(Contract.organization_id == current_user.organization_id)
    return stmt.where(sa.false())


def _round(round_id: int, for_scoring: bool = False) -> EvaluationRound:
    """The round with what its page shows; for an evaluator's scoring only the tree and the panel."""
    loads = [joinedload(EvaluationRound.contract).joinedload(Contract.organization),
             joinedload(EvaluationRound.template_version), joinedload(EvaluationRound.evaluation_org),
             selectinload(EvaluationRound.parties),
             selectinload(EvaluationRound.evaluators).options(
                 joinedload(RoundEvaluator.party), joinedload(RoundEvaluator.user).joinedload(User.organization))]
    if not for_scoring:
        loads += [selectinload(EvaluationRound.surveys).joinedload(SatisfactionSurvey.file),
                  selectinload(EvaluationRound.evidence).joinedload(EvaluationEvidence.file),
                  selectinload(EvaluationRound.findings).selectinload(Finding.items)
                  .selectinload(RectificationItem.responses).selectinload(RectificationResponse.files)
                  .joinedload(ResponseFile.file)]
    round_ = db.session.execute(
        sa.select(EvaluationRound).where(EvaluationRound.id == round_id).options(*loads)).scalar_one_or_none()
    if round_ is None:
        abort(404)
    require(perms.can_view_round(current_user, round_))
    return round_


# --- lists ---------------------------------------------------------------------------------------


@bp.route("/")
@login_required
def rounds():
    require(perms.can_list_evaluations(current_user))
    stmt = _scoped(sa.select(EvaluationRound).join(Contract, Contract.id == EvaluationRound.contract_id))
    status = request.args.get("status", "")
    if status in {s.value for s in RoundStatus}:
        stmt = stmt.where(EvaluationRound.status == RoundStatus(status))
    q = (request.args.get("q") or "").strip()
    if q:
        pattern = like_pattern(q)
        stmt = stmt.join(Organization, Organization.id == Contract.organization_id).where(sa.or_(
            EvaluationRound.title.ilike(pattern), Contract.title.ilike(pattern), Contract.number.ilike(pattern),
            Organization.name.ilike(pattern)))
    page = paginate(stmt.order_by(EvaluationRound.scheduled_start.desc(), EvaluationRound.id.desc())
                    .options(joinedload(EvaluationRound.contract).joinedload(Contract.organization)))
    mine = {}
    if has_permission(current_user, "evaluations.score"):
        mine = {e.round_id: e for e in db.session.execute(sa.select(RoundEvaluator).where(
            RoundEvaluator.user_id == current_user.id)).scalars()}
    template = "evaluations/_round_table.html" if request.headers.get("HX-Request") else "evaluations/rounds.html"
    return render_template(template, page=page, mine=mine, statuses=list(RoundStatus))


@bp.route("/rectification")
@login_required
def rectification():
    require(perms.can_list_rectification(current_user))
    stmt = (sa.select(RectificationItem).join(Finding, Finding.id == RectificationItem.finding_id)
            .join(EvaluationRound, EvaluationRound.id == Finding.round_id)
            .join(Contract, Contract.id == EvaluationRound.contract_id))
    if not has_permission(current_user, "evaluations.read"):
        stmt = stmt.where(Contract.organization_id == (current_user.organization_id or -1))
    status = request.args.get("status", "pending")
    if status == "pending":
        stmt = stmt.where(RectificationItem.status != ItemStatus.CLOSED)
    elif status in {s.value for s in ItemStatus}:
        stmt = stmt.where(RectificationItem.status == ItemStatus(status))
    stmt = stmt.options(joinedload(RectificationItem.finding).joinedload(Finding.round)
                        .joinedload(EvaluationRound.contract).joinedload(Contract.organization))
    page = paginate(stmt.order_by(RectificationItem.deadline, RectificationItem.id))
    return render_template("evaluations/rectification.html", page=page, status=status, today=today())


# --- creating and preparing a round ----------------------------------------------------------------


def _round_form_choices(form: RoundForm) -> None:
    form.template_version.choices = [(v.id, v.label) for v in indicators.usable_versions()]
    orgs = db.session.execute(sa.select(Organization).where(Organization.kind == OrgKind.EVALUATION)
                              .order_by(Organization.name)).scalars()
    form.evaluation_org.choices = [(0, _("None: the bureau evaluates"))] + [(o.id, o.name) for o in orgs]


@bp.route("/contracts/<int:contract_id>/new", methods=["GET", "POST"])
@login_required
def round_new(contract_id: int):
    contract = db.get_or_404(Contract, contract_id)
    require(perms.can_manage_rounds(current_user))
    form = RoundForm()
    _round_form_choices(form)
    if request.method == "GET":
        default = indicators.default_version()
        form.template_version.data = default.id if default else None
        has_midterm = any(r.kind == RoundKind.MIDTERM and r.status != R.CANCELLED for r in workflow.rounds_of(contract))
        form.kind.data = RoundKind.FINAL.value if has_midterm else RoundKind.MIDTERM.value
        form.title.data = f"{contract.title} {labels.ROUND_KIND_LABELS[RoundKind(form.kind.data)]}"
    if form.validate_on_submit():
        version = db.get_or_404(indicators.TemplateVersion, form.template_version.data)
        org = db.session.get(Organization, form.evaluation_org.data) if form.evaluation_org.data else None
        try:
            round_ = workflow.create_round(
                current_user, contract, kind=RoundKind(form.kind.data), title=form.title.data,
                template_version=version, evaluation_org=org, scheduled_start=form.scheduled_start.data,
                scheduled_end=form.scheduled_end.data, target_percent=form.target_percent.data)
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("Evaluation created. Name the scoring parties and assign evaluators."), "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id))
    status = 422 if request.method == "POST" else 200
    return render_template("evaluations/round_form.html", form=form, contract=contract), status


def _evaluator_choices(form: EvaluatorForm, round_: EvaluationRound) -> EvaluatorForm:
    """Parties of the round; active evaluator accounts not yet on it (staff of the evaluated
    organization are listed too, so that the refusal says why)."""
    form.party.choices = [(p.id, f"{p.name} ({points(p.weight)})") for p in round_.parties]
    assigned = {e.user_id for e in round_.evaluators}
    candidates = db.session.execute(sa.select(User).where(User.role == Role.EVALUATOR, User.active.is_(True))
                                    .order_by(User.full_name, User.username)).scalars()
    form.user.choices = [(u.id, f"{u.full_name or u.username}" + (f" · {u.organization.name}" if u.organization else ""))
                         for u in candidates if u.id not in assigned]
    return form


def _round_context(round_: EvaluationRound, **forms) -> dict:
    member = perms.assignment(current_user, round_)
    evaluator_form = _evaluator_choices(forms.get("evaluator_form") or EvaluatorForm(), round_)
    sat_leaves = workflow.satisfaction_leaves(round_)
    survey_form = forms.get("survey_form") or SurveyForm()
    survey_form.leaf_key.choices = [(leaf.key, leaf.name) for leaf in sat_leaves]
    import_form = forms.get("import_form") or SurveyImportForm()
    import_form.leaf_key.choices = survey_form.leaf_key.choices
    schedule_form = forms.get("schedule_form") or ScheduleForm(obj=round_)
    leaves = {leaf.key: leaf for leaf in indicators.leaves_of(round_.template_version)}
    return dict(round=round_, contract=round_.contract, member=member, leaves=leaves, sat_leaves=sat_leaves,
                evaluator_form=evaluator_form, survey_form=survey_form, import_form=import_form,
                schedule_form=schedule_form, evidence_form=forms.get("evidence_form") or EvidenceForm(),
                finding_form=forms.get("finding_form") or FindingForm(),
                item_forms={f.id: forms["item_form"] if forms.get("item_form_for") == f.id
                            else ItemForm(formdata=None, prefix=f"finding{f.id}") for f in round_.findings},
                response_forms={i.id: forms["response_form"] if forms.get("response_form_for") == i.id
                                else ResponseForm(formdata=None, prefix=f"item{i.id}")
                                for f in round_.findings for i in f.items},
                action_form=EmptyForm(), reason_form=ReasonForm(), note_form=NoteForm(),
                party_rows=forms.get("party_rows") or [[p.name, points(p.weight)] for p in round_.parties],
                party_error=forms.get("party_error"), today=today())


@bp.route("/rounds/<int:round_id>")
@login_required
def round(round_id: int):
    round_ = _round(round_id)
    return render_template("evaluations/round.html", **_round_context(round_))


def _round_page_error(round_: EvaluationRound, **forms):
    db.session.rollback()
    round_ = _round(round_.id)
    return render_template("evaluations/round.html", **_round_context(round_, **forms)), 422


@bp.route("/rounds/<int:round_id>/schedule", methods=["POST"])
@login_required
def round_schedule(round_id: int):
    round_ = _round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    form = ScheduleForm()
    if form.validate_on_submit():
        try:
            workflow.update_schedule(current_user, round_, title=form.title.data,
                                     scheduled_start=form.scheduled_start.data, scheduled_end=form.scheduled_end.data)
        except ValidationError as exc:
            field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("Evaluation updated."), "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id))
    return _round_page_error(round_, schedule_form=form)


@bp.route("/rounds/<int:round_id>/parties", methods=["POST"])
@login_required
def round_parties(round_id: int):
    round_ = _round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    if not EmptyForm().validate_on_submit():
        abort(400)
    rows = list(zip(request.form.getlist("party_name"), request.form.getlist("party_weight")))
    try:
        workflow.set_parties(current_user, round_, rows)
    except ValidationError as exc:
        return _round_page_error(round_, party_rows=[list(r) for r in rows], party_error=exc.message)
    db.session.commit()
    flash(_("Scoring parties saved."), "success")
    return redirect_to(url_for("evaluations.round", round_id=round_.id) + "#parties")


@bp.route("/rounds/<int:round_id>/evaluators", methods=["POST"])
@login_required
def evaluator_add(round_id: int):
    round_ = _round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    form = _evaluator_choices(EvaluatorForm(), round_)
    if form.validate_on_submit():
        user = db.get_or_404(User, form.user.data)
        party = next((p for p in round_.parties if p.id == form.party.data), None)
        if party is None:
            abort(404)
        try:
            workflow.assign_evaluator(current_user, round_, user, party)
        except ValidationError as exc:
            field_error(form, exc, "user")
        else:
            db.session.commit()
            flash(_("Evaluator assigned."), "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id) + "#evaluators")
    return _round_page_error(round_, evaluator_form=form)


@bp.route("/evaluators/<int:evaluator_id>/remove", methods=["POST"])
@login_required
def evaluator_remove(evaluator_id: int):
    member = db.get_or_404(RoundEvaluator, evaluator_id)
    require(perms.can_manage_rounds(current_user, member.round))
    if not EmptyForm().validate_on_submit():
        abort(400)
    round_id = member.round_id
    workflow.remove_evaluator(current_user, member)
    db.session.commit()
    flash(_("Evaluator removed."), "success")
    return redirect_to(url_for("evaluations.round", round_id=round_id) + "#evaluators")


@bp.route("/rounds/<int:round_id>/<any(open, finalize):action>", methods=["POST"])
@login_required
def round_transition(round_id: int, action: str):
    round_ = _round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    if not EmptyForm().validate_on_submit():
        abort(400)
    if action == "open":
        workflow.open_scoring(current_user, round_)
        message = _("Scoring is open. Output and satisfaction scores are frozen from the logs and surveys.")
    else:
        workflow.finalize(current_user, round_)
        message = _("The evaluation is finalized: %(total)s points, %(grade)s.", total=points(round_.total),
                    grade=labels.GRADE_LABELS[round_.grade])
    db.session.commit()
    flash(message, "success")
    return redirect_to(url_for("evaluations.round", round_id=round_.id))


@bp.route("/rounds/<int:round_id>/<any(reopen, cancel):action>", methods=["POST"])
@login_required
def round_reason_transition(round_id: int, action: str):
    round_ = _round(round_id)
    if action == "reopen":
        require(perms.can_reopen_round(current_user, round_))
    else:
        require(perms.can_manage_rounds(current_user, round_))
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    if action == "reopen":
        workflow.reopen(current_user, round_, form.reason.data)
        message = _("The evaluation is reopened for scoring; evaluators can revise and submit again.")
    else:
        workflow.cancel(current_user, round_, form.reason.data)
        message = _("The evaluation is cancelled.")
    db.session.commit()
    flash(message, "success")
    return redirect_to(url_for("evaluations.round", round_id=round_.id))


# --- evidence and surveys ------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/evidence", methods=["POST"])
@login_required
def evidence_add(round_id: int):
    round_ = _round(round_id)
    require(perms.can_submit_evidence(current_user, round_))
    form = EvidenceForm()
    if form.validate_on_submit():
        try:
            workflow.add_evidence(current_user, round_, request.files.get("file"), form.title.data)
        except ValidationError as exc:
            field_error(form, exc, "file")
        else:
            db.session.commit()
            flash(_("Evidence added."), "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id) + "#evidence")
    return _round_page_error(round_, evidence_form=form)


@bp.route("/evidence/<int:exhibit_id>")
@login_required
def evidence_file(exhibit_id: int):
    item = db.get_or_404(EvaluationEvidence, exhibit_id)
    require(perms.can_view_round(current_user, item.round))
    return send_stored(item.file)


@bp.route("/rounds/<int:round_id>/surveys", methods=["POST"])
@login_required
def survey_add(round_id: int):
    round_ = _round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    form = SurveyForm()
    form.leaf_key.choices = [(leaf.key, leaf.name) for leaf in workflow.satisfaction_leaves(round_)]
    if form.validate_on_submit():
        try:
            workflow.add_survey(current_user, round_, leaf_key=form.leaf_key.data, group_name=form.group_name.data,
                                surveyed=form.surveyed.data, satisfied=form.satisfied.data,
                                surveyed_on=form.surveyed_on.data, note=form.note.data)
        except ValidationError as exc:
            field_error(form, exc, "group_name")
        else:
            db.session.commit()
            flash(_("Survey responses recorded."), "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id) + "#surveys")
    return _round_page_error(round_, survey_form=form)


@bp.route("/rounds/<int:round_id>/surveys/import", methods=["POST"])
@login_required
def survey_import(round_id: int):
    round_ = _round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    form = SurveyImportForm()
    form.leaf_key.choices = [(leaf.key, leaf.name) for leaf in workflow.satisfaction_leaves(round_)]
    if form.validate_on_submit():
        try:
            added = surveys.import_responses(current_user, round_, leaf_key=form.leaf_key.data,
                                             upload=request.files.get("file"), surveyed_on=form.surveyed_on.data)
        except ValidationError as exc:
            field_error(form, exc, "file")
        else:
            db.session.commit()
            flash(_("Imported %(n)d respondents in %(g)d groups.", n=sum(s.surveyed for s in added), g=len(added)),
                  "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id) + "#surveys")
    return _round_page_error(round_, import_form=form)


@bp.route("/surveys/template.csv")
@login_required
def survey_template():
    require(perms.can_manage_rounds(current_user))
    return Response(surveys.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''%E6%BB%A1%E6%84%8F%E5%BA%A6.csv"})


@bp.route("/surveys/<int:survey_id>/remove", methods=["POST"])
@login_required
def survey_remove(survey_id: int):
    survey = db.get_or_404(SatisfactionSurvey, survey_id)
    require(perms.can_manage_rounds(current_user, survey.round))
    if not EmptyForm().validate_on_submit():
        abort(400)
    round_id = survey.round_id
    workflow.remove_survey(current_user, survey)
    db.session.commit()
    flash(_("Survey removed."), "success")
    return redirect_to(url_for("evaluations.round", round_id=round_id) + "#surveys")


@bp.route("/surveys/<int:survey_id>/file")
@login_required
def survey_file(survey_id: int):
    survey = db.get_or_404(SatisfactionSurvey, survey_id)
    require(perms.can_view_round(current_user, survey.round) and survey.file is not None)
    return send_stored(survey.file)


# --- declaring and scoring -----------------------------------------------------------------------


def _own_member(round_: EvaluationRound) -> RoundEvaluator:
    member = perms.assignment(current_user, round_)
    require(member is not None and perms.can_score_round(current_user, round_))
    return member


@bp.route("/rounds/<int:round_id>/declare", methods=["GET", "POST"])
@login_required
def declare(round_id: int):
    round_ = _round(round_id)
    member = _own_member(round_)
    form = DeclarationForm()
    if form.validate_on_submit():
        try:
            workflow.declare(current_user, member, related=form.related.data, note=form.note.data)
        except ValidationError as exc:
            field_error(form, exc, "note")
        else:
            db.session.commit()
            if member.conflicted:
                flash(_("Thank you. Because of the declared relation you will not score this evaluation."), "info")
                return redirect_to(url_for("evaluations.round", round_id=round_.id))
            flash(_("Declaration recorded."), "success")
            target = "evaluations.score" if round_.status == R.SCORING else "evaluations.round"
            return redirect_to(url_for(target, round_id=round_.id))
    status = 422 if request.method == "POST" else 200
    return render_template("evaluations/declare.html", round=round_, contract=round_.contract, member=member,
                           form=form), status


def _scoring_context(round_: EvaluationRound, member: RoundEvaluator) -> dict:
    """Only the evaluator's own scores: nobody else's appear on this page or its fragments."""
    top = indicators.tree_of(round_.template_version.indicators)
    mine = {s.leaf_key: s for s in member.scores}
    subtotals: dict[str, Decimal] = {}

    def subtotal(node) -> Decimal:
        if node.is_leaf:
            if node.kind == LeafKind.EVALUATOR:
                value = Decimal(mine[node.key].points) if node.key in mine else Decimal(0)
            else:
                value = Decimal((round_.computed or {}).get(node.key, {}).get("points", "0"))
        else:
            value = sum((subtotal(c) for c in node.children), Decimal(0))
        subtotals[node.key] = value
        return value

    total = sum((subtotal(node) for node in top), Decimal(0))
    missing = workflow.missing_scores(member)
    return dict(round=round_, contract=round_.contract, member=member, top=top, mine=mine, subtotals=subtotals,
                total=total, missing=missing, computed=round_.computed or {}, action_form=EmptyForm(),
                locked=member.submitted_at is not None or round_.status != R.SCORING)


@bp.route("/rounds/<int:round_id>/score")
@login_required
def score(round_id: int):
    round_ = _round(round_id)
    member = _own_member(round_)
    if member.declared_at is None:
        return redirect_to(url_for("evaluations.declare", round_id=round_.id))
    if member.conflicted:
        flash(_("You declared a relation with the evaluated organization and cannot score it."), "info")
        return redirect_to(url_for("evaluations.round", round_id=round_.id))
    if round_.status == R.PLANNED:
        flash(_("Scoring has not opened yet."), "info")
        return redirect_to(url_for("evaluations.round", round_id=round_.id))
    return render_template("evaluations/score.html", **_scoring_context(round_, member))


@bp.route("/rounds/<int:round_id>/score/<leaf_key>", methods=["POST"])
@login_required
def score_cell(round_id: int, leaf_key: str):
    round_ = _round(round_id, for_scoring=True)
    member = _own_member(round_)
    if not EmptyForm().validate_on_submit():
        abort(400)
    leaf = next((leaf for leaf in workflow.scored_leaves(round_) if leaf.key == leaf_key), None)
    if leaf is None:
        abort(404)
    error = None
    try:
        workflow.save_score(current_user, member, leaf_key, request.form.get("points", ""),
                            request.form.get("comment", ""))
    except ValidationError as exc:
        db.session.rollback()
        error = exc.message
        round_ = _round(round_id, for_scoring=True)
        member = perms.assignment(current_user, round_)
    else:
        # What was just saved is what the fragment shows: keep the loaded round rather than read it
        # all again after the commit.
        db.session().expire_on_commit = False
        db.session.commit()
    context = _scoring_context(round_, member)
    parts = leaf_key.split(".")
    ancestors = {".".join(parts[:n]) for n in range(1, len(parts))}
    return render_template("evaluations/_score_leaf.html", leaf=leaf, error=error, ancestors=ancestors,
                           submitted_points=request.form.get("points", ""),
                           submitted_comment=request.form.get("comment", ""), **context), (422 if error else 200)


@bp.route("/rounds/<int:round_id>/score/submit", methods=["POST"])
@login_required
def score_submit(round_id: int):
    round_ = _round(round_id)
    member = _own_member(round_)
    if not EmptyForm().validate_on_submit():
        abort(400)
    workflow.submit_scores(current_user, member)
    db.session.commit()
    flash(_("Your scores are submitted."), "success")
    return redirect_to(url_for("evaluations.score", round_id=round_.id))


# --- the result ----------------------------------------------------------------------------------


def _summary_context(round_: EvaluationRound) -> dict:
    result = round_.result or {}
    nodes = {k: Decimal(v) for k, v in result.get("nodes", {}).items()}
    by_party = result.get("by_party", {})
    top = indicators.tree_of(round_.template_version.indicators)
    members = [e for e in round_.evaluators if not e.conflicted and e.submitted_at is not None]
    scores = {(e.id, s.leaf_key): s for e in members for s in e.scores}
    overview = charts.progress_bars([charts.Bar(name, float(value), float(weight))
                                     for _key, name, weight, value in first_level(round_)],
                                    _("Points by first-level indicator, against full marks"))
    per_indicator = {node.key: charts.progress_bars(
        [charts.Bar(leaf.name, float(nodes.get(leaf.key, 0)), float(leaf.weight)) for leaf in node.leaves()],
        _("%(name)s: points against full marks", name=node.name)) for node in top}
    return dict(round=round_, contract=round_.contract, top=top, nodes=nodes, by_party=by_party, members=members,
                scores=scores, computed=round_.computed or {}, overview=overview, per_indicator=per_indicator)


@bp.route("/rounds/<int:round_id>/summary")
@login_required
def summary(round_id: int):
    round_ = _round(round_id)
    if not perms.can_view_result(current_user, round_):
        return render_template("evaluations/summary_pending.html", round=round_, contract=round_.contract), 409
    return render_template("evaluations/summary.html", **_summary_context(round_))


@bp.route("/rounds/<int:round_id>/scores.csv")
@login_required
def scores_csv(round_id: int):
    """Every submitted score with its comment, once the round is finalized."""
    round_ = _round(round_id)
    if not perms.can_view_result(current_user, round_):
        abort(409)
    leaves = {leaf.key: leaf for leaf in indicators.leaves_of(round_.template_version)}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Party"), _("Party weight"), _("Evaluator"), _("Indicator code"), _("Indicator"),
                     _("Full marks"), _("Points"), _("Comment")])
    for member in round_.evaluators:
        if member.conflicted or member.submitted_at is None:
            continue
        for score_ in sorted(member.scores, key=lambda s: list(leaves).index(s.leaf_key) if s.leaf_key in leaves else 0):
            leaf = leaves.get(score_.leaf_key)
            writer.writerow([member.party.name, points(member.party.weight), member.user.full_name or member.user.username,
                             score_.leaf_key, leaf.name if leaf else "", points(leaf.weight) if leaf else "",
                             points(score_.points), _safe_cell(score_.comment)])
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=evaluation-{round_.id}-scores.csv"})


def _safe_cell(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: quote them."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- findings and rectification ------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/findings", methods=["POST"])
@login_required
def finding_add(round_id: int):
    round_ = _round(round_id)
    require(perms.can_add_findings(current_user, round_))
    form = FindingForm()
    if form.validate_on_submit():
        try:
            workflow.add_finding(current_user, round_, form.text.data)
        except ValidationError as exc:
            field_error(form, exc, "text")
        else:
            db.session.commit()
            flash(_("Finding added."), "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id) + "#findings")
    return _round_page_error(round_, finding_form=form)


@bp.route("/findings/<int:finding_id>/items", methods=["POST"])
@login_required
def item_add(finding_id: int):
    finding = db.get_or_404(Finding, finding_id)
    round_ = _round(finding.round_id)
    require(perms.can_add_findings(current_user, round_))
    form = ItemForm(prefix=f"finding{finding.id}")
    if form.validate_on_submit():
        try:
            workflow.add_item(current_user, finding, action=form.action.data, owner=form.owner.data,
                              deadline=form.deadline.data)
        except ValidationError as exc:
            field_error(form, exc, "action")
        else:
            db.session.commit()
            flash(_("Rectification item added."), "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id) + f"#finding-{finding.id}")
    return _round_page_error(round_, item_form=form, item_form_for=finding.id)


@bp.route("/items/<int:item_id>/respond", methods=["POST"])
@login_required
def item_respond(item_id: int):
    item = db.get_or_404(RectificationItem, item_id)
    round_ = _round(item.finding.round_id)
    require(perms.can_respond_rectification(current_user, round_))
    form = ResponseForm(prefix=f"item{item.id}")
    if form.validate_on_submit():
        try:
            workflow.respond(current_user, item, form.text.data, request.files.getlist(form.files.name))
        except ValidationError as exc:
            field_error(form, exc, "text")
        else:
            db.session.commit()
            flash(_("Response sent to the bureau."), "success")
            return redirect_to(url_for("evaluations.round", round_id=round_.id) + f"#item-{item.id}")
    return _round_page_error(round_, response_form=form, response_form_for=item.id)


@bp.route("/items/<int:item_id>/<any(close, reopen):action>", methods=["POST"])
@login_required
def item_review(item_id: int, action: str):
    item = db.get_or_404(RectificationItem, item_id)
    round_ = item.finding.round
    require(perms.can_view_round(current_user, round_) and perms.can_review_rectification(current_user, round_))
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    if action == "close":
        workflow.close_item(current_user, item, form.note.data)
        message = _("Rectification item closed.")
    else:
        workflow.reopen_item(current_user, item, form.note.data)
        message = _("Rectification item reopened; the organization has been asked to respond again.")
    db.session.commit()
    flash(message, "success")
    return redirect_to(url_for("evaluations.round", round_id=round_.id) + f"#item-{item.id}")


@bp.route("/responses/<int:response_id>/files/<int:file_id>")
@login_required
def response_file(response_id: int, file_id: int):
    response = db.get_or_404(RectificationResponse, response_id)
    require(perms.can_view_round(current_user, response.item.finding.round))
    attached = next((f for f in response.files if f.file_id == file_id), None)
    if attached is None:
        abort(404)
    return send_stored(attached.file)


def contract_rounds(contract: Contract) -> list[EvaluationRound]:
    """The rounds listed on a contract's page."""
    return workflow.rounds_of(contract)


from . import template_views  # noqa: E402,F401  (routes on the same blueprint)
