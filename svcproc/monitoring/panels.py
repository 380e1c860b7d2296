"""Monitoring's box on procurement staff's home page: the findings waiting for the bureau's answer.
(Auditors find the cases through the desk and the menu: their home page keeps its statement bound.)"""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from ..core import nav, versions
from ..core.queues import Queue, Row, fetch
from ..procurement.models import Tender
from . import permissions as perms
from .models import MonitoringCase, MonitoringStatus


# Kept for each person until a case, or a tender's number, changes (core/versions.py).
QUEUES = "monitoring_queues"
versions.watch(QUEUES, MonitoringCase, versions.EVERY_COLUMN)
versions.watch(QUEUES, Tender, "number")


def _cases(status: MonitoringStatus):
    return fetch(sa.select(MonitoringCase.id, MonitoringCase.subject, MonitoringCase.status_changed_at,
                           Tender.number)
                 .join(Tender, Tender.id == MonitoringCase.tender_id)
                 .where(MonitoringCase.status == status)
                 .order_by(MonitoringCase.status_changed_at, MonitoringCase.id))


def _rows(rows, action) -> list[Row]:
    return [Row(label=f"{r.number} {r.subject}", url=url_for("monitoring.case", case_id=r.id), action=action,
                since=r.status_changed_at) for r in rows]


def bureau_queue(user) -> dict:
    rows, total = _cases(MonitoringStatus.AWAITING_ANSWER)
    return {"key": "monitoring", "heading": _l("Monitoring"), "queues": [
        Queue("monitoring-answer", _l("Monitoring findings to answer"), total=total,
              more_url=url_for("monitoring.cases"), rows=_rows(rows, _l("Answer"))),
    ]}


nav.panel("monitoring", "contracts/_panel_queue.html", order=25, visible=perms.can_answer_cases, context=bureau_queue,
          kept=(QUEUES,))
