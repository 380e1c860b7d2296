"""The job that recomputes the procurement red flags, and how the job-status page shows it."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from ..core import jobs
from ..extensions import db
from . import flags
from .permissions import can_view_monitoring

JOB_KIND = "procurement_flags"


def can_view_flags_job(user, job: jobs.Job) -> bool:
    """Those who read the flags follow their computation, whoever started it."""
    return can_view_monitoring(user)


def job_page(job: jobs.Job) -> dict:
    url = url_for("reports.desk") + "#procurement-flags-h"
    return dict(title=_("Recompute the procurement red flags"), back_url=url, back_label=_("Auditor's desk"),
                result_url=url, result_label=_("Procurement red flags"))


@jobs.job_function(JOB_KIND, can_view=can_view_flags_job, template="monitoring/_flags_job.html", context=job_page)
def run_flags_job(job, progress) -> dict:
    result = flags.refresh()
    db.session.commit()
    return result
