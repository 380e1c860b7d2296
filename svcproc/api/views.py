"""The API's endpoints under /api/v1: public notices for anyone, and with a token what its owner's
pages show them (the same `visible_<things>` queries and `can_<verb>` predicates), plus recording a
service entry through the same workflow as the entry form."""
from __future__ import annotations

import functools
from datetime import date, datetime, time

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, load_only, selectinload

from ..contracts import permissions as contract_perms
from ..contracts.models import PUBLIC_CONTRACT_STATUSES, Contract
from ..core.errors import ValidationError
from ..core.errors_web import problem
from ..core.jsonio import RawJSON
from ..core.permissions import require
from ..core.templating import url_of
from ..delivery import permissions as delivery_perms
from ..delivery import services as delivery
from ..delivery.models import (Beneficiary, RedFlag, ServiceActivity, ServiceGroup, activity_participant,
                               activity_worker)
from ..extensions import csrf, db
from ..procurement.models import PUBLIC_STATUSES, Bid, Tender
from ..registry.models import Area, Organization, SocialWorker
from . import entry_json, openapi
from .web import BadRequest, beyond, decode_cursor, encode_cursor, iso, keyset_page, page_size, token_required

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Only a bearer token opens the API (web.token_required), never the session cookie, so a request a
# browser was tricked into sending carries no authority here: there is no form to protect.
csrf.exempt(bp)


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return problem(400, exc.detail)


@bp.route("/openapi.json")
def openapi_document():
    return jsonify(openapi.document())


# --- what anyone may read: exactly what the public notice pages show ---------------------------------


def _org(org) -> dict:
    return {"id": org.id, "name": org.name}


def _tender_notice(tender, url=None) -> dict:
    """A tender, or a row of `_tender_rows`; `url`: the notice's address by tender id (`url_of`),
    for a list, which routes it once."""
    award = None
    if isinstance(tender, Tender):
        bid = tender.awarded_bid or tender.proposed_bid
        winner = bid and (bid.price_fen, bid.organization.id, bid.organization.name)
    elif tender.awarded_bid_id is not None:
        winner = (tender.awarded_price_fen, tender.awarded_organization_id, tender.awarded_organization_name)
    elif tender.proposed_bid_id is not None:
        winner = (tender.proposed_price_fen, tender.proposed_organization_id, tender.proposed_organization_name)
    else:
        winner = None
    # The winner and its price are public from the publicity on, as on the notice page; no other
    # bid's price or documents ever are. (The model's own predicates, asked of a row too.)
    if Tender.results_public.fget(tender) and winner is not None:
        price, org_id, org_name = winner
        award = {"organization": {"id": org_id, "name": org_name}, "price_fen": price,
                 "final": Tender.is_awarded.fget(tender), "awarded_at": iso(tender.awarded_at),
                 "publicity_ends_at": iso(tender.publicity_ends_at)}
    return {"id": tender.id, "number": tender.number, "title": tender.title, "method": tender.method.value,
            "status": tender.status.value, "ceiling_fen": tender.ceiling_fen, "description": tender.description,
            "publish_at": iso(tender.publish_at), "clarification_deadline": iso(tender.clarification_deadline),
            "bid_deadline": iso(tender.bid_deadline), "opening_at": iso(tender.opening_at),
            "status_changed_at": iso(tender.status_changed_at), "award": award,
            "url": url(tender.id) if url is not None else
            url_for("public.tender_notice", tender_id=tender.id, _external=True)}


