"""Indicator templates kept by administrators: versions as rows of a tree, validation, publishing.

A version is edited while it is a draft and frozen once published; a change to a published
template is a new version, so every round keeps the tree it started with.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

import sqlalchemy as sa
from flask_babel import gettext as _

from ..audit.services import record
from ..core import clock
from ..core.errors import DomainError, ValidationError
from ..core.workflow import allow
from ..extensions import db
from . import permissions as perms
from .models import IndicatorTemplate, TemplateVersion, VersionStatus
from .states import VERSION
from .tree import DEFAULT_BANDS, Indicator, LeafKind, TreeError, validate, validate_bands

DEFAULT_TEMPLATE_NAME = "社会工作服务项目评估指标（默认）"
KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-.")


# --- rows <-> tree ----------------------------------------------------------------------------


def rows_of(top: list[Indicator]) -> list[dict]:
    """The tree as rows in display order (parents before their children)."""
    rows: list[dict] = []

    def walk(node: Indicator) -> None:
        rows.append({"key": node.key, "name": node.name, "weight": str(node.weight),
                     "kind": node.kind.value if node.kind else "", "guide": node.guide or "",
                     "target": node.target or ""})
        for child in node.children:
            walk(child)

    for node in top:
        walk(node)
    return rows


def parent_key(key: str) -> str | None:
    return key.rsplit(".", 1)[0] if "." in key else None


def tree_of(rows: list[dict]) -> list[Indicator]:
    """Rebuild the tree from rows; a row's parent is its key up to the last dot."""
    nodes: dict[str, Indicator] = {}
    top: list[Indicator] = []
    for row in rows:
        kind = LeafKind(row["kind"]) if row.get("kind") else None
        node = Indicator(row["key"], row["name"], Decimal(str(row["weight"])), kind, row.get("guide") or "",
                         row.get("target") or None)
        nodes[node.key] = node
        parent = parent_key(node.key)
        if parent is None:
            top.append(node)
        else:
            nodes[parent].children.append(node)
    return top


def leaves_of(version: TemplateVersion) -> list[Indicator]:
    return [leaf for node in tree_of(version.indicators) for leaf in node.leaves()]


def bands_of(version: TemplateVersion) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((Decimal(lower), _share(share)) for lower, share in version.bands) or DEFAULT_BANDS


def _share(text: str) -> Decimal:
    """A share of full marks written as a decimal ("0.5") or a fraction ("2/3")."""
    text = str(text).strip()
    if len(text) > 15 or "e" in text.lower():   # a share is 1, 0.5 or 2/3; an exponent only costs CPU
        raise ValueError(text)
    value = Fraction(text)
    return Decimal(value.numerator) / Decimal(value.denominator)


def default_bands_rows() -> list[list[str]]:
    return [["1.00", "1"], ["0.80", "2/3"], ["0.60", "1/3"], ["0.00", "0"]]


# --- checking what an administrator typed -------------------------------------------------------


def clean_rows(raw: list[dict]) -> list[dict]:
    """Check rows typed into the editor and return them normalised; raises ValidationError naming
    the row and field, in the person's language."""
    rows: list[dict] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        key = (item.get("key") or "").strip().lower()
        name = (item.get("name") or "").strip()
        if not key and not name and not (item.get("weight") or "").strip():
            continue   # an empty row left in the editor
        if not key or not set(key) <= KEY_CHARS or key.startswith(".") or key.endswith(".") or ".." in key:
            raise ValidationError(_("Row %(n)d: the code uses lower-case letters, digits and dots, e.g. output.cases.",
                                    n=number), "indicators")
        if key in seen:
            raise ValidationError(_("Row %(n)d: the code %(key)s is used twice.", n=number, key=key), "indicators")
        parent = parent_key(key)
        if parent is not None and parent not in seen:
            raise ValidationError(_("Row %(n)d: %(key)s comes before its parent %(parent)s is listed.",
                                    n=number, key=key, parent=parent), "indicators")
        if not name:
            raise ValidationError(_("Row %(n)d: give the indicator a name.", n=number), "indicators")
        try:
            weight = Decimal((item.get("weight") or "").strip())
        except InvalidOperation:
            raise ValidationError(_("Row %(n)d: the weight is a number of points, e.g. 5 or 2.5.", n=number),
                                  "indicators") from None
        try:
            two_decimals = weight.is_finite() and weight == weight.quantize(Decimal("0.01"))
        except InvalidOperation:  # too many digits to quantize (1e30): no weight anyone means
            two_decimals = False
        if not weight.is_finite() or weight <= 0 or not two_decimals:
            raise ValidationError(_("Row %(n)d: the weight is a number of points above zero with at most two decimals.",
                                    n=number), "indicators")
        kind = (item.get("kind") or "").strip()
        if kind and kind not in {k.value for k in LeafKind}:
            raise ValidationError(_("Row %(n)d: choose how the indicator is scored.", n=number), "indicators")
        seen.add(key)
        rows.append({"key": key, "name": name[:200], "weight": format(weight.normalize(), "f"),
                     "kind": kind, "guide": (item.get("guide") or "").strip(),
                     "target": (item.get("target") or "").strip()})
    # Parents are scored through their children: a kind on a parent row is dropped, not an error.
    parents = {parent_key(r["key"]) for r in rows}
    for row in rows:
        if row["key"] in parents:
            row["kind"] = ""
            row["target"] = ""
        elif row["kind"] != LeafKind.OUTPUT.value:
            row["target"] = ""
    try:
        validate(tree_of(rows))
    except TreeError as exc:
        raise ValidationError(tree_error_message(exc), "indicators") from None
    return rows


