"""Indicator template pages: administrators keep versioned templates; others read them."""
from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ...contracts.forms import EmptyForm
from ...core import flow
from ...core.errors import DomainError, ValidationError
from ...core.permissions import require
from ...core.web import redirect_to
from ...extensions import db
from ...procurement.labels import TARGET_LABELS
from .. import indicators
from .. import permissions as perms
from ..models import IndicatorTemplate, TemplateVersion
from ..results import OUTPUT_TARGETS
from ..states import VERSION
from ..template_forms import NewTemplateForm, TemplateForm, VersionForm
from . import bp

ROW_FIELDS = ("key", "name", "weight", "kind", "target", "guide")
EMPTY_ROWS = 3    # blank rows under the tree, so rows can be added without JavaScript
MIN_BANDS = 4


def _template(template_id: int) -> IndicatorTemplate:
    return db.get_or_404(IndicatorTemplate, template_id)


def _version(version_id: int) -> TemplateVersion:
    return db.get_or_404(TemplateVersion, version_id)


def _target_labels() -> dict:
    """The contract targets an output indicator may measure, named as the contract pages name them."""
    return {name: TARGET_LABELS[name] for name in OUTPUT_TARGETS}


# --- the list and the templates ----------------------------------------------------------------


@bp.route("/templates", endpoint="templates")
@login_required
def template_list():
    require(perms.can_view_templates(current_user))
    items = db.session.execute(
        sa.select(IndicatorTemplate).options(selectinload(IndicatorTemplate.versions))
        .order_by(IndicatorTemplate.created_at, IndicatorTemplate.id)).scalars().all()
    return render_template("evaluations/template_list.html", templates=items)


def _source_versions() -> list[TemplateVersion]:
    return list(db.session.execute(
        sa.select(TemplateVersion).order_by(TemplateVersion.template_id, TemplateVersion.number)).scalars())


@bp.route("/templates/new", methods=["GET", "POST"])
@login_required
def template_new():
    require(perms.can_manage_templates(current_user))
    sources = _source_versions()
    form = NewTemplateForm()
    form.start_from.choices = [("default", _("The indicators shipped with svcproc"))] + [
        (str(v.id), _("A copy of %(label)s", label=v.label)) for v in sources]
    if request.method == "GET":
        wanted = request.args.get("from", "default")
        form.start_from.data = wanted if any(wanted == value for value, _label in form.start_from.choices) \
            else "default"

    def save():
        source = next((v for v in sources if str(v.id) == form.start_from.data), None)
        template = indicators.create_template(
            current_user, name=form.name.data, description=form.description.data or "",
            rows=[dict(row) for row in source.indicators] if source else None,
            bands=[list(band) for band in source.bands] if source else None)
        flash(_("Template %(name)s created with a draft version 1: work through its indicators, then publish it.",
                name=template.name), "success")
        return url_for("evaluations.version_edit", version_id=template.latest.id)

    return flow.submit(form, save, lambda **extra: render_template("evaluations/template_new.html", form=form,
                                                                   **extra), field="name")


def _template_page(template: IndicatorTemplate, form: TemplateForm, stale: str | None = None):
    return render_template("evaluations/template_detail.html", template=template, form=form,
                           action_form=EmptyForm(), stale=stale)


@bp.route("/templates/<int:template_id>", endpoint="template")
@login_required
def template_page(template_id: int):
    item = _template(template_id)
    require(perms.can_view_templates(current_user))
    form = TemplateForm(obj=item)
    form.version.data = str(item.version)
    return _template_page(item, form)


@bp.route("/templates/<int:template_id>/edit", methods=["POST"])
@login_required
def template_edit(template_id: int):
    item = _template(template_id)
    require(perms.can_manage_templates(current_user))
    form = TemplateForm()

    def save():
        indicators.update_template(current_user, item, name=form.name.data, description=form.description.data or "")
        return url_for("evaluations.template", template_id=item.id)

    return flow.submit(form, save, lambda stale=None: _template_page(item, form, stale=stale), field="name",
                       obj=item, message=_("Template saved."))


@bp.route("/templates/<int:template_id>/versions", methods=["POST"])
@login_required
def template_new_version(template_id: int):
    item = _template(template_id)
    require(perms.can_manage_templates(current_user))
    version = indicators.new_version(current_user, item)
    flash(_("Version %(n)d started as a draft copy of the previous version.", n=version.number), "success")
    return redirect_to(url_for("evaluations.version_edit", version_id=version.id))


# --- versions ------------------------------------------------------------------------------------


def _percent(lower) -> str:
    return format((Decimal(str(lower)) * 100).normalize(), "f")


@bp.route("/template-versions/<int:version_id>", endpoint="version")
@login_required
def version_page(version_id: int):
    item = _version(version_id)
    require(perms.can_view_templates(current_user))
    parents = {indicators.parent_key(row["key"]) for row in item.indicators}
    rows = [{**row, "level": row["key"].count(".") + 1, "is_leaf": row["key"] not in parents}
            for row in item.indicators]
    bands = [{"percent": _percent(lower), "share": share} for lower, share in item.bands]
    return render_template("evaluations/template_version.html", version=item, rows=rows, bands=bands,
                           target_labels=_target_labels(), action_form=EmptyForm())


def _require_draft(version: TemplateVersion) -> None:
    if not VERSION.allows("edit", version):
        raise DomainError(_("Only a draft can be edited: version %(n)d is frozen. Start a new version to change "
                            "the indicators.", n=version.number))


def _blank_row() -> dict:
    return {"uid": secrets.token_hex(6), **{name: "" for name in ROW_FIELDS}}


