"""Translatable names for procurement's enumerations."""
from flask_babel import lazy_gettext as _l

from .models import (AffiliationKind, BidStatus, ComplaintStatus, NeedStatus, ObjectionStatus, ObjectionSubject,
                     ServiceCategory, TenderMethod, TenderStatus)

CATEGORY_LABELS = {
    ServiceCategory.ELDERLY: _l("Elderly care"),
    ServiceCategory.CHILDREN: _l("Children"),
    ServiceCategory.DISABILITY: _l("People with disabilities"),
    ServiceCategory.LOW_INCOME: _l("Low-income families"),
    ServiceCategory.FAMILY: _l("Families"),
    ServiceCategory.YOUTH: _l("Young people"),
    ServiceCategory.COMMUNITY_BUILDING: _l("Community building"),
    ServiceCategory.OTHER: _l("Other"),
}
NEED_STATUS_LABELS = {
    NeedStatus.SUBMITTED: _l("Received"),
    NeedStatus.ADOPTED: _l("Adopted"),
    NeedStatus.DECLINED: _l("Declined"),
    NeedStatus.ADDRESSED: _l("Addressed"),
    NeedStatus.MERGED: _l("Merged with a similar need"),
}
METHOD_LABELS = {
    TenderMethod.PUBLIC_TENDER: _l("Public tender"),
    TenderMethod.COMPETITIVE_CONSULTATION: _l("Competitive consultation"),
    TenderMethod.COMPETITIVE_NEGOTIATION: _l("Competitive negotiation"),
    TenderMethod.INQUIRY: _l("Inquiry"),
    TenderMethod.SINGLE_SOURCE: _l("Single source"),
}
TENDER_STATUS_LABELS = {
    TenderStatus.DRAFT: _l("Draft"),
    TenderStatus.PUBLISHED: _l("Open for bids"),
    TenderStatus.BIDDING_CLOSED: _l("Bidding closed"),
    TenderStatus.OPENED: _l("Bids opened"),
    TenderStatus.SCORED: _l("Scored"),
    TenderStatus.AWARD_PROPOSED: _l("Award proposed"),
    TenderStatus.IN_PUBLICITY: _l("In publicity"),
    TenderStatus.AWARDED: _l("Awarded"),
    TenderStatus.CANCELLED: _l("Cancelled"),
    TenderStatus.FAILED: _l("Failed"),
}
BID_STATUS_LABELS = {
    BidStatus.SUBMITTED: _l("Submitted"),
    BidStatus.WITHDRAWN: _l("Withdrawn"),
}
OBJECTION_STATUS_LABELS = {
    ObjectionStatus.OPEN: _l("Awaiting answer"),
    ObjectionStatus.DISMISSED: _l("Dismissed"),
    ObjectionStatus.UPHELD: _l("Upheld"),
}
OBJECTION_SUBJECT_LABELS = {
    ObjectionSubject.DOCUMENTS: _l("the tender documents"),
    ObjectionSubject.AWARD: _l("the award"),
}
COMPLAINT_STATUS_LABELS = {
    ComplaintStatus.OPEN: _l("Before the finance department"),
    ComplaintStatus.DISMISSED: _l("Dismissed by the finance department"),
    ComplaintStatus.UPHELD: _l("Upheld by the finance department"),
}
TARGET_LABELS = {
    "target_cases": _l("Case-work cases"),
    "target_groups": _l("Groups"),
    "target_group_sessions": _l("Group sessions"),
    "target_events": _l("Community events"),
    "target_person_times": _l("Person-times"),
    "target_people": _l("Distinct people"),
    "target_service_hours": _l("Service hours"),
    "target_satisfaction": _l("Satisfaction rate (%)"),
}
AFFILIATION_LABELS = {
    AffiliationKind.STAFF: _l("Works for the organization"),
    AffiliationKind.FORMER_STAFF: _l("Worked for it in the last three years"),
    AffiliationKind.RELATION: _l("Family, financial or other tie"),
}
