"""Evaluation rounds: the list, a new round, the round's page and its set-up (schedule, parties,
evaluators) and its transitions. The round's page and its loader serve the other page families too."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import defer, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ...accounts.models import User
from ...contracts.forms import EmptyForm, ReasonForm
from ...contracts.models import Contract
from ...contracts.workflow import today
from ...core import flow
from ...core.formatting import points
from ...core.loading import hand_out
from ...core.permissions import Role, has_permission, require
from ...core.web import like_pattern, paginate, redirect_to
from ...extensions import db
from ...registry.models import Organization, OrgKind
from .. import indicators, labels, workflow
from .. import permissions as perms
from ..forms import (EvaluatorForm, EvidenceForm, FindingForm, ItemForm, NoteForm, ResponseForm, RoundForm,
                     ScheduleForm, SurveyForm, SurveyImportForm)
from ..models import (EvaluationEvidence, EvaluationParty, EvaluationRound, EvaluationScore, Finding, RectificationItem,
                      RectificationResponse, ResponseFile, RoundEvaluator, RoundKind, RoundStatus, SatisfactionSurvey)
from ..states import ROUND
from . import bp, require_valid, state_refusals_to_the_page


def load_round(round_id: int, for_scoring: bool = False, scores: bool = False, for_cell: bool = False
               ) -> EvaluationRound:
    """The round with what its page shows; for an evaluator's scoring only the tree and the panel;
    with `scores`, the tree, the panel and every evaluator's scores (the summary and its CSV: one
    statement for the scores rather than one per evaluator); `for_cell`, an evaluator saving one
    score: the tree and the panel's rows alone (the fragment shows nothing else)."""
    if for_cell:
        ids = {"round": round_id}
        round_ = db.session.execute(_CELL_ROUND, ids).scalar_one_or_none()
        if round_ is None:
            abort(404)
        hand_out([round_], "evaluators", db.session.execute(_ROUND_EVALUATORS, ids).scalars(), "round_id")
        require(perms.can_view_round(current_user, round_))
        return round_
    if scores:
        return _round_with_scores(round_id)
    evaluators = selectinload(EvaluationRound.evaluators)
    loads = [joinedload(EvaluationRound.contract).joinedload(Contract.organization),
             joinedload(EvaluationRound.template_version), joinedload(EvaluationRound.evaluation_org),
             selectinload(EvaluationRound.parties),
             evaluators.options(joinedload(RoundEvaluator.party), joinedload(RoundEvaluator.user).joinedload(User.organization))]
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


# An evaluator saving one score: the round with its tree, then the panel's rows (built once, as the
# summary's below).
_CELL_ROUND = (sa.select(EvaluationRound).where(EvaluationRound.id == sa.bindparam("round"))
               .options(joinedload(EvaluationRound.template_version)))
_ROUND_EVALUATORS = (sa.select(RoundEvaluator).where(RoundEvaluator.round_id == sa.bindparam("round"))
                     .order_by(RoundEvaluator.id))


# The summary's reads, built once (core/loading.py): the round with its contract (and organization),
# template version and evaluating organization; then its parties with their evaluators (each with
# login and the login's organization: a row per evaluator, a party without one on a row of its own),
# and every evaluator's scores.
_SUMMARY_ROUND = (sa.select(EvaluationRound).where(EvaluationRound.id == sa.bindparam("round"))
                  .options(joinedload(EvaluationRound.contract).joinedload(Contract.organization),
                           joinedload(EvaluationRound.template_version), joinedload(EvaluationRound.evaluation_org)))
_SUMMARY_PANEL = (sa.select(EvaluationParty, RoundEvaluator)
                  .outerjoin(RoundEvaluator, RoundEvaluator.party_id == EvaluationParty.id)
                  .where(EvaluationParty.round_id == sa.bindparam("round"))
                  .options(joinedload(RoundEvaluator.user).joinedload(User.organization))
                  .order_by(EvaluationParty.position, EvaluationParty.id, RoundEvaluator.id))
_SUMMARY_SCORES = (sa.select(EvaluationScore).join(RoundEvaluator, RoundEvaluator.id == EvaluationScore.evaluator_id)
                   .where(RoundEvaluator.round_id == sa.bindparam("round")).order_by(EvaluationScore.id))