def tree_error_message(exc: TreeError) -> str:
    """TreeError speaks English for the logs; the administrator reads it in their language."""
    text = str(exc)
    if text == "the template has no indicators":
        return _("The template has no indicators.")
    if text.startswith("the first-level weights add up to"):
        return _("The first-level weights add up to %(total)s, not 100.", total=text.rsplit(" to ", 1)[1].split(",")[0])
    name, _sep, rest = text.partition(": ")
    messages = {
        "a template has two or three levels": _("%(name)s: a template has two or three levels.", name=name),
        "a weight must be above zero": _("%(name)s: a weight must be above zero.", name=name),
        "a leaf must say how it is scored": _("%(name)s: choose how this indicator is scored.", name=name),
        "an output indicator must name the target it measures":
            _("%(name)s: an output indicator must name the target it measures.", name=name),
        "only leaves are scored": _("%(name)s: only indicators without sub-indicators are scored.", name=name),
    }
    if rest in messages:
        return messages[rest]
    if rest.startswith("the sub-indicators add up to"):
        numbers = rest.replace("the sub-indicators add up to ", "").split(", not ")
        return _("%(name)s: the sub-indicators add up to %(sum)s, not %(weight)s.", name=name, sum=numbers[0],
                 weight=numbers[1])
    if rest.startswith("the key"):
        return _("%(name)s: a code is used twice.", name=name)
    return text


def clean_bands(raw: list[tuple[str, str]]) -> list[list[str]]:
    """Bands typed as (threshold in percent, share of full marks as a decimal or fraction)."""
    rows: list[list[str]] = []
    for number, (lower_text, share_text) in enumerate(raw, start=1):
        lower_text, share_text = (lower_text or "").strip(), (share_text or "").strip()
        if not lower_text and not share_text:
            continue
        try:
            lower = Decimal(lower_text) / 100
            _share(share_text)
        except (InvalidOperation, ValueError, ZeroDivisionError):
            raise ValidationError(_("Band %(n)d: give the threshold in percent and the share as 1, 0.5 or 2/3.",
                                    n=number), "bands") from None
        if not lower.is_finite():
            raise ValidationError(_("Band %(n)d: give the threshold in percent.", n=number), "bands")
        try:
            lower_text = str(lower.quantize(Decimal("0.0001")).normalize()) if lower else "0"
        except InvalidOperation:  # more digits than a Decimal holds: no threshold anyone means
            raise ValidationError(_("Band %(n)d: give the threshold in percent.", n=number), "bands") from None
        rows.append([lower_text, share_text])
    try:
        validate_bands([(Decimal(lower), _share(share)) for lower, share in rows])
    except TreeError:
        raise ValidationError(_("List the bands from the highest threshold down, each threshold once, the last "
                                "starting at 0 %, with shares running from at most full marks down to at least "
                                "nothing."), "bands") from None
    return rows


# --- templates and versions ---------------------------------------------------------------------


