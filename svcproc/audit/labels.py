"""What the audit trail's codes mean to a person: each action described, each object type named, and
each event's object given a title and a link to its page.

The chain stores stable dotted codes (`contract.signed`) and object types (`contract` #17); an
auditor reads "合同签订" and "合同 HT-2026-003 社区长者服务" linking to the contract. Titles come from
the object's own columns (one query per object type on a page); a deleted object keeps its code.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from flask import g, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..core.formatting import local_datetime
from ..core.templating import url_of
from ..extensions import db

ACTIONS: dict[str, Any] = {
    # accounts
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "auth.login_failed": _l("Sign-in failed"),
    "auth.locked": _l("Sign-in paused after failures"),
    "auth.login_refused_inactive": _l("Sign-in refused: account deactivated"),
    "auth.login_refused_locked": _l("Sign-in refused: paused after failures"),
    "auth.password_changed": _l("Password changed"),
    "user.created": _l("Account created"),
    "user.updated": _l("Account updated"),
    "user.activated": _l("Account activated"),
    "user.deactivated": _l("Account deactivated"),
    "user.password_reset": _l("Password reset"),
    "user.locale_changed": _l("Interface language changed"),
    # registry
    "area.created": _l("Area created"),
    "area.updated": _l("Area updated"),
    "organization.created": _l("Organization registered"),
    "organization.updated": _l("Organization updated"),
    "organization.status.active": _l("Organization reinstated"),
    "organization.status.suspended": _l("Organization suspended"),
    "organization.status.dishonest": _l("Organization put on the dishonesty list"),
    "social_worker.created": _l("Social worker registered"),
    "social_worker.updated": _l("Social worker updated"),
    # procurement
    "need.submitted": _l("Community need submitted"),
    "need.adopted": _l("Community need adopted"),
    "need.declined": _l("Community need declined"),
    "need.merged": _l("Community need merged"),
    "need.addressed": _l("Community need addressed"),
    "need.linked": _l("Community need linked to a plan"),
    "plan.created": _l("Project plan created"),
    "plan.updated": _l("Project plan updated"),
    "tender.created": _l("Tender drafted"),
    "tender.updated": _l("Tender updated"),
    "tender.criteria_set": _l("Scoring criteria set"),
    "tender.document_added": _l("Tender document added"),
    "tender.published": _l("Tender published"),
    "tender.bidding_closed": _l("Bidding closed"),
    "tender.opened": _l("Bids opened"),
    "tender.expert_assigned": _l("Expert assigned to the panel"),
    "tender.expert_removed": _l("Expert removed from the panel"),
    "tender.expert_declared": _l("Expert declared on conflicts"),
    "tender.expert_submitted": _l("Expert submitted scores"),
    "tender.score_saved": _l("Bid score saved"),
    "tender.scored": _l("Scoring finished"),
    "tender.returned_to_scoring": _l("Tender returned to scoring"),
    "tender.award_proposed": _l("Award proposed, publicity started"),
    "tender.publicity_started": _l("Award publicity started"),
    "tender.awarded": _l("Tender awarded"),
    "tender.failed": _l("Tender failed"),
    "tender.cancelled": _l("Tender cancelled"),
    "tender.award_revoked": _l("Award revoked on an upheld objection; tender returned to scoring"),
    "tender.award_cancelled": _l("Awarded tender cancelled on an upheld objection"),
    "bid.submitted": _l("Bid submitted"),
    "bid.resubmitted": _l("Bid resubmitted"),
    "bid.withdrawn": _l("Bid withdrawn"),
    "bid.ruled_invalid": _l("Bid ruled invalid"),
    "bid.ruled_ineligible": _l("Bid ruled out: the bidder is no longer eligible"),
    "bid.deposit_recorded": _l("Bid deposit recorded as received"),
    "bid.deposit_returned": _l("Bid deposit returned"),
    "bid.low_price_explained": _l("Abnormally low price explained by the bidder"),
    "bid.low_price_accepted": _l("Explanation of an abnormally low price accepted"),
    "bid.low_price_rejected": _l("Bid ruled invalid: abnormally low price not explained"),
    "tender.experts_drawn": _l("Experts drawn at random for the panel"),
    "tender.proposal_withdrawn": _l("Proposed award withdrawn"),
    "expert.categories_set": _l("Expert's service categories set"),
    "expert.affiliation_added": _l("Expert's tie to an organization recorded"),
    "expert.affiliation_removed": _l("Expert's tie to an organization removed"),
    "calendar.day_added": _l("Local holiday or working day added"),
    "calendar.day_removed": _l("Local holiday or working day removed"),
    "clarification.asked": _l("Clarification asked"),
    "clarification.answered": _l("Clarification answered"),
    "objection.filed": _l("Objection filed"),
    "objection.upheld": _l("Objection upheld"),
    "objection.dismissed": _l("Objection dismissed"),
    "objection.documents_amended": _l("Tender documents amended after an upheld objection"),
    "complaint.filed": _l("Complaint to the finance department recorded"),
    "complaint.upheld": _l("Complaint upheld by the finance department"),
    "complaint.dismissed": _l("Complaint dismissed by the finance department"),
    # contracts
    "contract.created": _l("Contract drafted"),
    "contract.updated": _l("Contract updated"),
    "contract.signed": _l("Contract signed"),
    "contract.started": _l("Contract started"),
    "contract.completed": _l("Contract completed"),
    "contract.closed": _l("Contract closed"),
    "contract.terminated": _l("Contract terminated"),
    "contract.amended": _l("Contract amended"),
    "contract.bond_recorded": _l("Performance bond recorded as received"),
    "contract.bond_returned": _l("Performance bond returned"),
    "contract.schedule_set": _l("Payment schedule set"),
    "contract.workers_set": _l("Contract's social workers set"),
    "milestone.deliverable_added": _l("Deliverable added"),
    "milestone.submitted": _l("Milestone submitted for acceptance"),
    "milestone.accepted": _l("Milestone accepted"),
    "milestone.returned": _l("Milestone returned"),
    "milestone.paid": _l("Milestone paid"),
    "milestone.period_reopened": _l("Entries behind a paid milestone reopened"),
    "milestone.period_closed": _l("Entries behind a paid milestone locked again"),
    "payment.recorded": _l("Payment recorded"),
    # delivery
    "beneficiary.created": _l("Person registered"),
    "beneficiary.updated": _l("Person's record updated"),
    "beneficiary.identity_revealed": _l("Identity number revealed"),
    "beneficiary.consent_withdrawn": _l("Consent withdrawn"),
    "beneficiary.anonymised": _l("Person anonymised after the retention period"),
    "beneficiary.exported": _l("Person's data exported for them"),
    "service_group.created": _l("Service group created"),
    "service_case.opened": _l("Case opened"),
    "activity.recorded": _l("Service entry recorded"),
    "activity.corrected": _l("Service entry corrected"),
    "activity.deleted": _l("Service entry deleted"),
    "red_flag.explained": _l("Red flag explained"),
    "import.started": _l("Ledger import started"),
    "import.checked": _l("Ledger checked"),
    "import.completed": _l("Ledger imported"),
    "import.failed": _l("Ledger import failed"),
    # evaluations
    "indicator_template.created": _l("Indicator template created"),
    "indicator_template.updated": _l("Indicator template updated"),
    "template_version.created": _l("Template version drafted"),
    "template_version.saved": _l("Template version saved"),
    "template_version.published": _l("Template version published"),
    "template_version.retired": _l("Template version retired"),
    "evaluation.created": _l("Evaluation round created"),
    "evaluation.updated": _l("Evaluation round updated"),
    "evaluation.parties_set": _l("Evaluation parties set"),
    "evaluation.evaluator_assigned": _l("Evaluator assigned"),
    "evaluation.evaluator_removed": _l("Evaluator removed"),
    "evaluation.evaluator_declared": _l("Evaluator declared on conflicts"),
    "evaluation.evaluator_submitted": _l("Evaluator submitted scores"),
    "evaluation.score_saved": _l("Evaluation score saved"),
    "evaluation.evidence_added": _l("Evaluation evidence added"),
    "evaluation.survey_added": _l("Satisfaction survey added"),
    "evaluation.survey_removed": _l("Satisfaction survey removed"),
    "evaluation.scoring_opened": _l("Evaluation scoring opened"),
    "evaluation.finalized": _l("Evaluation finalized"),
    "evaluation.reopened": _l("Evaluation reopened"),
    "evaluation.cancelled": _l("Evaluation cancelled"),
    "finding.added": _l("Finding recorded"),
    "rectification.added": _l("Rectification item added"),
    "rectification.responded": _l("Rectification answered"),
    "rectification.closed": _l("Rectification closed"),
    "rectification.reopened": _l("Rectification reopened"),
    # the API
    "api.token_created": _l("API token created"),
    "api.token_revoked": _l("API token revoked"),
    "api.token_used": _l("API token used"),
    "api.token_refused": _l("API token refused"),
    # monitoring
    "monitoring.opened": _l("Monitoring case opened"),
    "monitoring.findings_issued": _l("Monitoring findings issued"),
    "monitoring.answered": _l("Monitoring findings answered"),
    "monitoring.answer_returned": _l("Answer to monitoring findings returned"),
    "monitoring.concluded": _l("Monitoring case concluded"),
    "monitoring.document_added": _l("Monitoring document added"),
    # reports, jobs, audit
    "report.requested": _l("Report requested"),
    "report.generated": _l("Report generated"),
    "report.retried": _l("Report generation retried"),
    "audit_package.requested": _l("Audit package requested"),
    "audit_package.built": _l("Audit package built"),
    "audit.verification_started": _l("Audit chain verification started"),
    "job.started": _l("Background job started"),
    "job.finished": _l("Background job finished"),
    "job.failed": _l("Background job failed"),
}


@dataclass(frozen=True)
class Kind:
    """An object type as people name it, how its title is read and where its page is."""
    label: Any
    title: Callable[[Any], str] | None = None
    link: Callable[[Any], tuple[str, dict] | None] | None = None


def _columns(*names: str) -> Callable[[Any], str]:
    def title(obj) -> str:
        return " ".join(str(v) for v in (getattr(obj, n, None) for n in names) if v not in (None, ""))
    title.columns = names  # what `describe` reads of the object
    return title


def _to(endpoint: str, arg: str, attr: str = "id") -> Callable[[Any], tuple[str, dict] | None]:
    def link(obj):
        value = getattr(obj, attr, None)
        return (endpoint, {arg: value}) if value is not None else None
    link.columns = (attr,)
    return link


_TENDER = _to("procurement.tender", "tender_id", "tender_id")
_CONTRACT = _to("contracts.contract", "contract_id", "contract_id")
_ROUND = _to("evaluations.round", "round_id", "round_id")

KINDS: dict[str, Kind] = {
    "user": Kind(_l("Account"), _columns("full_name", "username")),
    "area": Kind(_l("Area"), _columns("code", "name")),
    "organization": Kind(_l("Organization"), _columns("name"), _to("registry.organization", "org_id")),
    "social_worker": Kind(_l("Social worker"), _columns("name")),
    "need": Kind(_l("Community need"), _columns("receipt_code"), _to("procurement.need", "need_id")),
    "plan": Kind(_l("Project plan"), _columns("title"), _to("procurement.plan", "plan_id")),
    "tender": Kind(_l("Tender"), _columns("number", "title"), _to("procurement.tender", "tender_id")),
    "tender_criterion": Kind(_l("Scoring criterion"), _columns("name"), _TENDER),
    "tender_document": Kind(_l("Tender document"), _columns("title"), _TENDER),
    "clarification": Kind(_l("Clarification"), None, _TENDER),
    # A bid is named by nothing that says who bid: its events are hidden until the opening anyway.
    "bid": Kind(_l("Bid"), None, _TENDER),
    "bid_document": Kind(_l("Bid document")),
    "bid_deposit": Kind(_l("Bid deposit")),
    "tender_expert": Kind(_l("Panel seat"), None, _TENDER),
    "expert_score": Kind(_l("Expert score")),
    "objection": Kind(_l("Objection"), None, _TENDER),
    "objection_document": Kind(_l("Objection document")),
    "complaint": Kind(_l("Complaint"), None, _TENDER),
    "complaint_document": Kind(_l("Complaint document")),
    "contract": Kind(_l("Contract"), _columns("number", "title"), _to("contracts.contract", "contract_id")),
    "amendment": Kind(_l("Amendment"), _columns("number"), _CONTRACT),
    "milestone": Kind(_l("Milestone"), _columns("title"), _CONTRACT),
    "milestone_period": Kind(_l("Entries behind a paid milestone")),
    "deliverable": Kind(_l("Deliverable"), _columns("title")),
    "payment": Kind(_l("Payment"), None, _CONTRACT),
    # A person is named by number only: the trail is no place to spread names.
    "beneficiary": Kind(_l("Person served"), None, _to("delivery.beneficiary", "beneficiary_id")),
    "service_group": Kind(_l("Service group"), _columns("name"), _CONTRACT),
    "service_case": Kind(_l("Case"), None, _CONTRACT),
    "activity": Kind(_l("Service entry"), None, _to("delivery.activity", "activity_id")),
    "activity_revision": Kind(_l("Service entry revision"), None, _to("delivery.activity", "activity_id", "activity_id")),
    "activity_evidence": Kind(_l("Service evidence"), None, _to("delivery.activity", "activity_id", "activity_id")),
    "import": Kind(_l("Ledger import"), None, _to("delivery.import_batch", "batch_id")),
    "red_flag": Kind(_l("Red flag"), None, _to("delivery.contract_flags", "contract_id", "contract_id")),
    "indicator_template": Kind(_l("Indicator template"), _columns("name"), _to("evaluations.template", "template_id")),
    "template_version": Kind(_l("Template version"), _columns("number"), _to("evaluations.version", "version_id")),
    "evaluation_round": Kind(_l("Evaluation round"), _columns("title"), _to("evaluations.round", "round_id")),
    "evaluation_party": Kind(_l("Evaluation party"), _columns("name"), _ROUND),
    "round_evaluator": Kind(_l("Evaluator seat"), None, _ROUND),
    "satisfaction_survey": Kind(_l("Satisfaction survey"), None, _ROUND),
    "evaluation_evidence": Kind(_l("Evaluation evidence"), _columns("title"), _ROUND),
    "finding": Kind(_l("Finding"), None, _ROUND),
    "rectification_item": Kind(_l("Rectification item")),
    "rectification_response": Kind(_l("Rectification answer")),
    "report": Kind(_l("Report"), _columns("title"), _to("reports.verify", "code", "code")),
    "audit_package": Kind(_l("Audit package"), None, _CONTRACT),
    "job": Kind(_l("Background job"), None, _to("jobs.status", "job_id")),
    "file": Kind(_l("File"), _columns("original_name")),
    "api_token": Kind(_l("API token"), _columns("name")),
    "calendar_day": Kind(_l("Local calendar day"), _columns("day")),
    "expert_affiliation": Kind(_l("Expert's tie to an organization")),
    "procurement_flag": Kind(_l("Procurement red flag"), None, _TENDER),
    "monitoring_case": Kind(_l("Monitoring case"), _columns("subject"), _to("monitoring.case", "case_id")),
    "monitoring_document": Kind(_l("Monitoring document"), _columns("title")),
}


def changes_html(changes) -> Markup:
    """An event's changes as the trail's list shows them (`field: before → after`, "—" for none),
    made in one pass rather than by the template's loops: a page of fifty service entries' events
    lists a thousand fields."""
    if not changes:
        return Markup("")
    parts = ['<ul class="changes">']
    for key, value in changes.items():
        kind = type(value)
        # The stored changes are JSON: a pair is a list, its sides strings, numbers or none (what a
        # page of fifty events holds a thousand times, told apart by type, not by the abstract
        # classes below).
        if kind is list and len(value) == 2:
            shown = f"{_side(value[0])} → {_side(value[1])}"
        elif kind is not list and isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            before, after = value
            shown = f"{'—' if before is None else escape(before)} → {'—' if after is None else escape(after)}"
        elif isinstance(value, Mapping) and len(value) == 2:
            shown = f"{escape(value.get(0, ''))} → {escape(value.get(1, ''))}"
        else:
            shown = escape(value)
        parts.append(f"\n      <li><code>{_key(key)}</code>: {shown}</li>")
    parts.append("</ul>")
    return Markup("".join(parts))


@functools.lru_cache(maxsize=1024)
def _key(key) -> str:
    """A field's name escaped, once for the names every page repeats."""
    return str(escape(key))


