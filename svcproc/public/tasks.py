"""The job that decides the results pages' figures again (public/sharing.py)."""
from __future__ import annotations

from flask_babel import gettext as _

from ..core import jobs
from ..extensions import db

JOB_KIND = "public_figures"


def can_view_figures_job(user, job: jobs.Job) -> bool:
    """Started by a page or by cron, never by a person: administrators may follow it."""
    from ..core.permissions import Role

    return getattr(user, "is_authenticated", False) and user.role == Role.ADMIN


def job_page(job: jobs.Job) -> dict:
    from flask import url_for

    url = url_for("public.areas")
    return dict(title=_("Decide the results pages' figures"), back_url=url, back_label=_("Results by community"),
                result_url=url, result_label=_("Results by community"))


@jobs.job_function(JOB_KIND, can_view=can_view_figures_job, context=job_page)
def run_figures_job(job, progress) -> dict:
    from . import sharing

    result = sharing.refresh()
    db.session.commit()
    return {"cells": sum(len(cells) for cells in result.cells.values())}
