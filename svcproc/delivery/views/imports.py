"""Ledger imports: the upload and its dry run, the confirmation, and the progress of their jobs."""
from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Response, abort, flash, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import defer, joinedload

from ...contracts.models import Contract
from ...core import exports, files, flow, jobs
from ...core.errors import ValidationError
from ...core.files import StoredFile
from ...core.permissions import require
from ...core.web import redirect_to
from ...extensions import db
from .. import ledger, workflow
from .. import permissions as perms
from ..forms import EmptyForm, ImportForm
from ..models import Beneficiary, ImportBatch, PersonStatus, ServiceActivity, activity_participant
from . import bp
from .common import contract_or_404

# Files larger than this are checked and imported in the background with a progress bar.
INLINE_IMPORT_BYTES = 256 * 1024


# A contract's last ledger files as its import page lists them: each with its file's name (joined,
# not read a statement apart), without its errors, repeats and preview (JSON the list does not show).
_EARLIER_FILES = (sa.select(ImportBatch).where(ImportBatch.contract_id == sa.bindparam("contract"))
                  .options(defer(ImportBatch.errors), defer(ImportBatch.repeats), defer(ImportBatch.preview),
                           joinedload(ImportBatch.file).load_only(StoredFile.original_name))
                  .order_by(ImportBatch.id.desc()).limit(20))


@bp.route("/contracts/<int:contract_id>/imports", methods=["GET", "POST"])
@login_required
def imports(contract_id: int):
    contract = contract_or_404(contract_id)
    require(perms.can_manage_delivery(current_user, contract))
    form = ImportForm()

    def save():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(_("Choose the ledger file."), "file")
        batch = ledger.create_batch(current_user, contract, upload)
        if batch.file.size <= INLINE_IMPORT_BYTES:
            ledger.run_check(current_user, batch)
        else:
            batch.job_id = jobs.start("ledger_check", {"batch_id": batch.id, "locale": _locale()}, current_user).id
        return url_for("delivery.import_batch", batch_id=batch.id)

    def page(**extra):
        batches = db.session.execute(_EARLIER_FILES, {"contract": contract.id}).unique().scalars().all()
        columns = [(str(label), "、".join(other), help) for _key, label, other, help in ledger.COLUMNS]
        return render_template("delivery/imports.html", form=form, contract=contract, batches=batches,
                               columns=columns, type_words=ledger.type_list(), **extra)

    return flow.submit(form, save, page, field="file")


@bp.route("/contracts/<int:contract_id>/imports/template.<kind>")
@login_required
def import_template(contract_id: int, kind: str):
    """The empty template, or with `?people=contract` (the people served under the contract) or
    `?people=organization` (the organization's whole register) one line per person, named by their
    register code."""
    contract = contract_or_404(contract_id)
    require(perms.can_manage_delivery(current_user, contract))
    people = request.args.get("people")
    if people in ("contract", "organization"):
        stmt = (perms.visible_beneficiaries(current_user)
                .where(Beneficiary.organization_id == contract.organization_id,
                       Beneficiary.status == PersonStatus.ACTIVE)  # no line for whoever withdrew consent
                .with_only_columns(Beneficiary.id, Beneficiary.name, Beneficiary.id_number_masked)
                .order_by(Beneficiary.name, Beneficiary.id))
        if people == "contract":
            stmt = stmt.where(Beneficiary.id.in_(
                sa.select(activity_participant.c.beneficiary_id)
                .join(ServiceActivity, ServiceActivity.id == activity_participant.c.activity_id)
                .where(ServiceActivity.contract_id == contract.id)))
        header, rows = ledger.register_template(db.session.execute(stmt.execution_options(yield_per=1000)))
        return exports.export_response(kind, f"{contract.number}-{_('Service ledger')}", header, rows,
                                       title=_("Service ledger"))
    if kind == "xlsx":
        return send_file(io.BytesIO(ledger.template_xlsx()), as_attachment=True, download_name="服务台账模板.xlsx",
                         mimetype=files.MIMETYPES["xlsx"])
    if kind == "csv":
        return Response(ledger.template_csv(), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename*=UTF-8''%E6%9C%8D%E5%8A%A1%E5%8F%B0%E8%B4%A6%E6%A8%A1%E6%9D%BF.csv"})
    abort(404)


def _locale() -> str:
    """The language the job writes its messages in: that of the person who started it."""
    return str(get_locale() or "zh_CN")


def job_state(job) -> str:
    """What a job's box shows: 'working' (queued or running), 'done' or 'failed' ('' without a job)."""
    if job is None:
        return ""
    if job.status in (jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING):
        return "working"
    return "done" if job.status == jobs.JobStatus.DONE else "failed"


def _batch(batch_id: int) -> ImportBatch:
    batch = db.get_or_404(ImportBatch, batch_id)
    contract = contract_or_404(batch.contract_id)
    require(perms.can_manage_delivery(current_user, contract))
    return batch


@bp.route("/imports/<int:batch_id>")
@login_required
def import_batch(batch_id: int):
    batch = _batch(batch_id)
    job = db.session.get(jobs.Job, batch.job_id) if batch.job_id else None
    return render_template("delivery/import_batch.html", batch=batch, job=job, job_state=job_state(job),
                           action_form=EmptyForm(),
                           contract=db.session.get(Contract, batch.contract_id))


@bp.route("/imports/<int:batch_id>/confirm", methods=["POST"])
@login_required
def import_confirm(batch_id: int):
    batch = _batch(batch_id)
    if not perms.can_confirm_import(current_user, batch):
        raise ValidationError(_("Only a checked file without errors can be imported."), "file")
    if batch.file.size <= INLINE_IMPORT_BYTES:
        ledger.run_import(current_user, batch)
        flash(_("Imported: %(n)d new entries; %(d)d already recorded were skipped.", n=batch.rows_new,
                d=batch.rows_duplicate), "success")
    else:
        job = jobs.start("ledger_import", {"batch_id": batch.id, "locale": _locale()}, current_user)
        workflow.start_import(current_user, batch, job.id)
    return redirect_to(url_for("delivery.import_batch", batch_id=batch.id))