def _side(value) -> str:
    """One side of a change as `escape` writes it: none as a dash, numbers as Python writes them
    (nothing in them to escape)."""
    if value is None:
        return "—"
    kind = type(value)
    if kind is int or kind is float or kind is bool:
        return str(value)
    return escape(value)


def action_label(code: str) -> str:
    """The action as a person reads it; a code nobody described yet shows as itself."""
    label = ACTIONS.get(code)
    return _in_language(label) if label is not None else code


def kind_label(object_type: str) -> str:
    kind = KINDS.get(object_type)
    return _in_language(kind.label) if kind is not None else object_type


def _in_language(label) -> str:
    """A label in the page's language, looked up once per request for the labels a page of fifty
    events repeats."""
    if not has_request_context():
        return str(label)
    said = g.setdefault("audit_labels", {})
    text = said.get(id(label))  # the module's own labels, which live as long as it
    if text is None:
        text = said[id(label)] = str(label)
    return text


@functools.cache
def _classes() -> dict[str, type]:
    return {cls.audit_type: cls for cls in (m.class_ for m in db.Model.registry.mappers)
            if getattr(cls, "audit_type", None)}


@dataclass
class Described:
    action: str
    kind: str
    title: str
    href: str | None
    actor: str


def describe(events: Iterable[Any]) -> dict[int, Described]:
    """Each event's words, by sequence number: the actors and the objects of every type on the page
    in one statement."""
    events = list(events)
    classes = _classes()
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.object_type in KINDS and event.object_type in classes and event.object_id.isdigit():
            wanted.setdefault(event.object_type, set()).add(int(event.object_id))
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    # Of each type only the columns its title and link read: a page of service entries' events would
    # otherwise build fifty whole entries to say "service entry #n". The actors' names are read with
    # the accounts the events are about (a page of logins names the same people twice).
    parts: list[tuple[str, tuple[str, ...]]] = []
    params: dict[str, list[int]] = {}
    for object_type in sorted(wanted):
        kind = KINDS[object_type]
        columns = sorted({n for part in (kind.title, kind.link) if part is not None
                          for n in getattr(part, "columns", ())} - {"id"})
        read = wanted[object_type]
        if kind.title is None and kind.link is None and object_type != "user":
            continue  # a type its events name by number alone, with no page: nothing to read
        if object_type == "user" and actor_ids:
            columns, read = sorted(set(columns) | {"full_name"}), read | actor_ids
        params[f"ids_{len(parts)}"] = sorted(read)
        parts.append((object_type, tuple(columns)))
    if actor_ids and "user" in classes and "user" not in wanted:
        params[f"ids_{len(parts)}"] = sorted(actor_ids)
        parts.append(("user", ("full_name",)))
    found: dict[tuple[str, int], Any] = {}
    names: dict[int, str] = {}
    if parts:
        stmt, names_read = _reading(tuple(parts))
        readers = {object_type: _reader(classes[object_type], columns, names_read) for object_type, columns in parts}
        for object_type, ident, *values in db.session.execute(stmt, params):
            obj = readers[object_type](ident, values)
            if ident in wanted.get(object_type, ()):
                found[(object_type, ident)] = obj
            if object_type == "user" and ident in actor_ids:
                names[ident] = obj.full_name
    # A page of fifty events names a few actions and kinds and links to a few kinds of page: each
    # word is translated once and each kind of address routed once for the page.
    actions = {code: action_label(code) for code in {e.action for e in events}}
    kinds = {code: kind_label(code) for code in {e.object_type for e in events}}
    addresses: dict[tuple[str, str], Callable[[Any], str]] = {}
    out = {}
    for event in events:
        kind = KINDS.get(event.object_type)
        obj = found.get((event.object_type, int(event.object_id))) if event.object_id.isdigit() else None
        title, href = "", None
        if obj is not None and kind is not None:
            title = kind.title(obj) if kind.title else ""
            target = kind.link(obj) if kind.link else None
            if target is not None:
                href = _address(addresses, *target)
        full = names.get(event.actor_id, "") if event.actor_id is not None else ""
        actor = f"{full} ({event.actor_name})" if full and full != event.actor_name else event.actor_name
        out[event.seq] = Described(actions[event.action], kinds[event.object_type], title, href, actor)
    return out