@functools.cache
def _tender_rows() -> sa.Select:
    """The public tenders as rows of the columns a notice shows, with the awarded and the proposed
    bid's price and organization (made once the mappers are configured)."""
    rows = []
    for side in ("awarded", "proposed"):
        bid, org = sa.orm.aliased(Bid, name=f"{side}_bid"), sa.orm.aliased(Organization, name=f"{side}_org")
        rows.append((bid, org, [bid.price_fen.label(f"{side}_price_fen"), org.id.label(f"{side}_organization_id"),
                                org.name.label(f"{side}_organization_name")]))
    (awarded, awarded_org, awarded_cols), (proposed, proposed_org, proposed_cols) = rows
    return (sa.select(Tender.id, Tender.number, Tender.title, Tender.method, Tender.status, Tender.ceiling_fen,
                      Tender.description, Tender.publish_at, Tender.clarification_deadline, Tender.bid_deadline,
                      Tender.opening_at, Tender.status_changed_at, Tender.awarded_at, Tender.publicity_ends_at,
                      Tender.awarded_bid_id, Tender.proposed_bid_id, *awarded_cols, *proposed_cols)
            .select_from(Tender)
            .outerjoin(awarded, awarded.id == Tender.awarded_bid_id)
            .outerjoin(awarded_org, awarded_org.id == awarded.organization_id)
            .outerjoin(proposed, proposed.id == Tender.proposed_bid_id)
            .outerjoin(proposed_org, proposed_org.id == proposed.organization_id)
            .where(Tender.status.in_(PUBLIC_STATUSES)))


# A notice shown alone loads only the columns it shows (lists read rows of them, `_tender_rows`):
# whole rows (documents' texts, sealed fields) cost more than the query itself.
_ORG = load_only(Organization.id, Organization.name)
_BID = load_only(Bid.id, Bid.organization_id, Bid.price_fen)


def _tender_loads():
    return (load_only(Tender.id, Tender.number, Tender.title, Tender.method, Tender.status, Tender.ceiling_fen,
                      Tender.description, Tender.publish_at, Tender.clarification_deadline, Tender.bid_deadline,
                      Tender.opening_at, Tender.status_changed_at, Tender.awarded_at, Tender.publicity_ends_at,
                      Tender.awarded_bid_id, Tender.proposed_bid_id),
            joinedload(Tender.awarded_bid).options(_BID, joinedload(Bid.organization).options(_ORG)),
            joinedload(Tender.proposed_bid).options(_BID, joinedload(Bid.organization).options(_ORG)))


_CONTRACT_COLUMNS = (Contract.id, Contract.number, Contract.title, Contract.organization_id, Contract.status,
                     Contract.original_amount_fen, Contract.amount_fen, Contract.start_date, Contract.end_date,
                     Contract.signed_on, Contract.status_changed_at, Contract.updated_at,
                     Organization.name.label("organization_name"))


def _contract_rows(stmt: sa.Select, *extra) -> sa.Select:
    """`stmt` (a select of contracts, e.g. `visible_contracts`) reading `_CONTRACT_COLUMNS` (and
    `extra`) as rows, with the organization's name."""
    return stmt.with_only_columns(*_CONTRACT_COLUMNS, *extra).join_from(
        Contract, Organization, Organization.id == Contract.organization_id, isouter=True)


@bp.route("/notices/tenders")
def tender_notices():
    def serialize(rows):
        url = url_of("public.tender_notice", "tender_id", _external=True)
        return [_tender_notice(t, url) for t in rows]

    return jsonify(keyset_page(_tender_rows(), [Tender.status_changed_at, Tender.id], [datetime, int],
                               lambda t: [t.status_changed_at, t.id], descending=True, serialize=serialize,
                               rows=True, planned_once=True))


@bp.route("/notices/tenders/<int:tender_id>")
def tender_notice(tender_id: int):
    tender = db.session.get(Tender, tender_id, options=_tender_loads())
    if tender is None or not tender.is_public:
        return problem(404, _("There is no such page or record."))
    return jsonify(_tender_notice(tender))


def _organization_of(contract) -> dict:
    """A contract's organization: its own for a Contract, the row's for a row of `_contract_rows`."""
    if isinstance(contract, Contract):
        return _org(contract.organization)
    return {"id": contract.organization_id, "name": contract.organization_name}


