"""Service delivery's boxes on the home page: a social worker's "record a service" per contract, their
last entries and the red flags about their work; an organization's flags to explain and its outputs
against each contract's targets."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l

from ..contracts.models import Contract, ContractStatus
from ..core import charts, nav, versions
from ..core.permissions import Role, has_permission
from ..core.queues import ROWS, Queue, Row, fetch, first_rows
from ..extensions import db
from ..procurement.labels import TARGET_LABELS
from ..registry.models import Organization, SocialWorker
from . import permissions as perms
from . import progress
from .labels import ACTIVITY_TYPE_LABELS, RED_FLAG_LABELS
from .models import RedFlag, RedFlagKind, ServiceActivity, contract_worker

RUNNING = (ContractStatus.SIGNED, ContractStatus.IN_PROGRESS)
# Flags that name a social worker in their detail; the others are about entries of a contract.
ABOUT_A_WORKER = (RedFlagKind.WORKER_OVERLAP, RedFlagKind.WORKER_HOURS)
# Contracts an organization's chart shows at most (the newest running ones): the home page stays
# a glance, the progress pages hold the rest.
CHART_CONTRACTS = 4


# Red flags standing and unexplained, by contract, organization and kind: an organization's box
# to explain them, a social worker's flags about their work and the auditor's desk are kept until
# a flag, or a contract's number, organization or social workers, or an organization's name, or
# which login a social worker record belongs to and whether it is active, changes (core/versions.py).
FLAGS = "flags"
versions.watch(FLAGS, RedFlag, versions.EVERY_COLUMN)
versions.watch(FLAGS, Contract, "number", "organization_id", "workers")
versions.watch(FLAGS, Organization, "name")
versions.watch(FLAGS, SocialWorker, "user_id", "active")
# A social worker's flag groups, per organization and login (the rows only: each page words them).
_kept_worker_flags = versions.Kept(FLAGS, size=1024)


def _flag_group_rows(*where) -> list:
    """Unexplained flags by contract and kind, the longest waiting first, with how many flags in
    all: one statement (a contract's flags of one kind are explained on one page)."""
    n = sa.func.count(RedFlag.id)
    since = sa.func.min(RedFlag.found_at)
    return db.session.execute(
        sa.select(RedFlag.contract_id, Contract.number, RedFlag.kind, n.label("n"), since.label("since"),
                  sa.func.sum(n).over().label("flags"))
        .join(Contract, Contract.id == RedFlag.contract_id)
        .where(RedFlag.active, RedFlag.explanation == "", *where)
        .group_by(RedFlag.contract_id, Contract.number, RedFlag.kind)
        .order_by(since, RedFlag.contract_id, RedFlag.kind).limit(ROWS)).all()


def _flag_groups(*where, rows: list | None = None) -> tuple[list[Row], int, int]:
    """The flag groups (`rows` when read already) as the box's rows, with how many flags in all and
    how many the rows hold."""
    rows = _flag_group_rows(*where) if rows is None else rows
    return [Row(label=f"{r.number} · {RED_FLAG_LABELS[RedFlagKind(getattr(r.kind, 'value', r.kind))]} · "
                      + ngettext("%(num)d flag", "%(num)d flags", r.n),
                url=url_for("delivery.contract_flags", contract_id=r.contract_id), since=r.since)
            for r in rows], (int(rows[0].flags) if rows else 0), sum(r.n for r in rows)


def organization_flags(user) -> dict:
    rows, total, shown = _flag_groups(Contract.organization_id == user.organization_id)
    for row in rows:
        row.action = _l("Explain")
    return {"key": "flags", "heading": _l("Service delivery"), "queues": [
        Queue("flags-explain", _l("Red flags to explain"), total=total, shown=shown, rows=rows)]}


def worker_queues(user) -> dict:
    """The contracts the worker is assigned to (a shortcut to record a service on each), the
    entries they made last, and the unexplained red flags about them or their contracts' entries."""
    # The login's active worker record is found inside each statement (by its login), not read apart.
    worker_id = (sa.select(SocialWorker.id).where(SocialWorker.user_id == user.id, SocialWorker.active)
                 .scalar_subquery())
    assigned = sa.select(contract_worker.c.contract_id).where(contract_worker.c.social_worker_id == worker_id)
    contracts, contracts_total = fetch(
        sa.select(Contract.id, Contract.number, Contract.title)
        .where(Contract.id.in_(assigned), Contract.organization_id == user.organization_id,
               Contract.status.in_(RUNNING))
        .order_by(Contract.number, Contract.id), limit=10)
    entries = first_rows(
        sa.select(ServiceActivity.id, ServiceActivity.type, ServiceActivity.activity_date, ServiceActivity.topic,
                  ServiceActivity.created_at, Contract.number)
        .join(Contract, Contract.id == ServiceActivity.contract_id)
        .where(ServiceActivity.created_by_id == user.id, Contract.organization_id == user.organization_id)
        .order_by(ServiceActivity.created_at.desc(), ServiceActivity.id.desc()))
    entries_total = len(entries)
    about_me = sa.or_(
        sa.and_(RedFlag.kind.in_(ABOUT_A_WORKER), RedFlag.detail["worker_id"].as_integer() == worker_id),
        sa.and_(RedFlag.kind.not_in(ABOUT_A_WORKER), RedFlag.contract_id.in_(assigned)))
    flags, flags_total, flags_shown = _flag_groups(rows=_kept_worker_flags.get(
        (user.organization_id, user.id),
        lambda: _flag_group_rows(about_me, Contract.organization_id == user.organization_id)))
    return {"key": "services", "heading": _l("Service delivery"), "queues": [
        Queue("record", _l("Record a service"), total=contracts_total, counted=False,
              rows=[Row(label=f"{r.number} {r.title}", action=_l("Record a service"),
                        url=url_for("delivery.activity_new", contract_id=r.id)) for r in contracts]),
        Queue("entries", _l("My last entries"), total=entries_total, counted=False,
              rows=[Row(label=f"{r.activity_date} · {ACTIVITY_TYPE_LABELS[getattr(r.type, 'value', r.type)]}"
                              f"{' · ' + r.topic if r.topic else ''} · {r.number}",
                        url=url_for("delivery.activity", activity_id=r.id)) for r in entries]),
        Queue("my-flags", _l("Red flags about my work"), total=flags_total, shown=flags_shown, rows=flags),
    ]}


def outputs(user) -> dict:
    """Outputs against targets for the organization's newest running contracts, each chart leading
    to the contract's progress page; the figures are the kept ones (one statement for all that are
    current, read with the contracts)."""
    items = []
    for contract, result in progress.with_kept(
            sa.select(Contract).where(Contract.organization_id == user.organization_id, Contract.status.in_(
                (*RUNNING, ContractStatus.COMPLETED)))
            .order_by(Contract.start_date.desc(), Contract.id.desc()).limit(CHART_CONTRACTS)):
        bars = [charts.Bar(str(TARGET_LABELS[name]), actual, target)
                for name, actual, target in result.against(contract) if target]
        if not bars:
            continue
        items.append({"contract": contract, "chart": charts.progress_bars(
            bars, _("%(number)s: outputs against targets", number=contract.number), width=520),
            "url": url_for("delivery.contract_progress", contract_id=contract.id),
            "rows": [(TARGET_LABELS[name], actual, target) for name, actual, target in result.against(contract)
                     if target]})
    return {"key": "outputs", "heading": _l("Outputs against targets"), "items": items}


def _social_worker(user) -> bool:
    return user.role == Role.SOCIAL_WORKER and bool(user.organization_id) and has_permission(user, "delivery.record")


def _org_manager(user) -> bool:
    return user.role == Role.ORG_MANAGER and bool(user.organization_id) and has_permission(user, "flags.explain")


nav.panel("services", "delivery/_panel_queue.html", order=5, visible=_social_worker, context=worker_queues)
nav.panel("flags", "delivery/_panel_queue.html", order=30, visible=_org_manager, context=organization_flags,
          kept=(FLAGS,))
nav.panel("outputs", "delivery/_panel_outputs.html", order=91,
          visible=lambda user: _org_manager(user) and perms.can_list_beneficiaries(user), context=outputs)
