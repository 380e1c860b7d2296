"""Red flags: the district's list, a contract's flags, and their explanations."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...contracts.models import Contract
from ...contracts.permissions import can_view_contract
from ...core import exports
from ...core.errors import ValidationError
from ...core.formatting import local_datetime
from ...core.loading import point_to
from ...core.permissions import require
from ...core.web import capped_count_column, is_htmx, page_end, paginate, redirect_to
from ...extensions import db
from ...registry.models import Organization, SocialWorker
from .. import permissions as perms
from ..labels import worker_labels
from ..flags import explain_flag
from ..forms import ExplainForm
from ..labels import RED_FLAG_LABELS
from ..models import RedFlag, RedFlagKind, red_flag_contract
from . import bp
from .common import contract_or_404, local_or


DISTRICT_ORDER = (RedFlag.found_at.desc(), RedFlag.id.desc())
CONTRACT_ORDER = (RedFlag.kind, RedFlag.id)


def _district_flags() -> tuple[sa.Select, str, str]:
    """The district's flags with the request's filters (kind, explained or not): page and export."""
    kind = request.args.get("kind", "")
    state = request.args.get("state", "open")
    stmt = perms.visible_red_flags(current_user)
    if kind in {k.value for k in RedFlagKind}:
        stmt = stmt.where(RedFlag.kind == RedFlagKind(kind))
    if state == "open":
        stmt = stmt.where(RedFlag.explanation == "")
    elif state == "explained":
        stmt = stmt.where(RedFlag.explanation != "")
    return stmt, kind, state


_CONTRACTS = sa.select(Contract).where(Contract.id.in_(sa.bindparam("ids", expanding=True)))


@bp.route("/red-flags")
@login_required
def red_flags():
    require(perms.can_view_red_flags(current_user))
    stmt, kind, state = _district_flags()
    # The page's flags first (an index in their order serves it), then their contracts by key: joined,
    # the planner hashed every contract of the district to sort the flags. The contracts' statement is
    # built once (core/loading.py).
    page = paginate(stmt.order_by(*DISTRICT_ORDER), loads=_FLAG_LOADS)
    contract_ids = sorted({f.contract_id for f in page.items})
    point_to(page.items, "contract", db.session.execute(_CONTRACTS, {"ids": contract_ids}).scalars()
             if contract_ids else (), "contract_id")
    template = "delivery/_flag_table.html" if is_htmx() else "delivery/red_flags.html"
    return render_template(template, page=page, kind=kind, state=state, explain_form=ExplainForm(),
                           worker_names=_worker_names(page.items))


# A page of flags is read with the social workers they name (RedFlag.named_worker).
_FLAG_LOADS = (joinedload(RedFlag.named_worker),)


def _worker_names(flags) -> dict[int, str]:
    """Names of the social workers the flags are about, read with them (`_FLAG_LOADS`)."""
    workers = {f.named_worker.id: f.named_worker for f in flags if f.named_worker is not None}
    return worker_labels(workers.values())  # namesakes told apart by number and masked phone


@bp.route("/red-flags/<int:flag_id>/explain", methods=["POST"])
@login_required
def red_flag_explain(flag_id: int):
    flag = db.get_or_404(RedFlag, flag_id)
    require(perms.can_explain_flag(current_user, flag))
    form = ExplainForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Write the explanation."), "note")
    explain_flag(current_user, flag, form.note.data)
    flash(_("Explanation recorded."), "success")
    return redirect_to(local_or(url_for("delivery.red_flags")))


@bp.route("/contracts/<int:contract_id>/red-flags")
@login_required
def contract_flags(contract_id: int):
    # A busy contract gathers flags without limit: a page at a time, in the order they are read.
    # Every flag concerning the contract, the ones filed under another contract too; the contract is
    # read with how many there are (capped), in one statement.
    visible = perms.visible_red_flags(current_user)
    found = db.session.execute(sa.select(Contract, capped_count_column(visible.where(RedFlag.concerning(contract_id))))
                               .where(Contract.id == contract_id)).one_or_none()
    if found is None:
        abort(404)
    contract, total = found
    require(can_view_contract(current_user, contract))
    page = paginate(visible.where(RedFlag.id.in_(_concerning_up_to(visible, contract.id, page_end(total))))
                    .order_by(*CONTRACT_ORDER), total=total, loads=(joinedload(RedFlag.contract), *_FLAG_LOADS))
    template = "delivery/_contract_flag_table.html" if is_htmx() else "delivery/contract_flags.html"
    return render_template(template, contract=contract, page=page, explain_form=ExplainForm(),
                           worker_names=_worker_names(page.items))


def _concerning_up_to(visible: sa.Select, contract_id: int, end: int) -> sa.Select:
    """The ids of the first `end` flags (in the page's order) of each side of those concerning the
    contract: filed under it (`ix_red_flag_contract_active` gives them in order) and filed under
    another contract but linked to it (a few). Asked at once (`RedFlag.concerning`), the two sides
    fit no one index, and PostgreSQL sorted every standing flag of the district to keep a page."""
    L = red_flag_contract
    sides = [visible.where(RedFlag.contract_id == contract_id),
             visible.join(L, L.c.red_flag_id == RedFlag.id).where(L.c.contract_id == contract_id)]
    # Each side a subquery of its own (SQLite takes no ORDER BY or LIMIT in a part of a UNION).
    firsts = [side.with_only_columns(RedFlag.id).order_by(*CONTRACT_ORDER).limit(end).subquery() for side in sides]
    return sa.union_all(*(sa.select(first.c.id) for first in firsts))


# --- exports: the flags as listed, one streamed statement, and the workers' names in one more ------


def _flag_export(fmt: str, listed: sa.Select, order, filename: str, workers: sa.Select):
    stmt = exports.bounded(
        sa.select(RedFlag.found_at, RedFlag.kind, Contract.number, Contract.title, Organization.name, RedFlag.detail,
                  RedFlag.activity_ids, RedFlag.explanation, RedFlag.explained_at)
        .select_from(RedFlag).join(Contract, Contract.id == RedFlag.contract_id)
        .join(Organization, Organization.id == Contract.organization_id)
        .where(exports.rows_of(listed)).order_by(*order))
    # The detail names a worker by id: the names of the workers who could be named, read once.
    names = dict(db.session.execute(workers.with_only_columns(SocialWorker.id, SocialWorker.name)).all())

    def rows():
        for found_at, kind, number, title, organization, detail, entries, explanation, explained_at in \
                db.session.execute(stmt):
            detail = detail or {}
            yield [local_datetime(found_at), RED_FLAG_LABELS[kind], number, title, organization,
                   names.get(detail.get("worker_id"), ""), detail.get("date") or "", detail.get("hours") or "",
                   detail.get("count") or "", "、".join(f"#{i}" for i in entries or []), explanation,
                   local_datetime(explained_at)]

    return exports.export_response(
        fmt, exports.stamped(filename),
        [_("Found"), _("Kind"), _("Contract"), _("Title"), _("Organization"), _("Social worker"), _("Date"),
         _("Hours"), _("Copies"), _("Entries"), _("Explanation"), _("Explained")], rows(), title=_("Red flags"))


@bp.route("/red-flags/export.<any(csv, xlsx):fmt>")
@login_required
def red_flags_export(fmt: str):
    require(perms.can_view_red_flags(current_user))
    listed, _kind, _state = _district_flags()
    return _flag_export(fmt, listed, DISTRICT_ORDER, _("Red flags"), sa.select(SocialWorker))


@bp.route("/contracts/<int:contract_id>/red-flags/export.<any(csv, xlsx):fmt>")
@login_required
def contract_flags_export(contract_id: int, fmt: str):
    contract = contract_or_404(contract_id)
    listed = perms.visible_red_flags(current_user).where(RedFlag.concerning(contract.id))
    return _flag_export(fmt, listed, CONTRACT_ORDER, f"{_('Red flags')}-{contract.number}",
                        sa.select(SocialWorker).where(SocialWorker.organization_id == contract.organization_id))
