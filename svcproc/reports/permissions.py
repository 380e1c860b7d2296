"""Who may read, generate and verify reports, and who sits at the auditor's desk."""
from __future__ import annotations

import sqlalchemy as sa

from ..core.permissions import has_permission


def can_read_reports(user) -> bool:
    """Bureau staff and auditors read every report; they are the people who print them."""
    return has_permission(user, "reports.read")


def can_generate_report(user) -> bool:
    """Rendering a report changes no record of the project, so auditors may ask for one too."""
    return has_permission(user, "reports.generate")


def can_use_audit_desk(user) -> bool:
    return has_permission(user, "audit.read") and has_permission(user, "reports.read")


def can_download_audit_package(user) -> bool:
    return has_permission(user, "audit.read") and has_permission(user, "reports.read")


def can_view_report(user, report) -> bool:
    """A stored report is read by those who read reports (anyone may check its code at /verify)."""
    return can_read_reports(user)


def visible_reports(user) -> sa.Select:
    """The stored reports a person's lists hold, as can_view_report decides one."""
    from .models import GeneratedReport

    stmt = sa.select(GeneratedReport)
    return stmt if can_read_reports(user) else stmt.where(sa.false())
