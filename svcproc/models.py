"""Every model, imported in one place so the metadata Alembic compares is complete."""
from .accounts.models import User  # noqa: F401
from .audit.models import AuditChainHead, AuditEvent  # noqa: F401
from .registry.models import Area, Organization, SocialWorker  # noqa: F401
from .core.files import StoredFile  # noqa: F401
from .procurement.models import (Bid, BidDocument, Clarification, CommunityNeed, ExpertScore, Objection,  # noqa: F401
                                 ObjectionDocument, ProjectPlan, Tender, TenderCriterion, TenderDocument,
                                 TenderExpert)