def _stored_rows(version: TemplateVersion) -> list[dict]:
    rows = [{"uid": f"s{number}", **{name: row.get(name) or "" for name in ROW_FIELDS}}
            for number, row in enumerate(version.indicators)]
    return rows + [_blank_row() for _n in range(EMPTY_ROWS)]


def _stored_bands(version: TemplateVersion) -> list[tuple[str, str]]:
    bands = [(_percent(lower), str(share)) for lower, share in version.bands]
    return bands + [("", "")] * max(1, MIN_BANDS - len(bands))


def _posted_rows() -> list[dict]:
    """The editor's rows as typed, in order, without the ones ticked for removal.

    Each row carries a uid so a ticked checkbox (sent only when ticked) names its row."""
    columns = {name: request.form.getlist(f"row_{name}") for name in ROW_FIELDS}
    removed = set(request.form.getlist("row_remove"))
    rows = []
    for index, uid in enumerate(request.form.getlist("row_uid")):
        if uid in removed:
            continue
        rows.append({"uid": uid, **{name: (values[index] if index < len(values) else "")
                                    for name, values in columns.items()}})
    return rows


def _posted_bands() -> list[tuple[str, str]]:
    return list(zip(request.form.getlist("band_lower"), request.form.getlist("band_share")))


def _number(text) -> Decimal | None:
    try:
        value = Decimal(str(text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _check(rows: list[dict], bands: list[tuple[str, str]]) -> dict:
    """Sums per parent and in total, and the first problem a save would meet (nothing is saved)."""
    typed = [((row.get("key") or "").strip().lower(), row) for row in rows if (row.get("key") or "").strip()]
    total = sum((_number(row.get("weight")) or Decimal(0) for key, row in typed if "." not in key), Decimal(0))
    groups = []
    for key, row in typed:
        children = [child for child_key, child in typed if indicators.parent_key(child_key) == key]
        if children:
            weight = _number(row.get("weight"))
            children_sum = sum((_number(c.get("weight")) or Decimal(0) for c in children), Decimal(0))
            groups.append({"key": key, "name": (row.get("name") or "").strip() or key, "weight": weight,
                           "sum": children_sum, "ok": weight is not None and children_sum == weight})
    problem = None
    try:
        indicators.clean_rows(rows)
        indicators.clean_bands(bands)
    except ValidationError as exc:
        problem = exc.message
    return {"total": total, "total_ok": total == 100, "groups": groups, "problem": problem}


def _editor(version: TemplateVersion, form: VersionForm, rows: list[dict], bands: list[tuple[str, str]],
            errors: dict | None = None, stale: str | None = None):
    return render_template("evaluations/template_version_edit.html", version=version, form=form, rows=rows,
                           bands=bands, errors=errors or {}, stale=stale, check=_check(rows, bands),
                           target_labels=_target_labels())


@bp.route("/template-versions/<int:version_id>/edit", methods=["GET", "POST"])
@login_required
def version_edit(version_id: int):
    item = _version(version_id)
    require(perms.can_manage_templates(current_user))
    _require_draft(item)
    if request.method == "GET":
        form, rows, bands = VersionForm(obj=item), _stored_rows(item), _stored_bands(item)
    else:
        form, rows, bands = VersionForm(), _posted_rows(), _posted_bands()
    errors: dict[str, str] = {}

    def save():
        indicators.save_version(current_user, item, rows=indicators.clean_rows(rows),
                                bands=indicators.clean_bands(bands), note=form.note.data or "")
        return url_for("evaluations.version", version_id=item.id)

    def on_error(exc) -> bool:
        errors[exc.field if exc.field in ("indicators", "bands") else "indicators"] = exc.message
        return True

    def page(stale=None):
        if form.errors and not form.note.errors and not errors:
            errors["form"] = _("The form was incomplete; reload the page and enter your changes again.")
        return _editor(item, form, rows, bands, errors=errors, stale=stale)

    return flow.submit(form, save, page, field="indicators", obj=item, on_error=on_error,
                       message=_("Version %(n)d saved. It stays a draft until you publish it.", n=item.number))


@bp.route("/template-versions/<int:version_id>/row")
@login_required
def version_row(version_id: int):
    _version(version_id)
    require(perms.can_manage_templates(current_user))
    return render_template("evaluations/_template_row.html", row=_blank_row(), target_labels=_target_labels())


@bp.route("/template-versions/<int:version_id>/check", methods=["POST"])
@login_required
def version_check(version_id: int):
    _version(version_id)
    require(perms.can_manage_templates(current_user))
    return render_template("evaluations/_template_check.html", check=_check(_posted_rows(), _posted_bands()))


@bp.route("/template-versions/<int:version_id>/publish", methods=["POST"])
@login_required
def version_publish(version_id: int):
    item = _version(version_id)
    require(perms.can_manage_templates(current_user))
    indicators.publish_version(current_user, item)
    flash(_("Version %(n)d published: new evaluations can use it, and it can no longer change.", n=item.number),
          "success")
    return redirect_to(url_for("evaluations.version", version_id=item.id))


@bp.route("/template-versions/<int:version_id>/retire", methods=["POST"])
@login_required
def version_retire(version_id: int):
    item = _version(version_id)
    require(perms.can_manage_templates(current_user))
    indicators.retire_version(current_user, item)
    flash(_("Version %(n)d retired: evaluations that use it keep it; new evaluations cannot start with it.",
            n=item.number), "success")
    return redirect_to(url_for("evaluations.version", version_id=item.id))