def _round_with_scores(round_id: int) -> EvaluationRound:
    ids = {"round": round_id}
    round_ = db.session.execute(_SUMMARY_ROUND, ids).scalar_one_or_none()
    if round_ is None:
        abort(404)
    parties, evaluators = {}, []
    for party, evaluator in db.session.execute(_SUMMARY_PANEL, ids).unique():
        parties.setdefault(party.id, party)
        if evaluator is not None:
            set_committed_value(evaluator, "party", party)
            evaluators.append(evaluator)
    evaluators.sort(key=lambda e: e.id)
    hand_out([round_], "parties", parties.values(), "round_id")
    hand_out([round_], "evaluators", evaluators, "round_id")
    hand_out(evaluators, "scores", db.session.execute(_SUMMARY_SCORES, ids).scalars() if evaluators else (),
             "evaluator_id")
    require(perms.can_view_round(current_user, round_))
    return round_


def round_url(round_: EvaluationRound | int, anchor: str = "") -> str:
    round_id = round_ if isinstance(round_, int) else round_.id
    return url_for("evaluations.round", round_id=round_id) + (f"#{anchor}" if anchor else "")


# --- lists ---------------------------------------------------------------------------------------


@bp.route("/")
@login_required
def rounds():
    require(perms.can_list_evaluations(current_user))
    stmt = perms.visible_rounds(current_user).join(Contract, Contract.id == EvaluationRound.contract_id)
    status = request.args.get("status", "")
    if status in {s.value for s in RoundStatus}:
        stmt = stmt.where(EvaluationRound.status == RoundStatus(status))
    q = (request.args.get("q") or "").strip()
    if q:
        pattern = like_pattern(q)
        stmt = stmt.join(Organization, Organization.id == Contract.organization_id).where(sa.or_(
            EvaluationRound.title.ilike(pattern), Contract.title.ilike(pattern), Contract.number.ilike(pattern),
            Organization.name.ilike(pattern)))
    # Of each round what the list shows (not its computed figures or locked result, JSON decoded for
    # nothing), with its contract's number and organization's name.
    page = paginate(stmt.order_by(EvaluationRound.scheduled_start.desc(), EvaluationRound.id.desc()),
                    loads=(defer(EvaluationRound.computed), defer(EvaluationRound.result),
                           joinedload(EvaluationRound.contract).load_only(Contract.id, Contract.number,
                                                                          Contract.organization_id)
                           .joinedload(Contract.organization).load_only(Organization.id, Organization.name)))
    # An evaluator's part in the listed rounds (an evaluator lists only their own), not in every round
    # they were ever given: hundreds at district scale, each read whole for a page of 25. The column
    # shows for anyone with a part in some round; on an empty page that takes a look for one.
    mine, scoring = {}, False
    if has_permission(current_user, "evaluations.score"):
        listed = [r.id for r in page.items]
        if listed:
            mine = {e.round_id: e for e in db.session.execute(sa.select(RoundEvaluator).where(
                RoundEvaluator.user_id == current_user.id, RoundEvaluator.round_id.in_(listed))).scalars()}
        scoring = bool(mine) or (not listed and db.session.execute(
            sa.select(RoundEvaluator.id).where(RoundEvaluator.user_id == current_user.id).limit(1)).first() is not None)
    # Every listed round is one the person sees: whether its result shows is its state's part alone
    # (can_view_result would read each round's evaluators again).
    results = {r.id for r in page.items if ROUND.allows("result", r)}
    template = "evaluations/_round_table.html" if request.headers.get("HX-Request") else "evaluations/rounds.html"
    return render_template(template, page=page, mine=mine, scoring=scoring, results=results,
                           statuses=list(RoundStatus))


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
        has_midterm = any(r.kind == RoundKind.MIDTERM and r.status != RoundStatus.CANCELLED
                          for r in workflow.rounds_of(contract))
        form.kind.data = RoundKind.FINAL.value if has_midterm else RoundKind.MIDTERM.value
        form.title.data = f"{contract.title} {labels.ROUND_KIND_LABELS[RoundKind(form.kind.data)]}"

    def save():
        version = db.get_or_404(indicators.TemplateVersion, form.template_version.data)
        org = db.session.get(Organization, form.evaluation_org.data) if form.evaluation_org.data else None
        round_ = workflow.create_round(
            current_user, contract, kind=RoundKind(form.kind.data), title=form.title.data,
            template_version=version, evaluation_org=org, scheduled_start=form.scheduled_start.data,
            scheduled_end=form.scheduled_end.data, target_percent=form.target_percent.data)
        return round_url(round_)

    return flow.submit(form, save, lambda **extra: render_template("evaluations/round_form.html", form=form,
                                                                   contract=contract, **extra),
                       field="title", message=_("Evaluation created. Name the scoring parties and assign evaluators."))


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


