"""Pages anyone can use without an account: submit and follow a need, read public notices."""
from __future__ import annotations

import functools
from io import BytesIO

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from ..core import files, flow, nav, versions
from ..extensions import db
from ..registry.models import Area, AreaLevel
from . import labels, needs
from .forms import NeedForm
from .models import Bid, Clarification, ObjectionSubject, ServiceCategory, Tender, TenderDocument, TenderExpert

bp = Blueprint("public", __name__)
nav.menu("public.notices", _l("Public notices"), order=0, visible=lambda user: True, public=True)
nav.menu("public.need_new", _l("Raise a community need"), order=1, visible=lambda user: True, public=True)
nav.menu("public.need_track", _l("Follow a need"), order=2, visible=lambda user: True, public=True)


@bp.app_context_processor
def _labels():
    return {"category_labels": labels.CATEGORY_LABELS, "need_status_labels": labels.NEED_STATUS_LABELS,
            "method_labels": labels.METHOD_LABELS, "tender_status_labels": labels.TENDER_STATUS_LABELS,
            "target_labels": labels.TARGET_LABELS, "bid_status_labels": labels.BID_STATUS_LABELS,
            "objection_status_labels": labels.OBJECTION_STATUS_LABELS,
            "objection_subject_labels": labels.OBJECTION_SUBJECT_LABELS,
            "complaint_status_labels": labels.COMPLAINT_STATUS_LABELS, "objection_subjects": ObjectionSubject}


def _communities():
    """Every community with its street and district, whose names its choice reads (`Area.path`), in
    one statement: a street read in turn for each community cost a statement a street."""
    return db.session.execute(
        sa.select(Area).where(Area.level == AreaLevel.COMMUNITY).order_by(Area.code)
        .options(joinedload(Area.parent).joinedload(Area.parent))).unique().scalars().all()


@bp.route("/needs/new", methods=["GET", "POST"])
def need_new():
    form = NeedForm()
    form.fill_choices(_communities())
    submitted = []

    def save():
        community = db.session.get(Area, int(form.community_id.data)) if form.community_id.data.isdigit() else None
        submitted.append(needs.submit_need(community=community, category=ServiceCategory(form.category.data),
                                           description=form.description.data, contact_name=form.contact_name.data or "",
                                           contact_phone=form.contact_phone.data or ""))
        return url_for("public.need_track", code=submitted[0].receipt_code)

    def page(**extra):
        return render_template("public/need_form.html", form=form, **extra)

    return flow.submit(form, save, page, field="description", message=lambda: _(
        "Your need has been received. Keep the receipt code %(code)s to follow it.", code=submitted[0].receipt_code))


@bp.route("/needs/track")
def need_track():
    code = request.args.get("code", "").strip()
    need = needs.find_by_receipt(code) if code else None
    shown = needs.effective_need(need) if need else None
    status = 404 if code and need is None else 200
    trace = None
    if shown is not None and shown.plan is not None:
        from ..public.sharing import need_trace

        trace = need_trace(shown)
    return render_template("public/need_track.html", code=code, need=need, shown=shown, trace=trace), status


@functools.lru_cache(maxsize=16)
def _tender_statement(watched: tuple[str, ...] | None) -> sa.Select:
    """The tender with its plan, and for a visitor (who has no account read with the versions) the
    versions of the `watched` kinds of data, so the notice's deadlines count the bureau's calendar as
    kept instead of reading it (made once, as the notice board's count is)."""
    return (sa.select(Tender, *(versions.columns() if watched is not None else ()))
            .where(Tender.id == sa.bindparam("tender")).options(joinedload(Tender.plan)))


def _public_tender(tender_id: int) -> Tender:
    read_versions = not versions.read_in_request()
    watched = tuple(sorted(versions.WATCHED)) if read_versions else None
    row = db.session.execute(_tender_statement(watched), {"tender": tender_id}).one_or_none()
    if row is None:
        abort(404)
    tender = row[0]
    if read_versions:
        versions.remember(row[1:])
    # A tender cancelled while still a draft was never published: it has no notice.
    if not tender.is_public or tender.publish_at is None:
        abort(404)
    return tender


@bp.route("/notices/tenders/<int:tender_id>")
def tender_notice(tender_id: int):
    tender = _public_tender(tender_id)
    answered = db.session.execute(
        sa.select(Clarification).where(Clarification.tender_id == tender.id, Clarification.answered_at.is_not(None))
        .order_by(Clarification.answered_at)).scalars().all()
    ranking, panel = [], []
    if tender.results_public:
        # The law publishes the result with every valid bidder's scores and the panel's names; never
        # before the award is proposed and put to publicity.
        ranking = db.session.execute(
            sa.select(Bid).where(Bid.tender_id == tender.id, Bid.valid.is_(True), Bid.total_score.is_not(None))
            .options(joinedload(Bid.organization)).order_by(Bid.rank, Bid.id)).scalars().all()
        panel = db.session.execute(
            sa.select(TenderExpert).where(TenderExpert.tender_id == tender.id, TenderExpert.conflicted.is_(False))
            .options(joinedload(TenderExpert.user)).order_by(TenderExpert.id)).scalars().all()
    contract = None
    if tender.is_awarded:
        from ..contracts.models import PUBLIC_CONTRACT_STATUSES, Contract

        contract = db.session.execute(sa.select(Contract).where(
            Contract.tender_id == tender.id, Contract.status.in_(PUBLIC_CONTRACT_STATUSES))).scalar_one_or_none()
    from ..core import clock
    from . import challenges

    return render_template("public/tender_notice.html", tender=tender, answered=answered, ranking=ranking,
                           panel=panel, contract=contract, windows=challenges.windows(tender), now=clock.now())


@bp.route("/notices/tenders/<int:tender_id>/documents/<int:document_id>")
def tender_document(tender_id: int, document_id: int):
    tender = _public_tender(tender_id)
    document = db.get_or_404(TenderDocument, document_id)
    if document.tender_id != tender.id:
        abort(404)
    data = files.read(document.file)
    return send_file(BytesIO(data), mimetype=document.file.mimetype, as_attachment=True,
                     download_name=document.file.original_name)