def _contract_notice(contract, url=None) -> dict:
    """`url`: the notice's address by contract id (`url_of`), for a list, which routes it once."""
    return {"id": contract.id, "number": contract.number, "title": contract.title,
            "organization": _organization_of(contract), "amount_fen": contract.amount_fen,
            "start_date": iso(contract.start_date), "end_date": iso(contract.end_date),
            "signed_on": iso(contract.signed_on), "status": contract.status.value,
            "service_content": contract.service_content,
            "url": url(contract.id) if url is not None else
            url_for("contracts.contract_notice", contract_id=contract.id, _external=True)}


@functools.cache
def _contract_notice_rows() -> sa.Select:
    """The public contracts as rows of what a notice shows (made once: composing it takes about as
    long as running it)."""
    return _contract_rows(sa.select(Contract).where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES)),
                          Contract.service_content)


@bp.route("/notices/contracts")
def contract_notices():
    def serialize(rows):
        url = url_of("contracts.contract_notice", "contract_id", _external=True)
        return [_contract_notice(c, url) for c in rows]

    return jsonify(keyset_page(_contract_notice_rows(), [Contract.id], [int], lambda c: [c.id], descending=True,
                               serialize=serialize, rows=True, planned_once=True))


@bp.route("/notices/contracts/<int:contract_id>")
def contract_notice(contract_id: int):
    contract = db.session.get(Contract, contract_id, options=[joinedload(Contract.organization)])
    if contract is None or not contract.is_public:
        return problem(404, _("There is no such page or record."))
    return jsonify(_contract_notice(contract))


# --- with a token: what the token's owner may read ----------------------------------------------------


def _contract(contract) -> dict:
    """A contract, or a row of `_contract_rows`."""
    return {"id": contract.id, "number": contract.number, "title": contract.title,
            "organization": _organization_of(contract), "status": contract.status.value,
            "original_amount_fen": contract.original_amount_fen, "amount_fen": contract.amount_fen,
            "start_date": iso(contract.start_date), "end_date": iso(contract.end_date),
            "signed_on": iso(contract.signed_on), "status_changed_at": iso(contract.status_changed_at)}


def _contract_or_404(contract_id: int, *loads, whole: bool = True) -> Contract:
    """The contract, if the token's owner may see it: 404 when there is none, 403 as on its page.
    `whole=False`: only what a list under it asks of it (its id and organization), not its texts."""
    options = [joinedload(Contract.organization), *loads] if whole else [_CONTRACT_KEYS]
    contract = db.session.get(Contract, contract_id, options=options)
    if contract is None:
        raise _NotFound()
    require(contract_perms.can_view_contract(g.api_user, contract))
    return contract


_CONTRACT_KEYS = load_only(Contract.id, Contract.organization_id)


class _NotFound(Exception):
    pass


@bp.errorhandler(_NotFound)
def _not_found(_exc):
    return problem(404, _("There is no such page or record."))


@bp.route("/contracts")
@token_required("read")
def contracts():
    require(contract_perms.can_list_contracts(g.api_user))
    stmt = _contract_rows(contract_perms.visible_contracts(g.api_user))
    return jsonify(keyset_page(stmt, [Contract.id], [int], lambda c: [c.id], descending=True,
                               serialize=lambda rows: [_contract(c) for c in rows], rows=True))


@bp.route("/contracts/<int:contract_id>")
@token_required("read")
def contract(contract_id: int):
    item = _contract_or_404(contract_id, selectinload(Contract.milestones), selectinload(Contract.workers))
    return jsonify({**_contract(item), "service_content": item.service_content,
                    "milestones": [{"id": m.id, "title": m.title, "due_date": iso(m.due_date),
                                    "tranche_percent": str(m.tranche_percent), "status": m.status.value}
                                   for m in item.milestones],
                    "workers": [{"id": w.id, "name": w.name} for w in item.workers]})


