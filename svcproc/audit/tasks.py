"""The background job that verifies the audit chain, and how the job-status page shows it."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from ..core import jobs
from .permissions import can_view_audit
from .verification import JOB_KIND, verify_chain


def can_view_verification_job(user, job: jobs.Job) -> bool:
    """Whoever reads the audit trail follows its checks (they share one chain)."""
    return can_view_audit(user)


def job_page(job: jobs.Job) -> dict:
    url = url_for("audit.verify")
    return dict(title=_("Verify the audit chain"), back_url=url, back_label=_("Audit trail"),
                result_url=url, result_label=_("Verify the audit chain"))


@jobs.job_function(JOB_KIND, can_view=can_view_verification_job, template="audit/_verify_job.html",
                   context=job_page)
def run_verification(job, progress) -> dict:
    report = verify_chain(resume=not job.payload.get("full"), progress=progress)
    return {"ok": report.ok, "last_seq": report.last_seq, "bad_seq": report.bad_seq}
