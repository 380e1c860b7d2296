"""Satisfaction surveys and the organization's evidence, entered on the round's page before scoring."""
from __future__ import annotations

from flask import Response, flash, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core import flow
from ...core.permissions import require
from ...core.web import redirect_to, send_stored
from ...extensions import db
from .. import permissions as perms
from .. import surveys, workflow
from ..forms import EvidenceForm, SurveyForm, SurveyImportForm
from ..models import EvaluationEvidence, SatisfactionSurvey
from ..states import ROUND
from . import bp, state_refusals_to_the_page
from .rounds import load_round, round_page, round_url


@bp.route("/rounds/<int:round_id>/evidence", methods=["POST"])
@login_required
def evidence_add(round_id: int):
    round_ = load_round(round_id)
    require(perms.can_submit_evidence(current_user, round_))
    ROUND.check("evidence", round_)
    form = EvidenceForm()

    def save():
        workflow.add_evidence(current_user, round_, request.files.get("file"), form.title.data)
        return round_url(round_, "evidence")

    return flow.submit(form, save, round_page(round_id, evidence_form=form), field="file",
                       message=_("Evidence added."), on_error=state_refusals_to_the_page)


@bp.route("/evidence/<int:exhibit_id>")
@login_required
def evidence_file(exhibit_id: int):
    item = db.get_or_404(EvaluationEvidence, exhibit_id)
    require(perms.can_view_round(current_user, item.round))
    return send_stored(item.file)


def _leaf_choices(form, round_):
    form.leaf_key.choices = [(leaf.key, leaf.name) for leaf in workflow.satisfaction_leaves(round_)]
    return form


@bp.route("/rounds/<int:round_id>/surveys", methods=["POST"])
@login_required
def survey_add(round_id: int):
    round_ = load_round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    ROUND.check("surveys", round_)
    form = _leaf_choices(SurveyForm(), round_)

    def save():
        workflow.add_survey(current_user, round_, leaf_key=form.leaf_key.data, group_name=form.group_name.data,
                            surveyed=form.surveyed.data, satisfied=form.satisfied.data,
                            surveyed_on=form.surveyed_on.data, note=form.note.data)
        return round_url(round_, "surveys")

    return flow.submit(form, save, round_page(round_id, survey_form=form), field="group_name",
                       message=_("Survey responses recorded."), on_error=state_refusals_to_the_page)


@bp.route("/rounds/<int:round_id>/surveys/import", methods=["POST"])
@login_required
def survey_import(round_id: int):
    round_ = load_round(round_id)
    require(perms.can_manage_rounds(current_user, round_))
    ROUND.check("surveys", round_)
    form = _leaf_choices(SurveyImportForm(), round_)

    def save():
        added = surveys.import_responses(current_user, round_, leaf_key=form.leaf_key.data,
                                         upload=request.files.get("file"), surveyed_on=form.surveyed_on.data)
        flash(_("Imported %(n)d respondents in %(g)d groups.", n=sum(s.surveyed for s in added), g=len(added)),
              "success")
        return round_url(round_, "surveys")

    return flow.submit(form, save, round_page(round_id, import_form=form), field="file",
                       on_error=state_refusals_to_the_page)


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
    round_id = survey.round_id
    workflow.remove_survey(current_user, survey)
    flash(_("Survey removed."), "success")
    return redirect_to(round_url(round_id, "surveys"))


@bp.route("/surveys/<int:survey_id>/file")
@login_required
def survey_file(survey_id: int):
    survey = db.get_or_404(SatisfactionSurvey, survey_id)
    require(perms.can_view_round(current_user, survey.round) and survey.file is not None)
    return send_stored(survey.file)
