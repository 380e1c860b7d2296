"""An evaluator's declaration and scoring pages, and the finalized result with its scores."""
from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...contracts.forms import EmptyForm
from ...core import charts, exports, flow
from ...core.errors import ValidationError
from ...core.formatting import points
from ...core.permissions import require
from ...core.web import is_htmx, redirect_to
from .. import indicators, workflow
from .. import permissions as perms
from ..forms import DeclarationForm
from ..models import EvaluationRound, RoundEvaluator
from ..results import first_level
from ..states import ROUND
from ..tree import LeafKind
from . import bp
from .rounds import load_round, round_url


def _own_member(round_: EvaluationRound) -> RoundEvaluator:
    member = perms.assignment(current_user, round_)
    require(member is not None and perms.can_score_round(current_user, round_))
    return member


@bp.route("/rounds/<int:round_id>/declare", methods=["GET", "POST"])
@login_required
def declare(round_id: int):
    round_ = load_round(round_id, for_scoring=True)
    member = _own_member(round_)
    form = DeclarationForm()

    def save():
        workflow.declare(current_user, member, related=form.related.data, note=form.note.data)
        if member.conflicted:
            flash(_("Thank you. Because of the declared relation you will not score this evaluation."), "info")
            return round_url(round_)
        flash(_("Declaration recorded."), "success")
        if ROUND.allows("score", round_):
            return url_for("evaluations.score", round_id=round_.id)
        return round_url(round_)

    return flow.submit(form, save, lambda **extra: render_template(
        "evaluations/declare.html", round=round_, contract=round_.contract, member=member, form=form, **extra),
        field="note")


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
                locked=not perms.can_score_as_member(current_user, member))


@bp.route("/rounds/<int:round_id>/score")
@login_required
def score(round_id: int):
    # The tree and the panel: not the round's surveys, evidence and findings, which an evaluator's
    # scoring page does not show.
    round_ = load_round(round_id, for_scoring=True)
    member = _own_member(round_)
    if member.declared_at is None:
        return redirect_to(url_for("evaluations.declare", round_id=round_.id))
    if member.conflicted:
        flash(_("You declared a relation with the evaluated organization and cannot score it."), "info")
        return redirect_to(round_url(round_))
    if ROUND.allows("open", round_):  # still being prepared
        flash(_("Scoring has not opened yet."), "info")
        return redirect_to(round_url(round_))
    return render_template("evaluations/score.html", **_scoring_context(round_, member))


@bp.route("/rounds/<int:round_id>/score/<leaf_key>", methods=["POST"])
@login_required
def score_cell(round_id: int, leaf_key: str):
    round_ = load_round(round_id, for_cell=True)
    member = _own_member(round_)
    leaf = next((leaf for leaf in workflow.scored_leaves(round_) if leaf.key == leaf_key), None)
    if leaf is None:
        abort(404)
    error = None
    try:
        workflow.save_score(current_user, member, leaf_key, request.form.get("points", ""),
                            request.form.get("comment", ""))
    except ValidationError as exc:  # shown in the cell; nothing was changed (the request rolls back)
        if not is_htmx():
            raise  # a full-page post: the scoring page again, with the message by the cell
        error = exc.message
    context = _scoring_context(round_, member)
    parts = leaf_key.split(".")
    ancestors = {".".join(parts[:n]) for n in range(1, len(parts))}
    return render_template("evaluations/_score_leaf.html", leaf=leaf, error=error, ancestors=ancestors,
                           submitted_points=request.form.get("points", ""),
                           submitted_comment=request.form.get("comment", ""), **context), (422 if error else 200)


@bp.route("/rounds/<int:round_id>/score/submit", methods=["POST"])
@login_required
def score_submit(round_id: int):
    round_ = load_round(round_id)
    member = _own_member(round_)
    workflow.submit_scores(current_user, member)
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
    round_ = load_round(round_id, scores=True)
    if not perms.can_view_result(current_user, round_):
        return render_template("evaluations/summary_pending.html", round=round_, contract=round_.contract), 409
    return render_template("evaluations/summary.html", **_summary_context(round_))


@bp.route("/rounds/<int:round_id>/scores.csv")
@login_required
def scores_csv(round_id: int):
    """Every submitted score with its comment, once the round is finalized."""
    round_ = load_round(round_id, scores=True)
    if not perms.can_view_result(current_user, round_):
        abort(409)
    leaves = {leaf.key: leaf for leaf in indicators.leaves_of(round_.template_version)}
    header = [_("Party"), _("Party weight"), _("Evaluator"), _("Indicator code"), _("Indicator"),
              _("Full marks"), _("Points scored"), _("Comment")]

    def rows():
        for member in round_.evaluators:
            if member.conflicted or member.submitted_at is None:
                continue
            order = list(leaves)
            for score_ in sorted(member.scores, key=lambda s: order.index(s.leaf_key) if s.leaf_key in leaves else 0):
                leaf = leaves.get(score_.leaf_key)
                yield [member.party.name, points(member.party.weight), member.user.full_name or member.user.username,
                       score_.leaf_key, leaf.name if leaf else "", points(leaf.weight) if leaf else "",
                       points(score_.points), score_.comment]

    # Formula-safe like every export (core/exports.py): comments are typed by evaluators.
    return exports.csv_response(f"evaluation-{round_.id}-scores", header, list(rows()))
