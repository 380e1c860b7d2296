"""Every model, imported in one place so the metadata Alembic compares is complete."""
from .accounts.models import User  # noqa: F401
from .audit.models import AuditChainHead, AuditEvent  # noqa: F401
from .registry.models import Area, Organization, SocialWorker  # noqa: F401