def round_page(round_id: int, **forms):
    """The round's page again with a sent form and its errors (for `flow.submit`); the round is read
    anew, as a refused save has rolled back."""
    return lambda **extra: render_template("evaluations/round.html",
                                           **_round_context(load_round(round_id), **forms), **extra)


@bp.route("/rounds/<int:round_id>")
@login_required
def round(round_id: int):
    return round_page(round_id)()


@bp.route("/rounds/<int:round_id>/schedule", methods=["POST"])
@login_required
def round_schedule(round_id: int):
    round_ = load_round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    ROUND.check("schedule", round_)
    form = ScheduleForm()

    def save():
        workflow.update_schedule(current_user, round_, title=form.title.data,
                                 scheduled_start=form.scheduled_start.data, scheduled_end=form.scheduled_end.data)
        return round_url(round_)

    return flow.submit(form, save, round_page(round_id, schedule_form=form), field="title",
                       message=_("Evaluation updated."), on_error=state_refusals_to_the_page)


@bp.route("/rounds/<int:round_id>/parties", methods=["POST"])
@login_required
def round_parties(round_id: int):
    round_ = load_round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    ROUND.check("set_parties", round_)
    rows = list(zip(request.form.getlist("party_name"), request.form.getlist("party_weight")))
    refused: dict[str, str] = {}

    def save():
        workflow.set_parties(current_user, round_, rows)
        return round_url(round_, "parties")

    def on_error(exc) -> bool:
        state_refusals_to_the_page(exc)
        refused["message"] = exc.message  # shown above the parties' table, with the rows as typed
        return True

    return flow.submit(EmptyForm(), save, lambda **extra: round_page(
        round_id, party_rows=[list(r) for r in rows], party_error=refused.get("message"))(**extra),
        field="parties", on_error=on_error, message=_("Scoring parties saved."))


@bp.route("/rounds/<int:round_id>/evaluators", methods=["POST"])
@login_required
def evaluator_add(round_id: int):
    round_ = load_round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    ROUND.check("evaluators", round_)
    form = _evaluator_choices(EvaluatorForm(), round_)

    def save():
        user = db.get_or_404(User, form.user.data)
        party = next((p for p in round_.parties if p.id == form.party.data), None)
        if party is None:
            abort(404)
        workflow.assign_evaluator(current_user, round_, user, party)
        return round_url(round_, "evaluators")

    return flow.submit(form, save, round_page(round_id, evaluator_form=form), field="user",
                       message=_("Evaluator assigned."), on_error=state_refusals_to_the_page)


@bp.route("/evaluators/<int:evaluator_id>/remove", methods=["POST"])
@login_required
def evaluator_remove(evaluator_id: int):
    member = db.get_or_404(RoundEvaluator, evaluator_id)
    require(perms.can_manage_rounds(current_user, member.round))
    round_id = member.round_id
    workflow.remove_evaluator(current_user, member)
    flash(_("Evaluator removed."), "success")
    return redirect_to(round_url(round_id, "evaluators"))


@bp.route("/rounds/<int:round_id>/<any(open, finalize):action>", methods=["POST"])
@login_required
def round_transition(round_id: int, action: str):
    round_ = load_round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    if action == "open":
        workflow.open_scoring(current_user, round_)
        message = _("Scoring is open. Output and satisfaction scores are frozen from the logs and surveys.")
    else:
        workflow.finalize(current_user, round_)
        message = _("The evaluation is finalized: %(total)s points, %(grade)s.", total=points(round_.total),
                    grade=labels.GRADE_LABELS[round_.grade])
    flash(message, "success")
    return redirect_to(round_url(round_))


@bp.route("/rounds/<int:round_id>/<any(reopen, cancel):action>", methods=["POST"])
@login_required
def round_reason_transition(round_id: int, action: str):
    round_ = load_round(round_id)
    require(perms.can_reopen_round(current_user) if action == "reopen" else perms.can_manage_rounds(current_user))
    form = ReasonForm()
    require_valid(form)
    if action == "reopen":
        workflow.reopen(current_user, round_, form.reason.data)
        message = _("The evaluation is reopened for scoring; evaluators can revise and submit again.")
    else:
        workflow.cancel(current_user, round_, form.reason.data)
        message = _("The evaluation is cancelled.")
    flash(message, "success")
    return redirect_to(round_url(round_))
