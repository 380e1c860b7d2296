"""What is due (the reminders page) and the public contract notices."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core.permissions import require
from ...core.web import is_htmx, paginate
from ...extensions import db
from .. import deadlines
from .. import permissions as perms
from .. import workflow
from ..models import PUBLIC_CONTRACT_STATUSES, Contract, Milestone
from ..reminders import badge, reminder, reminder_query
from . import bp
from .contracts import with_page_loads


# Rows of each kind of deadline the reminders page lists (it says how many more there are).
DUE_ROWS = 50


@bp.route("/reminders")
@login_required
def reminders():
    require(perms.can_list_contracts(current_user))
    today = workflow.today()
    stmt = reminder_query(current_user, today)
    # The menu's badge counts these same reminders, and is kept between changes (contracts/reminders.py).
    page = paginate(stmt if stmt is not None else sa.select(Milestone).where(sa.false()),
                    total=badge(current_user) if stmt is not None else 0)
    items = [reminder(current_user, m, today) for m in page.items]
    if is_htmx():
        return render_template("contracts/_reminder_table.html", items=items, page=page)
    return render_template("contracts/reminders.html", items=items, page=page, today=today,
                           due=deadlines.all_due_for(current_user, DUE_ROWS), kind_labels=deadlines.KIND_LABELS)


@bp.route("/notices/contracts")
def contract_notices():
    stmt = (sa.select(Contract).where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES))
            .order_by(Contract.signed_on.desc(), Contract.id.desc()).options(joinedload(Contract.organization)))
    page = paginate(stmt)
    template = "contracts/_notice_list.html" if is_htmx() else "contracts/notices.html"
    return render_template(template, page=page)


@bp.route("/notices/contracts/<int:contract_id>")
def contract_notice(contract_id: int):
    item = with_page_loads(contract_id)
    if item is None or not item.is_public:
        abort(404)
    return render_template("contracts/notice.html", contract=item, amounts=workflow.tranche_amounts(item))
