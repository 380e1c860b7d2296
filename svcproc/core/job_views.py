"""The one job-status page: how far any background job has got, polled by htmx every second while
it runs, and what came of it. Who may follow a job, and how its result is shown, is registered by
its domain with the job function (core/jobs.py); this module imports no domain."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request
from flask_login import current_user, login_required

from ..extensions import db
from . import jobs
from .permissions import require
from .web import is_htmx, is_local_url

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

RUNNING = (jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING)


def status_context(job: jobs.Job, next_url: str = "") -> dict:
    """What the status box shows: progress, the kind's own result context, where to poll."""
    percent, message = jobs.progress_of(job)
    kind = jobs.KINDS.get(job.kind)
    extra = kind.context(job) if kind is not None and kind.context is not None else {}
    return {"job": job, "percent": percent, "message": message, "running": job.status in RUNNING,
            "done": job.status == jobs.JobStatus.DONE,
            "next_url": next_url, "outcome_template": (kind.template if kind and kind.template else
                                                        "jobs/_outcome.html"), **extra}


# "/jobs/<job_id>" itself is still the service log's import progress (delivery/views.py), until that
# page moves here too.
@bp.route("/<job_id>/status")
@login_required
def status(job_id: str):
    job = db.session.get(jobs.Job, job_id)
    if job is None:
        abort(404)
    require(jobs.can_view_job(current_user, job))
    next_url = request.args.get("next", "")
    if not is_local_url(next_url):
        next_url = ""
    context = status_context(job, next_url)
    if not is_htmx():
        return render_template("jobs/job.html", **context)
    response = make_response(render_template("jobs/_job.html", **context))
    if next_url and not context["running"]:
        response.headers["HX-Redirect"] = next_url  # the page the job was started from shows its result
    return response