def _unique_name(name: str, template: IndicatorTemplate | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the template a name."), "name")
    clash = db.session.execute(sa.select(IndicatorTemplate.id).where(IndicatorTemplate.name == name)).scalar()
    if clash is not None and (template is None or clash != template.id):
        raise ValidationError(_("A template with this name exists already."), "name")
    return name


def create_template(actor, *, name: str, description: str = "", rows: list[dict] | None = None,
                    bands: list[list[str]] | None = None) -> IndicatorTemplate:
    """A new template with a draft version 1 holding the given tree (by default the shipped one)."""
    from .tree import default_template

    allow(actor, perms.can_manage_templates(actor))
    template = IndicatorTemplate(name=_unique_name(name), description=(description or "").strip(),
                                 created_at=clock.now())
    db.session.add(template)
    db.session.flush()
    version = TemplateVersion(template=template, number=1, status=VersionStatus.DRAFT,
                              indicators=rows if rows is not None else rows_of(default_template()),
                              bands=bands if bands is not None else default_bands_rows(),
                              created_at=clock.now(), created_by_id=getattr(actor, "id", None))
    db.session.add(version)
    db.session.flush()
    record("indicator_template.created", actor=actor, obj=template,
           changes={"name": [None, template.name], "version": [None, 1]})
    return template


def update_template(actor, template: IndicatorTemplate, *, name: str, description: str) -> None:
    allow(actor, perms.can_manage_templates(actor))
    before = {"name": template.name, "description": template.description}
    template.name = _unique_name(name, template)
    template.description = (description or "").strip()
    db.session.flush()
    after = {"name": template.name, "description": template.description}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        record("indicator_template.updated", actor=actor, obj=template, changes=changes)


def _draft(version: TemplateVersion) -> None:
    if not VERSION.allows("edit", version):
        raise DomainError(_("Version %(n)d is published and can no longer change; start a new version.",
                            n=version.number))


def save_version(actor, version: TemplateVersion, *, rows: list[dict], bands: list[list[str]], note: str = "") -> None:
    """Replace a draft's tree and bands (already cleaned by clean_rows/clean_bands)."""
    allow(actor, perms.can_manage_templates(actor))
    _draft(version)
    before = {"indicators": version.indicators, "bands": version.bands, "note": version.note}
    version.indicators, version.bands, version.note = rows, bands, (note or "").strip()
    db.session.flush()
    changes = {k: [before[k], v] for k, v in
               {"indicators": rows, "bands": bands, "note": version.note}.items() if before[k] != v}
    if changes:
        record("template_version.saved", actor=actor, obj=version, changes=changes)


def publish_version(actor, version: TemplateVersion) -> None:
    allow(actor, perms.can_manage_templates(actor))
    _draft(version)
    # The stored rows were checked when saved; check again so a hand-edited row cannot slip through.
    try:
        validate(tree_of(version.indicators))
        validate_bands(bands_of(version))
    except TreeError as exc:
        raise DomainError(tree_error_message(exc)) from None
    version.published_at = clock.now()
    VERSION.move(actor, version, "publish", template=version.template.name)


def retire_version(actor, version: TemplateVersion) -> None:
    allow(actor, perms.can_manage_templates(actor))
    if not VERSION.allows("retire", version):
        raise DomainError(_("Only a published version can be retired."))
    VERSION.move(actor, version, "retire")


def new_version(actor, template: IndicatorTemplate) -> TemplateVersion:
    """A draft copy of the newest version; refused while a draft is open."""
    allow(actor, perms.can_manage_templates(actor))
    latest = template.latest
    if latest is not None and VERSION.allows("edit", latest):
        raise DomainError(_("Version %(n)d is still a draft: edit it rather than starting another.", n=latest.number))
    version = TemplateVersion(template=template, number=(latest.number + 1) if latest else 1,
                              status=VersionStatus.DRAFT,
                              indicators=[dict(r) for r in latest.indicators] if latest else [],
                              bands=[list(b) for b in latest.bands] if latest else default_bands_rows(),
                              created_at=clock.now(), created_by_id=getattr(actor, "id", None))
    db.session.add(version)
    db.session.flush()
    record("template_version.created", actor=actor, obj=version,
           changes={"template": [None, template.name], "number": [None, version.number]})
    return version


def usable_versions() -> list[TemplateVersion]:
    """Published versions a new round may start with, newest first."""
    return list(db.session.execute(
        sa.select(TemplateVersion).where(TemplateVersion.status == VersionStatus.PUBLISHED)
        .order_by(TemplateVersion.template_id, TemplateVersion.number.desc())).scalars())


def default_version() -> TemplateVersion | None:
    """The newest published version of the shipped template (installed by the migrations)."""
    template = db.session.execute(sa.select(IndicatorTemplate).where(
        IndicatorTemplate.name == DEFAULT_TEMPLATE_NAME)).scalar_one_or_none()
    return template.current if template is not None else None
