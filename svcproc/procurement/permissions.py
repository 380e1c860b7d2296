"""Who may see and do what in procurement. Sealed-bid secrecy is decided here, in one place."""
from __future__ import annotations

from ..core import clock
from ..core.permissions import Role, has_permission


def can_read_procurement(user) -> bool:
    """Bureau staff and auditors follow every plan and tender (never a sealed bid's contents)."""
    return has_permission(user, "procurement.read")


def can_manage_needs(user) -> bool:
    return has_permission(user, "needs.manage")


def can_view_need_contact(user) -> bool:
    return has_permission(user, "needs.manage")


def can_manage_plans(user) -> bool:
    return has_permission(user, "plans.manage")


def can_manage_tenders(user) -> bool:
    return has_permission(user, "tenders.manage")


def can_view_tender(user, tender) -> bool:
    if can_read_procurement(user):
        return True
    return tender.is_public and user is not None and user.is_authenticated


def is_bidder_manager(user, org_id: int) -> bool:
    return (user is not None and user.is_authenticated and user.role == Role.ORG_MANAGER
            and user.organization_id == org_id and has_permission(user, "tenders.bid"))


def can_bid(user, tender=None) -> bool:
    return has_permission(user, "tenders.bid") and user.organization_id is not None


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


def can_view_opening_record(user, tender) -> bool:
    """The opening record lists every bidder's price and documents: for experts, that is seeing
    the bids, which comes only after a declaration without a conflict."""
    return can_read_procurement(user) or is_cleared_panel_member(user, tender)


def is_cleared_panel_member(user, tender) -> bool:
    """On the tender's panel, declared, and without a conflict."""
    member = panel_member(user, tender)
    return member is not None and member.declared_at is not None and not member.conflicted


def panel_member(user, tender):
    if user is None or not user.is_authenticated or user.role != Role.EXPERT:
        return None
    return next((m for m in tender.experts if m.user_id == user.id), None)


def can_score(user, tender) -> bool:
    member = panel_member(user, tender)
    return has_permission(user, "tenders.score") and member is not None


def can_object(user, tender) -> bool:
    if not can_bid(user) or tender.status.value != "in_publicity":
        return False
    if tender.publicity_ends_at is None or clock.now() >= tender.publicity_ends_at:
        return False
    return any(b.organization_id == user.organization_id and b.status.value == "submitted" for b in tender.bids)