@functools.lru_cache(maxsize=256)
def _reading(parts: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[sa.Select | sa.CompoundSelect, tuple[str, ...]]:
    """The records of each (object type, its columns) of `parts` whose ids are `ids_<n>`, as rows of
    (type, id, then the columns every part reads, by name: a part's own as text, the others none),
    and those columns' names. Built once for each set of types a page of events names."""
    classes = _classes()
    names = tuple(sorted({n for _type, columns in parts for n in columns}))
    selects = []
    for n, (object_type, columns) in enumerate(parts):
        cls = classes[object_type]
        selects.append(sa.select(sa.literal(object_type, sa.String).label("object_type"), cls.id.label("id"), *(
            sa.cast(getattr(cls, name) if name in columns else sa.null(), sa.String).label(name) for name in names))
            .where(cls.id.in_(sa.bindparam(f"ids_{n}", expanding=True))))
    return (selects[0] if len(selects) == 1 else sa.union_all(*selects)), names


@functools.lru_cache(maxsize=256)
def _reader(cls, columns: tuple[str, ...], names: tuple[str, ...]) -> Callable[[int, Sequence], SimpleNamespace]:
    """A row of `_reading` (the record's id, then the text of the columns `names`) as this type's
    record: its `columns`, each of its own type again (a whole number, a day, text)."""
    places = [(name, names.index(name), getattr(cls, name).type.python_type) for name in columns]

    def typed(text, kind):
        if text is None or kind is str:
            return text
        if kind is int:
            return int(text)
        if kind is date:
            return date.fromisoformat(text)
        return text

    return lambda ident, values: SimpleNamespace(
        id=ident, **{name: typed(values[place], kind) for name, place, kind in places})


def _address(addresses: dict, endpoint: str, values: dict) -> str:
    """The object's page: routed once per endpoint for a page of events (`url_of`), a value that is
    not a whole number routed alone."""
    (arg, value), = values.items()
    if not isinstance(value, int):
        return url_for(endpoint, **values)
    build = addresses.get((endpoint, arg))
    if build is None:
        build = addresses[(endpoint, arg)] = url_of(endpoint, arg)
    return build(value)


# The columns of every export of events (the trail's own, a contract's audit package): the hashes let
# the chain be checked elsewhere, the description lets a person read it.
CSV_COLUMNS = ("seq", "occurred_at_utc", "occurred_at_local", "actor", "action", "description", "object_type",
               "object_id", "changes", "client_ip", "prev_hash", "hash")


def event_rows(stmt) -> Iterable[tuple]:
    """The rows of `CSV_COLUMNS` for the events `stmt` selects, read as they are written."""
    words = {code: action_label(code) for code in ACTIONS}
    for event in db.session.execute(stmt).scalars():
        yield (event.seq, event.occurred_at.isoformat(), local_datetime(event.occurred_at, "%Y-%m-%d %H:%M:%S"),
               event.actor_name, event.action, words.get(event.action, event.action), event.object_type,
               event.object_id, json.dumps(event.changes, ensure_ascii=False, sort_keys=True), event.client_ip,
               event.prev_hash, event.hash)