def _person(person: Beneficiary) -> dict:
    # Identity numbers and phones only ever masked, as the pages show them.
    return {"id": person.id, "name": person.name, "id_number_masked": person.id_number_masked or None,
            "phone_masked": person.phone_masked or None}


def _entry(activity: ServiceActivity, show_people: bool, around: tuple[dict, dict] | None = None) -> dict:
    """`around`: ({activity id: workers}, {activity id: participants}) read for a whole list by
    `_workers_and_people`; else the entry's own relationships. `activity` is an entry or a row of
    `_ENTRY_COLUMNS` (a list reads rows: building entries costs more than the query)."""
    workers, people = ((around[0].get(activity.id, ()), around[1].get(activity.id, ())) if around is not None
                       else (activity.workers, activity.participants))
    community = (activity.community.name if isinstance(activity, ServiceActivity) else activity.community_name)
    created, updated = activity.created_at, activity.updated_at
    return {"id": activity.id, "contract_id": activity.contract_id, "type": activity.type.value,
            "activity_date": activity.activity_date.isoformat(),
            # isoformat()[:5] is strftime("%H:%M"), without the C library's formatting.
            "start_time": activity.start_time.isoformat()[:5], "end_time": activity.end_time.isoformat()[:5],
            "community": {"id": activity.community_id, "name": community},
            "place": activity.place, "hours": str(activity.hours), "head_count": activity.head_count,
            "participant_count": activity.participant_count, "topic": activity.topic, "outcome": activity.outcome,
            "notes": activity.notes, "group_id": activity.group_id, "session_number": activity.session_number,
            "workers": [{"id": w.id, "name": w.name} for w in workers],
            "participants": [_person(p) for p in people] if show_people else None,
            "revision": activity.revision, "created_at": None if created is None else created.isoformat(),
            "updated_at": None if updated is None else updated.isoformat()}


_A = ServiceActivity
_ENTRY = (load_only(_A.id, _A.contract_id, _A.type, _A.activity_date, _A.start_time, _A.end_time, _A.community_id,
                    _A.place, _A.hours, _A.head_count, _A.participant_count, _A.topic, _A.outcome, _A.notes,
                    _A.group_id, _A.session_number, _A.revision, _A.created_at, _A.updated_at),
          joinedload(_A.community).options(load_only(Area.id, Area.name)))
_AROUND = (selectinload(_A.workers), selectinload(_A.participants))
# What a list reads of each entry, as rows (with the community's name) rather than entries.
_ENTRY_COLUMNS = (_A.id, _A.contract_id, _A.type, _A.activity_date, _A.start_time, _A.end_time, _A.community_id,
                  _A.place, _A.hours, _A.head_count, _A.participant_count, _A.topic, _A.outcome, _A.notes,
                  _A.group_id, _A.session_number, _A.revision, _A.created_at, _A.updated_at,
                  Area.name.label("community_name"))


def _entry_rows(stmt: sa.Select, *columns) -> sa.Select:
    """`stmt` (a select of entries, e.g. `visible_activities`) reading `_ENTRY_COLUMNS` instead."""
    return stmt.with_only_columns(*_ENTRY_COLUMNS, *columns).join_from(_A, Area, Area.id == _A.community_id,
                                                                       isouter=True)


def _entry_loads():
    """The loads of one entry shown alone; a list reads rows (`_entry_rows`) and their workers and
    people with `_workers_and_people`."""
    return _ENTRY + _AROUND


