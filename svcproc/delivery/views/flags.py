"""Red flags: the district's list, a contract's flags, and their explanations."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core.errors import ValidationError
from ...core.permissions import require
from ...core.web import is_htmx, paginate, redirect_to
from ...extensions import db
from ...registry.models import SocialWorker
from .. import permissions as perms
from ..labels import worker_labels
from ..flags import explain_flag
from ..forms import ExplainForm
from ..models import RedFlag, RedFlagKind
from . import bp
from .common import contract_or_404, local_or


@bp.route("/red-flags")
@login_required
def red_flags():
    require(perms.can_view_red_flags(current_user))
    kind = request.args.get("kind", "")
    state = request.args.get("state", "open")
    stmt = (perms.visible_red_flags(current_user).order_by(RedFlag.found_at.desc(), RedFlag.id.desc())
            .options(joinedload(RedFlag.contract)))
    if kind in {k.value for k in RedFlagKind}:
        stmt = stmt.where(RedFlag.kind == RedFlagKind(kind))
    if state == "open":
        stmt = stmt.where(RedFlag.explanation == "")
    elif state == "explained":
        stmt = stmt.where(RedFlag.explanation != "")
    page = paginate(stmt)
    template = "delivery/_flag_table.html" if is_htmx() else "delivery/red_flags.html"
    return render_template(template, page=page, kind=kind, state=state, explain_form=ExplainForm(),
                           worker_names=_worker_names(page.items))


def _worker_names(flags) -> dict[int, str]:
    """Names of the social workers the flags are about, in one query."""
    ids = {f.detail.get("worker_id") for f in flags if f.detail.get("worker_id")}
    if not ids:
        return {}
    workers = db.session.execute(sa.select(SocialWorker.id, SocialWorker.name, SocialWorker.phone)
                                 .where(SocialWorker.id.in_(ids))).all()
    return worker_labels(workers)  # namesakes told apart by number and masked phone


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
    contract = contract_or_404(contract_id)
    # A busy contract gathers flags without limit: a page at a time, in the order they are read.
    # Every flag concerning the contract, the ones filed under another contract too.
    page = paginate(perms.visible_red_flags(current_user).where(RedFlag.concerning(contract.id))
                    .options(joinedload(RedFlag.contract)).order_by(RedFlag.kind, RedFlag.id))
    template = "delivery/_contract_flag_table.html" if is_htmx() else "delivery/contract_flags.html"
    return render_template(template, contract=contract, page=page, explain_form=ExplainForm(),
                           worker_names=_worker_names(page.items))
