"""Evaluations' boxes on the home page: an evaluator's rounds to declare on and to score, the
rectification items an organization answers and the bureau reviews, and the administrator's
indicator templates left in draft."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from ..contracts.models import Contract
from ..core import nav, versions
from ..core.permissions import Role, has_permission
from ..core.queues import Queue, Row, fetch
from . import permissions as perms
from .models import (EvaluationRound, Finding, IndicatorTemplate, ItemStatus, RectificationItem, RoundEvaluator,
                     RoundStatus, TemplateVersion, VersionStatus)

R = RoundStatus


def evaluator_queues(user) -> dict:
    """Only the rounds the evaluator is assigned to: a declaration first, then the scores."""
    base = (sa.select(EvaluationRound.id, EvaluationRound.title, EvaluationRound.scheduled_end, Contract.number)
            .join(RoundEvaluator, RoundEvaluator.round_id == EvaluationRound.id)
            .join(Contract, Contract.id == EvaluationRound.contract_id)
            .where(RoundEvaluator.user_id == user.id)
            .order_by(EvaluationRound.scheduled_end, EvaluationRound.id))
    declare, declare_total = fetch(base.where(EvaluationRound.status.in_([R.PLANNED, R.SCORING]),
                                              RoundEvaluator.declared_at.is_(None)))
    score, score_total = fetch(base.where(EvaluationRound.status == R.SCORING, RoundEvaluator.declared_at.is_not(None),
                                          RoundEvaluator.conflicted.is_(False), RoundEvaluator.submitted_at.is_(None)))
    return {"key": "rounds", "heading": _l("Evaluations"), "queues": [
        Queue("round-declare", _l("Evaluations to declare on"), total=declare_total,
              more_url=url_for("evaluations.rounds"),
              rows=[Row(label=f"{r.number} {r.title}", due=r.scheduled_end, action=_l("Declare any conflict of interest"),
                        url=url_for("evaluations.declare", round_id=r.id)) for r in declare]),
        Queue("round-score", _l("Evaluations to score"), total=score_total, more_url=url_for("evaluations.rounds"),
              rows=[Row(label=f"{r.number} {r.title}", due=r.scheduled_end, action=_l("Score"),
                        url=url_for("evaluations.score", round_id=r.id)) for r in score]),
    ]}


# The rectification boxes are kept for each person until an item, the round of its finding or the
# contract's number changes (core/versions.py).
ITEMS = "rectification_queues"
versions.watch(ITEMS, RectificationItem, versions.EVERY_COLUMN)
versions.watch(ITEMS, Finding, "round_id")
versions.watch(ITEMS, EvaluationRound, "contract_id")
versions.watch(ITEMS, Contract, "number", "organization_id")


def _items(status: ItemStatus) -> sa.Select:
    return (sa.select(RectificationItem.id, RectificationItem.action, RectificationItem.deadline,
                      EvaluationRound.id.label("round_id"), Contract.number)
            .join(Finding, Finding.id == RectificationItem.finding_id)
            .join(EvaluationRound, EvaluationRound.id == Finding.round_id)
            .join(Contract, Contract.id == EvaluationRound.contract_id)
            .where(RectificationItem.status == status)
            .order_by(RectificationItem.deadline, RectificationItem.id))


def _item_rows(rows, action) -> list[Row]:
    return [Row(label=f"{r.number} · {r.action[:60]}", due=r.deadline, action=action,
                url=url_for("evaluations.round", round_id=r.round_id) + f"#item-{r.id}") for r in rows]


def organization_items(user) -> dict:
    rows, total = fetch(_items(ItemStatus.OPEN).where(Contract.organization_id == user.organization_id))
    return {"key": "rectification", "heading": _l("Rectification"), "queues": [
        Queue("items-answer", _l("Rectification items to answer"), total=total,
              more_url=url_for("evaluations.rectification", status="open"), rows=_item_rows(rows, _l("Answer")))]}


def bureau_items(user) -> dict:
    rows, total = fetch(_items(ItemStatus.RESPONDED))
    return {"key": "rectification-review", "heading": _l("Rectification"), "queues": [
        Queue("items-review", _l("Rectification to review"), total=total,
              more_url=url_for("evaluations.rectification", status="responded"), rows=_item_rows(rows, _l("Review")))]}


def draft_templates(user) -> dict:
    rows, total = fetch(sa.select(TemplateVersion.id, TemplateVersion.number, TemplateVersion.created_at,
                                  IndicatorTemplate.name)
                        .join(IndicatorTemplate, IndicatorTemplate.id == TemplateVersion.template_id)
                        .where(TemplateVersion.status == VersionStatus.DRAFT)
                        .order_by(TemplateVersion.created_at, TemplateVersion.id))
    return {"key": "templates", "heading": _l("Indicator templates"), "queues": [
        Queue("templates-draft", _l("Templates in draft"), total=total, more_url=url_for("evaluations.templates"),
              rows=[Row(label=f"{r.name} v{r.number}", since=r.created_at, action=_l("Finish and publish"),
                        url=url_for("evaluations.version_edit", version_id=r.id)) for r in rows])]}


def _evaluator(user) -> bool:
    return user.role == Role.EVALUATOR and has_permission(user, "evaluations.score")


def _responds(user) -> bool:
    return user.role == Role.ORG_MANAGER and bool(user.organization_id) and has_permission(user, "evaluations.respond")


nav.panel("rounds", "evaluations/_panel_queue.html", order=15, visible=_evaluator, context=evaluator_queues)
nav.panel("rectification", "evaluations/_panel_queue.html", order=40, visible=_responds, context=organization_items,
          kept=(ITEMS,))
nav.panel("rectification-review", "evaluations/_panel_queue.html", order=40,
          visible=lambda user: perms.can_review_rectification(user), context=bureau_items, kept=(ITEMS,))
nav.panel("templates", "evaluations/_panel_queue.html", order=50, visible=perms.can_manage_templates,
          context=draft_templates)