@functools.cache
def _around_statement(people: bool) -> sa.Select:
    """The statement of `_workers_and_people`, built once: the entries' ids are expanded into IN
    lists at execution and the people are read by id from the page's own links. (On PostgreSQL the
    lists are written by the database instead, api/entry_json.py.)"""
    links, worker_links = activity_participant.c, activity_worker.c
    ids, wanted = sa.bindparam("ids", expanding=True), sa.bindparam("wanted", expanding=True)
    selects = [sa.select(worker_links.activity_id, sa.literal(0).label("kind"), SocialWorker.id, SocialWorker.name,
                         sa.null().label("id_number_masked"), sa.null().label("phone_masked"))
               .join(SocialWorker, SocialWorker.id == worker_links.social_worker_id)
               .where(worker_links.activity_id.in_(ids))]
    if people:
        selects.append(
            sa.select(links.activity_id, sa.literal(1).label("kind"), Beneficiary.id, Beneficiary.name,
                      Beneficiary.id_number_masked, Beneficiary.phone_masked)
            .join(Beneficiary, Beneficiary.id == links.beneficiary_id)
            .where(links.activity_id.in_(wanted),
                   Beneficiary.id.in_(sa.select(links.beneficiary_id).where(links.activity_id.in_(wanted)))))
    both = sa.union_all(*selects).subquery()
    return sa.select(both).order_by(both.c.kind, both.c.name, both.c.id)


def _workers_and_people(activities: list, people_of: set[int]) -> tuple[dict, dict]:
    """({activity id: its social workers}, {activity id: its participants}), each by name, for a
    list of entries in one statement; participants only of the entries in `people_of`. The people
    are read by id from the page's own links: joined to the link table alone, PostgreSQL hashes
    the whole register."""
    ids = [a.id for a in activities]
    if not ids:
        return {}, {}
    wanted = [i for i in ids if i in people_of]
    params = {"ids": ids, "wanted": wanted} if wanted else {"ids": ids}
    found: tuple[dict, dict] = ({}, {})
    # Through the connection: the rows are plain, not passed through the ORM's loading of results.
    for row in db.session.connection().execute(_around_statement(bool(wanted)), params).all():
        found[row[1]].setdefault(row[0], []).append(row)
    return found


@bp.route("/contracts/<int:contract_id>/services")
@token_required("read")
def services(contract_id: int):
    item = _contract_or_404(contract_id, whole=False)
    show_people = delivery_perms.can_view_beneficiaries(g.api_user, item.organization_id)
    visible = delivery_perms.visible_activities(g.api_user)
    columns = [ServiceActivity.activity_date, ServiceActivity.start_time, ServiceActivity.id]
    if entry_json.available():
        # The page's entries picked by their keys, then written by the database (api/entry_json.py):
        # written in the statement that orders them, every entry the plan sorts would be written.
        stmt = visible.with_only_columns(ServiceActivity.id, ServiceActivity.activity_date, ServiceActivity.start_time)
        def serialize(rows):
            written = entry_json.values_by_id([a.id for a in rows], None if show_people else set())
            return [RawJSON(written[a.id]) for a in rows]
    else:
        stmt = _entry_rows(visible)

        def serialize(rows):
            around = _workers_and_people(rows, {a.id for a in rows} if show_people else set())
            return [_entry(a, show_people, around) for a in rows]

    stmt = stmt.where(ServiceActivity.contract_id == item.id)
    # The page size in the text (planned once): one contract's entries are read from its own index
    # whatever the contract, so one plan fits every contract of every organization.
    return jsonify(keyset_page(stmt, columns, [date, time, int], lambda a: [a.activity_date, a.start_time, a.id],
                               descending=True, serialize=serialize, rows=True, planned_once=True))


