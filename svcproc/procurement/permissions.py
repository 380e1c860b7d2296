"""Who may see and do what in procurement. Sealed-bid secrecy is decided here, in one place.

`can_<verb>(user, obj)` answers both questions a button needs: may this person act, and does the
record's state allow it (the state machines of `workflow`). Views ask the same predicate with
`check_state=False` and leave the state to the workflow, which refuses with the rule in words (409).
Each `visible_<things>(user)` query sits beside its `can_view_<thing>` predicate and is registered
with core.scoping, so every list, export and search shows exactly the rows the predicate allows.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..core import clock, scoping
from ..core.permissions import Role, has_permission
from . import workflow
from .models import (PUBLIC_STATUSES, Bid, BidStatus, Clarification, CommunityNeed, Complaint, ComplaintStatus,
                     Objection, ObjectionSubject, ProjectPlan, Tender, TenderExpert)


def can_read_procurement(user) -> bool:
    """Bureau staff and auditors follow every need, plan and tender (never a sealed bid's contents)."""
    return has_permission(user, "procurement.read")


def _nothing(model) -> sa.Select:
    return sa.select(model).where(sa.false())


# --- needs and plans --------------------------------------------------------------------------


def can_view_need(user, need=None) -> bool:
    return can_read_procurement(user)


def visible_needs(user) -> sa.Select:
    return sa.select(CommunityNeed) if can_read_procurement(user) else _nothing(CommunityNeed)


def can_manage_needs(user) -> bool:
    return has_permission(user, "needs.manage")


def can_view_need_contact(user) -> bool:
    return has_permission(user, "needs.manage")


def _need_verb(verb: str):
    def predicate(user, need, check_state: bool = True) -> bool:
        from .needs import NEED

        return can_manage_needs(user) and (not check_state or NEED.allows(verb, need))

    predicate.__name__ = f"can_{verb}_need"
    predicate.__doc__ = f"Bureau staff may {verb} the need, when its status allows it."
    return predicate


can_adopt_need = _need_verb("adopt")
can_decline_need = _need_verb("decline")
can_address_need = _need_verb("address")
can_merge_need = _need_verb("merge")


def can_decide_need(user, need) -> bool:
    """Any decision is still open on the need."""
    return any(p(user, need) for p in (can_adopt_need, can_decline_need, can_address_need, can_merge_need))


def can_view_plan(user, plan=None) -> bool:
    return can_read_procurement(user)


def visible_plans(user) -> sa.Select:
    return sa.select(ProjectPlan) if can_read_procurement(user) else _nothing(ProjectPlan)


def can_manage_plans(user) -> bool:
    return has_permission(user, "plans.manage")


# --- tenders ----------------------------------------------------------------------------------


def can_manage_tenders(user) -> bool:
    return has_permission(user, "tenders.manage")


def can_manage_experts(user) -> bool:
    """Procurement staff keep the expert pool: each expert's categories and ties to organizations."""
    return can_manage_tenders(user)


def can_view_experts(user) -> bool:
    return can_read_procurement(user)


def can_list_tenders(user) -> bool:
    return can_read_procurement(user) or (user is not None and user.is_authenticated
                                          and user.role in (Role.ORG_MANAGER, Role.EXPERT))


def can_view_tender(user, tender) -> bool:
    """Staff and auditors see every tender; bidders the public ones; experts the public ones on their panel."""
    return (can_read_procurement(user)
            or (user is not None and user.is_authenticated and user.role == Role.ORG_MANAGER and tender.is_public)
            or (tender.is_public and panel_member(user, tender) is not None))


def visible_tenders(user) -> sa.Select:
    stmt = sa.select(Tender)
    if can_read_procurement(user):
        return stmt
    if user is None or not user.is_authenticated:
        return stmt.where(sa.false())
    if user.role == Role.ORG_MANAGER:
        return stmt.where(Tender.status.in_(PUBLIC_STATUSES))
    if user.role == Role.EXPERT:
        # The panel is seated while drafting; its experts see the tender once it is published.
        return stmt.where(Tender.status.in_(PUBLIC_STATUSES),
                          Tender.id.in_(sa.select(TenderExpert.tender_id).where(TenderExpert.user_id == user.id)))
    return stmt.where(sa.false())


def _tender_state(verb: str, tender, check_state: bool) -> bool:
    return not check_state or workflow.tender_allows(verb, tender)


def can_move_tender(user, tender, verb: str, check_state: bool = True) -> bool:
    """Tender staff move a tender along the transitions its status allows."""
    return can_manage_tenders(user) and _tender_state(verb, tender, check_state)


def can_edit_tender(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "edit", check_state)


def can_publish_tender(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "publish", check_state)


def can_close_bidding(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "close", check_state)


def can_open_bids(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "open", check_state)


def can_finish_scoring(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "finish_scoring", check_state)


def can_propose_award(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "propose", check_state)


def can_start_publicity(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "publicity", check_state)


def can_confirm_award(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "confirm", check_state)


def can_cancel_tender(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "cancel", check_state)


def can_add_tender_document(user, tender, check_state: bool = True) -> bool:
    """While drafting, and while published until the bid deadline."""
    if not can_move_tender(user, tender, "add_document", check_state):
        return False
    return not check_state or not workflow.tender_allows("bid", tender) or clock.now() < tender.bid_deadline


def can_manage_panel(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "manage_panel", check_state)


def can_remove_expert(user, member, check_state: bool = True) -> bool:
    """An expert leaves the panel before submitting scores."""
    return can_manage_panel(user, member.tender, check_state) and (not check_state or member.submitted_at is None)


def can_answer_question(user, tender, check_state: bool = True) -> bool:
    return can_move_tender(user, tender, "answer_question", check_state)


# --- bids -------------------------------------------------------------------------------------


def is_bidder_manager(user, org_id: int) -> bool:
    return (user is not None and user.is_authenticated and user.role == Role.ORG_MANAGER
            and user.organization_id == org_id and has_permission(user, "tenders.bid"))


def can_bid(user, tender=None) -> bool:
    return has_permission(user, "tenders.bid") and user.organization_id is not None


def _bidding_open(tender) -> bool:
    return workflow.tender_allows("bid", tender) and clock.now() < tender.bid_deadline


def can_submit_bid(user, tender, check_state: bool = True) -> bool:
    """A bidder submits while the tender is published and before the deadline."""
    return can_bid(user) and tender.is_public and (not check_state or _bidding_open(tender))


def can_withdraw_bid(user, bid, check_state: bool = True) -> bool:
    return is_bidder_manager(user, bid.organization_id) and (
        not check_state or (workflow.BID.allows("withdraw", bid) and _bidding_open(bid.tender)))


def can_ask_question(user, tender, check_state: bool = True) -> bool:
    return can_bid(user) and tender.is_public and (
        not check_state or (workflow.tender_allows("ask_question", tender)
                            and clock.now() < tender.clarification_deadline))


def can_view_bid_content(user, bid) -> bool:
    """A bid's price and documents: its own organization at any time; after the opening, the
    bureau, auditors and the tender's declared, unconflicted experts as well."""
    if is_bidder_manager(user, bid.organization_id):
        return True
    tender = bid.tender
    if tender.opened_at is None:
        return False
    if can_read_procurement(user):
        return True
    return is_cleared_panel_member(user, tender)


def visible_bids(user) -> sa.Select:
    """The bids whose content the person may read (see `can_view_bid_content`)."""
    if user is None or not user.is_authenticated:
        return _nothing(Bid)
    seen = []
    if user.role == Role.ORG_MANAGER and has_permission(user, "tenders.bid") and user.organization_id is not None:
        seen.append(Bid.organization_id == user.organization_id)
    opened = sa.select(Tender.id).where(Tender.opened_at.is_not(None))
    if can_read_procurement(user):
        seen.append(Bid.tender_id.in_(opened))
    elif user.role == Role.EXPERT:
        cleared = sa.select(TenderExpert.tender_id).where(
            TenderExpert.user_id == user.id, TenderExpert.declared_at.is_not(None), TenderExpert.conflicted.is_(False))
        seen.append(sa.and_(Bid.tender_id.in_(opened), Bid.tender_id.in_(cleared)))
    return sa.select(Bid).where(sa.or_(*seen)) if seen else _nothing(Bid)


def can_view_opening_record(user, tender) -> bool:
    """The opening record lists every bidder's price and documents: for experts, that is seeing
    the bids, which comes only after a declaration without a conflict."""
    return can_read_procurement(user) or is_cleared_panel_member(user, tender)


# --- the expert panel -------------------------------------------------------------------------


def is_cleared_panel_member(user, tender) -> bool:
    """On the tender's panel, declared, and without a conflict."""
    member = panel_member(user, tender)
    return member is not None and member.declared_at is not None and not member.conflicted


def panel_member(user, tender):
    if user is None or not user.is_authenticated or user.role != Role.EXPERT:
        return None
    return next((m for m in tender.experts if m.user_id == user.id), None)


def can_score(user, tender) -> bool:
    """On the tender's panel (the scoring pages; the status and declaration decide the rest)."""
    member = panel_member(user, tender)
    return has_permission(user, "tenders.score") and member is not None


def can_declare(user, tender, check_state: bool = True) -> bool:
    """A panel member declares conflicts once the bids are opened, once."""
    if not can_score(user, tender):
        return False
    return not check_state or (workflow.tender_allows("score", tender)
                               and panel_member(user, tender).declared_at is None)


def can_score_bids(user, tender, check_state: bool = True) -> bool:
    """A declared panel member without a conflict scores while the tender is opened."""
    return can_score(user, tender) and (not check_state or (workflow.tender_allows("score", tender)
                                                           and is_cleared_panel_member(user, tender)))


def can_rule_bids_invalid(user, tender, check_state: bool = True) -> bool:
    """Tender staff rule on the opened bids while they are scored (the bureau's opening table)."""
    return can_move_tender(user, tender, "score", check_state)


def can_rule_bid_invalid(user, bid, check_state: bool = True) -> bool:
    """Tender staff, or the panel, rule a bid still in the running invalid while the bids are scored."""
    tender = bid.tender
    if not (can_manage_tenders(user) or panel_member(user, tender) is not None):
        return False
    return not check_state or (workflow.tender_allows("score", tender)
                               and bid.status == BidStatus.SUBMITTED and bid.valid is not False)


# --- clarifications and objections ------------------------------------------------------------


def can_view_clarification(user, item) -> bool:
    """Staff and auditors see every question; others the answered ones and their own organization's."""
    if not can_view_tender(user, item.tender):
        return False
    return (can_read_procurement(user) or item.answered_at is not None
            or (user.organization_id is not None and item.organization_id == user.organization_id))


def visible_clarifications(user) -> sa.Select:
    tenders = visible_tenders(user).with_only_columns(Tender.id)
    stmt = sa.select(Clarification).where(Clarification.tender_id.in_(tenders))
    if can_read_procurement(user):
        return stmt
    own = (Clarification.organization_id == user.organization_id) if getattr(user, "organization_id", None) else sa.false()
    return stmt.where(sa.or_(Clarification.answered_at.is_not(None), own))


def can_view_objection(user, objection) -> bool:
    """Staff and auditors see every objection; a bidder its own organization's."""
    if can_read_procurement(user):
        return True
    return (user is not None and user.is_authenticated and user.organization_id is not None
            and objection.organization_id == user.organization_id and can_view_tender(user, objection.tender))


def visible_objections(user) -> sa.Select:
    if can_read_procurement(user):
        return sa.select(Objection)
    if user is None or not user.is_authenticated or user.organization_id is None:
        return _nothing(Objection)
    tenders = visible_tenders(user).with_only_columns(Tender.id)
    return sa.select(Objection).where(Objection.organization_id == user.organization_id,
                                      Objection.tender_id.in_(tenders))


def can_object(user, tender, check_state: bool = True) -> bool:
    """A supplier objects to the documents (any organization that could bid) or to the award (a bidder
    whose bid stands) within the window the law gives each (procurement.challenges)."""
    from . import challenges

    if check_state:
        return bool(challenges.open_subjects(user, tender))
    return any(challenges.may_object_to(user, tender, s) for s in ObjectionSubject)


def can_answer_objection(user, objection, check_state: bool = True) -> bool:
    return can_manage_tenders(user) and (not check_state or workflow.OBJECTION.allows("uphold", objection))


def _acts_on_upheld(user, objection, subject, check_state: bool) -> bool:
    return can_manage_tenders(user) and (not check_state or (
        objection.subject == subject and objection.upheld_in_effect and not objection.resolution))


def can_resolve_objection(user, objection, check_state: bool = True) -> bool:
    """An upheld objection to the award, not yet acted on, sends the tender back to scoring or cancels it."""
    if not _acts_on_upheld(user, objection, ObjectionSubject.AWARD, check_state):
        return False
    tender = objection.tender
    return (not check_state or workflow.tender_allows("return_to_scoring", tender)
            or (workflow.tender_allows("revoke_award", tender) and workflow.award_contract_status(tender) is None))


def can_revoke_award(user, tender) -> bool:
    """The award stands, yet an objection to it was upheld in its window: staff may revoke it."""
    return can_manage_tenders(user) and workflow.tender_allows("revoke_award", tender)


def can_amend_after_objection(user, objection, check_state: bool = True) -> bool:
    """An upheld objection to the documents, not yet acted on, is met by amended documents while the
    tender still takes them (or by cancelling the tender)."""
    return _acts_on_upheld(user, objection, ObjectionSubject.DOCUMENTS, check_state) and (
        not check_state or can_add_tender_document(user, objection.tender))


def can_cancel_after_objection(user, objection) -> bool:
    if not (can_manage_tenders(user) and objection.upheld_in_effect and not objection.resolution):
        return False
    tender = objection.tender
    if workflow.tender_allows("cancel", tender):
        return True
    from ..contracts.models import ContractStatus

    return (workflow.tender_allows("cancel_award", tender) and objection.subject == ObjectionSubject.AWARD
            and workflow.award_contract_status(tender) in (None, ContractStatus.TERMINATED))


# --- complaints to the finance department -----------------------------------------------------


def can_complain(user, objection, check_state: bool = True) -> bool:
    """The objector (its organization's manager) complains about the answer, or the lack of one."""
    if not (can_bid(user) and objection.organization_id == user.organization_id):
        return False
    if not check_state:
        return True
    from . import challenges

    return challenges.complaint_problem(objection) is None


def can_record_complaint_outcome(user, complaint, check_state: bool = True) -> bool:
    """Procurement staff record the finance department's decision as it arrives."""
    return can_manage_tenders(user) and (not check_state or complaint.status == ComplaintStatus.OPEN)


def can_view_complaint(user, complaint) -> bool:
    """As its objection: staff and auditors every one, the objector its own."""
    return can_view_objection(user, complaint.objection)


def visible_complaints(user) -> sa.Select:
    objections = visible_objections(user).with_only_columns(Objection.id)
    return sa.select(Complaint).where(Complaint.objection_id.in_(objections))


# --- money guarantees and fairness (procurement/guarantees.py) -------------------------------------


def can_record_deposit(user, bid, check_state: bool = True) -> bool:
    """Tender staff record a bid's deposit as received once the bids are opened, while they are scored."""
    if not can_manage_tenders(user):
        return False
    if not check_state:
        return True
    from . import guarantees

    tender = bid.tender
    return (tender.deposit_fen is not None and workflow.tender_allows("score", tender) and bid.deposit is None
            and guarantees.in_the_running(bid))


def can_return_deposit(user, bid, check_state: bool = True) -> bool:
    """Tender staff record a deposit returned once its return is due (award, signature, or the end)."""
    if not can_manage_tenders(user):
        return False
    if not check_state:
        return True
    from . import guarantees

    deposit = bid.deposit
    return deposit is not None and deposit.returned_on is None and guarantees.deposit_due(deposit)[0] is not None


def can_explain_low_bid(user, bid, check_state: bool = True) -> bool:
    """The bidder explains an abnormally low price in writing while the bids are scored."""
    if not is_bidder_manager(user, bid.organization_id):
        return False
    from . import guarantees

    return not check_state or (workflow.tender_allows("score", bid.tender) and guarantees.needs_explanation(bid))


def can_rule_on_low_bid(user, bid, check_state: bool = True) -> bool:
    """The panel, or tender staff for it, accept an abnormally low bid's explanation or rule the bid invalid."""
    tender = bid.tender
    if not (can_manage_tenders(user) or is_cleared_panel_member(user, tender)):
        return False
    from . import guarantees

    return not check_state or (workflow.tender_allows("score", tender) and guarantees.needs_explanation(bid))


def can_view_low_price_explanation(user, bid) -> bool:
    """As the bid itself: its organization, and after the opening the bureau, auditors and the panel."""
    return can_view_bid_content(user, bid)


scoping.register(CommunityNeed, visible_needs, can_view_need)
scoping.register(ProjectPlan, visible_plans, can_view_plan)
scoping.register(Tender, visible_tenders, can_view_tender)
scoping.register(Bid, visible_bids, can_view_bid_content)
scoping.register(Clarification, visible_clarifications, can_view_clarification)
scoping.register(Objection, visible_objections, can_view_objection)
scoping.register(Complaint, visible_complaints, can_view_complaint)
