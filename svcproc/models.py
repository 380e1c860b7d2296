"""Every model, imported in one place so the metadata Alembic compares is complete."""
from .accounts.models import User  # noqa: F401
from .audit.models import AuditChainHead, AuditEvent  # noqa: F401
from .registry.models import Area, Organization, SocialWorker  # noqa: F401
from .contracts.models import Amendment, Contract, Deliverable, Milestone, Payment  # noqa: F401
from .core.files import StoredFile  # noqa: F401
from .core.jobs import Job  # noqa: F401
from .core.storage import FileChunk  # noqa: F401
from .core.versions import DataVersion  # noqa: F401
from .core.workdays import LocalCalendarDay  # noqa: F401
from .delivery.models import (ActivityEvidence, ActivityRevision, Beneficiary, ImportBatch, RedFlag,  # noqa: F401
                              ServiceActivity, ServiceCase, ServiceGroup)
from .procurement.models import (Bid, BidDocument, Clarification, CommunityNeed, Complaint, ComplaintDocument,  # noqa: F401
                                 ExpertScore, Objection,
                                 ObjectionDocument, ProjectPlan, Tender, TenderCriterion, TenderDocument,
                                 TenderExpert, ExpertAffiliation)
from .evaluations.models import (EvaluationEvidence, EvaluationParty, EvaluationRound, EvaluationScore,  # noqa: F401
                                 Finding, IndicatorTemplate, RectificationItem, RectificationResponse,
                                 ResponseFile, RoundEvaluator, SatisfactionSurvey, TemplateVersion)
from .reports.models import GeneratedReport  # noqa: F401
from .monitoring.models import MonitoringCase, MonitoringDocument, ProcurementFlag  # noqa: F401
from .api.models import ApiToken  # noqa: F401
from .public.models import PublicFigures  # noqa: F401
from .ocds.models import OcdsProcess  # noqa: F401