def _entry_values(contract: Contract, body: dict) -> dict:
    """The JSON body as the values the entry form hands the workflow; only its shape is checked
    here, every rule is the workflow's."""

    def text(name: str) -> str:
        value = body.get(name, "")
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValidationError(_("%(field)s is text.", field=name), name)
        return value

    def whole(name: str):
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
            raise ValidationError(_("%(field)s is a whole number.", field=name), name)
        return value

    def ids(name: str) -> list[int]:
        value = body.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                  and 0 < v < 2**31 for v in value):
            raise ValidationError(_("%(field)s is a list of ids.", field=name), name)
        return value

    def parsed(name: str, kind):
        value = text(name)
        if not value:
            return None
        try:
            return kind.fromisoformat(value)
        except ValueError:
            raise ValidationError(_("%(field)s is not a valid date or time.", field=name), name) from None

    start, end = parsed("start_time", time), parsed("end_time", time)
    worker_ids = set(ids("worker_ids"))
    workers = [w for w in contract.workers if w.id in worker_ids]
    if len(workers) != len(worker_ids):
        raise ValidationError(_("Name only the social workers assigned to this contract."), "worker_ids")
    participant_ids = ids("participant_ids")
    participants = db.session.execute(sa.select(Beneficiary).where(Beneficiary.id.in_(participant_ids))
                                      ).unique().scalars().all() if participant_ids else []
    if len(participants) != len(set(participant_ids)):
        raise ValidationError(_("Participants come from your organization's register."), "participant_ids")
    group_id, community_id = whole("group_id"), whole("community_id")
    group = db.session.get(ServiceGroup, group_id) if group_id else None
    if group is not None and group.contract_id != contract.id:
        group = None
    hours = body.get("hours")
    if isinstance(hours, (int, float)) and not isinstance(hours, bool):
        hours = str(hours)  # 1.5 as typed; the workflow holds it to two decimals
    elif hours is not None and not isinstance(hours, str):
        raise ValidationError(_("Give the service hours as a number, e.g. 1.5."), "hours")
    return dict(type=text("type"), activity_date=parsed("activity_date", date), start_time=start, end_time=end,
                community=db.session.get(Area, community_id) if community_id else None, place=text("place"),
                hours=hours, workers=workers, participants=participants, head_count=whole("head_count") or 0,
                group=group, session_number=whole("session_number"), topic=text("topic"),
                outcome=text("outcome"), notes=text("notes"))


@bp.route("/contracts/<int:contract_id>/services", methods=["POST"])
@token_required("services:write")
def service_record(contract_id: int):
    item = _contract_or_404(contract_id, selectinload(Contract.workers))
    require(delivery_perms.can_record_activity(g.api_user, item))
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise BadRequest(_("Send the entry as a JSON object."))
    entry = delivery.record_activity(g.api_user, item, _entry_values(item, body))
    db.session.flush()
    activity = db.session.get(ServiceActivity, entry.id, options=_entry_loads())
    response = jsonify(_entry(activity, delivery_perms.can_view_beneficiaries(g.api_user, item.organization_id)))
    response.status_code = 201
    response.headers["Location"] = url_for("api.services", contract_id=item.id, _external=True)
    return response


def _flag(flag: RedFlag) -> dict:
    return {"id": flag.id, "kind": flag.kind.value, "contract_id": flag.contract_id,
            "activity_ids": list(flag.activity_ids or []), "found_at": iso(flag.found_at),
            "explanation": flag.explanation or None, "explained_at": iso(flag.explained_at)}


@bp.route("/contracts/<int:contract_id>/red-flags")
@token_required("read")
def contract_flags(contract_id: int):
    item = _contract_or_404(contract_id, whole=False)
    stmt = delivery_perms.visible_red_flags(g.api_user).where(RedFlag.contract_id == item.id)
    return jsonify(keyset_page(stmt, [RedFlag.id], [int], lambda f: [f.id], descending=False,
                               serialize=lambda rows: [_flag(f) for f in rows]))


# The feed's kinds, in the order rows changed at the same moment come (then by id).
FEED_RANK = {"contract": 0, "service_entry": 1}


def _after(model, rank: int, since: list | None):
    """Rows of one kind after the cursor (changed_at, kind's rank, id) in the feed's order."""
    if since is None:
        return sa.true()
    moment, since_rank, since_id = since
    if rank > since_rank:
        return model.updated_at >= moment
    if rank < since_rank:
        return model.updated_at > moment
    return beyond([model.updated_at, model.id], [moment, since_id], descending=False)


@functools.cache
def _owner():
    """An entry's contract under another name (the visible contracts' subquery names `contract`),
    made once the mappers are configured: making an alias takes longer than the feed's statements."""
    return sa.orm.aliased(Contract, name="owner")


@bp.route("/changes")
@token_required("read")
def changes():
    """Contracts and service entries the owner may see, in the order they last changed, after
    `since`: two keyset reads (one per kind, each from its (updated_at, id) index) merged."""
    user = g.api_user
    require(contract_perms.can_list_contracts(user))
    size = page_size()
    text = request.args.get("since", "")
    since = decode_cursor(text, [datetime, int, int]) if text else None
    contracts_stmt = (_contract_rows(contract_perms.visible_contracts(user))
                      .where(_after(Contract, FEED_RANK["contract"], since))
                      .order_by(Contract.updated_at, Contract.id).limit(size + 1))
    owner = _owner()
    visible = delivery_perms.visible_activities(user)
    written_by_database = entry_json.available()
    if written_by_database:
        # The page's entries picked by their keys alone (this statement is planned at every
        # request: how the reader's scope filters the order depends on the organization), then
        # written by the database in a statement planned once (api/entry_json.py).
        entries_stmt = visible.with_only_columns(ServiceActivity.id, ServiceActivity.updated_at,
                                                 owner.organization_id)
    else:
        entries_stmt = _entry_rows(visible, owner.organization_id)
    entries_stmt = (entries_stmt.join_from(ServiceActivity, owner, owner.id == ServiceActivity.contract_id,
                                           isouter=True)
                    .where(_after(ServiceActivity, FEED_RANK["service_entry"], since))
                    .order_by(ServiceActivity.updated_at, ServiceActivity.id).limit(size + 1))
    rows = [("contract", c) for c in db.session.execute(contracts_stmt)]
    rows += [("service_entry", a) for a in db.session.execute(entries_stmt)]
    rows.sort(key=lambda row: (row[1].updated_at, FEED_RANK[row[0]], row[1].id))
    shown = {}  # organization id -> whether the owner sees its people
    for kind, obj in rows:
        if kind == "service_entry" and obj.organization_id not in shown:
            shown[obj.organization_id] = delivery_perms.can_view_beneficiaries(user, obj.organization_id)
    if written_by_database:
        on_page = [obj for kind, obj in rows[:size] if kind == "service_entry"]
        # Run whatever the page holds, so a page costs the same statements whichever kinds it holds.
        written = entry_json.values_by_id([a.id for a in on_page],
                                          {a.id for a in on_page if shown[a.organization_id]})

        def entry(obj):
            return RawJSON(written[obj.id])
    else:
        # The workers and people of every entry read (not only those on the page), so a page costs
        # the same statements whichever kinds it ends up holding.
        entries = [obj for kind, obj in rows if kind == "service_entry"]
        around = _workers_and_people(entries, {a.id for a in entries if shown[a.organization_id]})

        def entry(obj):
            return _entry(obj, shown[obj.organization_id], around)
    rows = rows[:size]

    def change(kind, obj) -> dict:
        if kind == "contract":
            return {"kind": kind, "id": obj.id, "updated_at": iso(obj.updated_at), "contract": _contract(obj)}
        return {"kind": kind, "id": obj.id, "updated_at": iso(obj.updated_at), "entry": entry(obj)}

    if rows:
        kind, last = rows[-1]
        cursor = encode_cursor([last.updated_at, FEED_RANK[kind], last.id])
        args = {**request.args.to_dict(), "since": cursor}
        next_url = url_for("api.changes", **args, _external=True)
    else:  # nothing new: ask again later from the same place
        next_url = request.url
    return jsonify({"items": [change(kind, obj) for kind, obj in rows], "next": next_url})
