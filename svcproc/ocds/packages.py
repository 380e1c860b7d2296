"""Release and record packages, compiled records (ocdsmerge) and the streamed bulk file of a fiscal year.

What is served is assembled from each process's releases as kept in the database (store.py), as text:
the functions building dicts from the rows (`releases_of`, `release_package`, `record_package`) are
what the kept text is built from and what it is checked against."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

import ocdsmerge
import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.orm import joinedload, selectinload

from ..contracts.models import Contract, ContractStatus, Milestone
from ..core import clock
from ..core.web import text_limit
from ..extensions import db
from ..procurement.models import PUBLIC_STATUSES, Bid, ProjectPlan, Tender, TenderDocument
from . import store
from .releases import Labels, Process, Publisher, newest, stamp

VERSION = "1.1"
# The extensions the releases use (https://extensions.open-contracting.org/), each named by its
# extension.json; the tests read the same extensions from local copies. The bid opening extension is
# not among them: it depends on the location extension, which the bureau does not use; the opening's
# date is the start of the award period instead.
EXTENSIONS = {
    name: f"https://raw.githubusercontent.com/open-contracting-extensions/{name}/master/extension.json"
    for name in ("ocds_bid_extension", "ocds_lots_extension", "ocds_awardCriteriaBreakdown_extension",
                 "ocds_milestone_documents_extension", "ocds_metrics_extension",
                 "ocds_budget_breakdown_extension", "ocds_process_title_extension",
                 "ocds_organizationClassification_extension", "ocds_contract_completion_extension",
                 "ocds_legalBasis_extension", "ocds_partyDetails_scale_extension")
}
# ocdsmerge's rules for the fields these releases use, from the release schema patched by the
# extensions above (a test compares them with the rules ocdsmerge reads from the schema itself), so
# compiling a record never fetches the schema over the network.
MERGE_RULES = {
    ("id",): "omitWhenMerged",
    ("date",): "omitWhenMerged",
    ("tag",): "omitWhenMerged",
    ("tender", "lots", "awardCriteria", "criteria"): "wholeListMerge",
    ("parties", "details", "classifications"): "wholeListMerge",
}
_merger = ocdsmerge.Merger(merge_rules=MERGE_RULES)

# Tenders per query in a bulk export: memory and statements per batch stay the same whatever the year holds.
BATCH = 50
PAGE = 20


def publisher() -> Publisher:
    config = current_app.config

    def document_url(tender, document):
        return url_for("public.tender_document", tender_id=tender.id, document_id=document.id, _external=True)

    return Publisher(prefix=config["OCDS_PREFIX"], name=config["BUREAU_NAME"], name_en=config["BUREAU_NAME_EN"],
                     credit_code=config.get("BUREAU_CREDIT_CODE", ""), document_url=document_url)


def _public() -> sa.Select:
    return sa.select(Tender.id).where(Tender.status.in_(PUBLIC_STATUSES), Tender.publish_at.is_not(None))


def _load(ids: list[int]) -> list[tuple[Tender, Contract | None, dict]]:
    """The tenders and their contracts with everything their releases read, in a fixed number of queries."""
    if not ids:
        return []
    tenders = db.session.execute(
        sa.select(Tender).where(Tender.id.in_(ids)).order_by(Tender.id).options(
            joinedload(Tender.plan),
            selectinload(Tender.criteria),
            selectinload(Tender.documents).joinedload(TenderDocument.file),
            selectinload(Tender.bids).joinedload(Bid.organization),
            joinedload(Tender.proposed_bid).joinedload(Bid.organization),
            joinedload(Tender.awarded_bid).joinedload(Bid.organization),
        )).unique().scalars().all()
    contracts = {c.tender_id: c for c in db.session.execute(
        sa.select(Contract).where(Contract.tender_id.in_(ids)).options(
            joinedload(Contract.organization),
            selectinload(Contract.milestones).selectinload(Milestone.deliverables),
            selectinload(Contract.amendments),
            selectinload(Contract.payments),
        )).unique().scalars()}
    months = monthly_progress([c.id for c in contracts.values()])
    completed = completion_moments([c.id for c in contracts.values() if c.status == ContractStatus.CLOSED])
    facts = {c.tender_id: {"months": months.get(c.id, {}), "completed_at": completed.get(c.id)}
             for c in contracts.values()}
    return [(t, contracts.get(t.id), facts.get(t.id, {})) for t in tenders]


def completion_moments(contract_ids: list[int]) -> dict[int, datetime]:
    """When each of these closed contracts was accepted as completed: the contract keeps only its
    latest status change (the closing), the audit trail keeps each. One query for the batch, only
    when it holds closed contracts."""
    if not contract_ids:
        return {}
    from ..audit.models import AuditEvent

    rows = db.session.execute(
        sa.select(AuditEvent.object_id, sa.func.min(AuditEvent.occurred_at))
        .where(AuditEvent.object_type == Contract.audit_type,
               AuditEvent.object_id.in_([str(i) for i in sorted(contract_ids)]),
               AuditEvent.action == "contract.completed")
        .group_by(AuditEvent.object_id))
    return {int(object_id): moment for object_id, moment in rows}


def monthly_progress(contract_ids: list[int]) -> dict[int, dict[str, dict]]:
    """contract id -> {"2025-05": {"activities", "person_times", "hours"}} for the months that have
    ended: one query for the batch, grouped by contract and month (a contract's index serves it)."""
    if not contract_ids:
        return {}
    from ..delivery.models import ServiceActivity as A

    today = clock.to_local(clock.now()).date()
    month_start = today.replace(day=1)
    year, month = sa.extract("year", A.activity_date), sa.extract("month", A.activity_date)
    found: dict[int, dict[str, dict]] = {}
    rows = db.session.execute(
        sa.select(A.contract_id, year, month, sa.func.count(), sa.func.sum(A.hours),
                  sa.func.sum(A.head_count + A.participant_count))
        .where(A.contract_id.in_(sorted(contract_ids)), A.activity_date < month_start)
        .group_by(A.contract_id, year, month))
    for contract_id, y, m, entries, hours, attendance in rows:
        found.setdefault(contract_id, {})[f"{int(y):04d}-{int(m):02d}"] = {
            "activities": entries, "person_times": int(attendance or 0), "hours": Decimal(hours or 0)}
    return found


def find_by_ocid(ocid: str) -> tuple[Tender, Contract | None, dict] | None:
    prefix = current_app.config["OCDS_PREFIX"]
    if not ocid.startswith(prefix):
        return None
    tender_id = db.session.execute(_public().where(Tender.number == ocid[len(prefix):])).scalar()
    loaded = _load([tender_id]) if tender_id is not None else []
    return loaded[0] if loaded else None


def releases_of(tender: Tender, contract: Contract | None, facts: dict, labels: Labels | None = None,
                pub: Publisher | None = None) -> list[dict]:
    return Process(tender, contract, pub or publisher(), labels or Labels.render(), facts).releases()


def compile_record(ocid: str, releases: list[dict]) -> dict:
    return {"ocid": ocid, "releases": releases, "compiledRelease": _merger.create_compiled_release(releases)}


def package_head(uri: str, published: str) -> dict:
    pub = publisher()
    head = {"uri": uri, "version": VERSION, "publishedDate": published,
            "publisher": {"name": pub.name}, "extensions": list(EXTENSIONS.values())}
    if pub.credit_code:
        head["publisher"].update(scheme="CN-USCC", uid=pub.credit_code)
    return head


def latest(releases: Iterable[dict]) -> str:
    return newest((r["date"] for r in releases), default=stamp(clock.now()))


def release_package(uri: str, releases: list[dict], **extra) -> dict:
    return {**package_head(uri, latest(releases)), **extra, "releases": releases}


def record_package(uri: str, records: list[dict], packages: list[str]) -> dict:
    published = newest((latest(r["releases"]) for r in records), default=stamp(clock.now()))
    return {**package_head(uri, published), "packages": packages, "records": records}


def page_of_releases(after: int, size: int | None = None) -> tuple[list[dict], int | None]:
    """The releases of the next `size` (PAGE) published tenders after tender id `after` (keyset
    paging), and the id to continue after, or None at the end."""
    size = size or PAGE
    ids = db.session.execute(_public().where(Tender.id > after).order_by(Tender.id).limit(text_limit(size + 1))).scalars().all()
    more = len(ids) > size
    ids = ids[:size]
    labels, pub = Labels.render(), publisher()
    releases = [release for tender, contract, facts in _load(ids)
                for release in releases_of(tender, contract, facts, labels, pub)]
    return releases, (ids[-1] if more else None)


def _head(uri: str, published: str) -> bytes:
    """The package's head as JSON without its closing brace, for the kept releases to follow."""
    return _dump(package_head(uri, published))[:-1].encode()


def _published(found: list[store.Kept]) -> str:
    return newest((k.latest for k in found), default=stamp(clock.now()))


def _served(text: str, root: bytes) -> bytes:
    """Kept releases (one a line, MARK for the site's root) as a JSON array's items, in UTF-8 (the
    response's encoding: bytes are replaced faster than text, and are encoded once)."""
    return text.encode().replace(store.LINE.encode(), b",").replace(store.MARK.encode(), root)


def page_json(uri: str, after: int, size: int | None = None) -> tuple[bytes, int | None]:
    """The release package of `page_of_releases` as its JSON (the same bytes), from the kept
    releases: one statement when they are current; and the id to continue after, or None."""
    size = size or PAGE
    rows = db.session.execute(store.processes().where(Tender.id > after).order_by(Tender.id)
                              .limit(text_limit(size + 1))).all()
    more = len(rows) > size
    found, _built = store.serve(rows[:size])
    body = _served(",".join(k.releases for k in found if k.releases), store.url_root().encode())
    return b"".join((_head(uri, _published(found)), b',"releases":[', body, b"]}")), (
        found[-1].tender_id if more else None)


def kept_by_ocid(ocid: str, compiled: bool = False) -> store.Kept | None:
    """The process's kept releases (with its compiled record), None when the ocid names none published."""
    prefix = current_app.config["OCDS_PREFIX"]
    if not ocid.startswith(prefix):
        return None
    found = store.read(store.processes(compiled=compiled).where(Tender.number == ocid[len(prefix):]),
                       compile=compiled)
    if not found or not found[0].releases:
        return None
    if compiled and not found[0].compiled:
        store.compile_kept(found[0])
    return found[0]


def release_package_json(uri: str, kept: store.Kept) -> bytes:
    """`release_package` of the process's releases as its JSON, from the kept releases."""
    return b"".join((_head(uri, _published([kept])), b',"releases":[',
                     _served(kept.releases, store.url_root().encode()), b"]}"))


def record_package_json(uri: str, kept: store.Kept, packages: list[str]) -> bytes:
    """`record_package` of `compile_record` as its JSON, from the kept releases and compiled release."""
    root = store.url_root().encode()
    return b"".join((_head(uri, _published([kept])), b',"packages":', _dump(packages).encode(),
                     b',"records":[{"ocid":', _dump(kept.ocid).encode(), b',"releases":[',
                     _served(kept.releases, root), b'],"compiledRelease":',
                     kept.compiled.encode().replace(store.MARK.encode(), root), b"}]}"))


def fiscal_year_processes(year: int, batch: int = BATCH) -> Iterator[tuple[Tender, Contract | None, dict]]:
    """Every published tender of the fiscal year with its contract, loaded a batch at a time."""
    after = 0
    while True:
        ids = db.session.execute(
            _public().join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
            .where(ProjectPlan.fiscal_year == year, Tender.id > after).order_by(Tender.id).limit(batch)
        ).scalars().all()
        if not ids:
            return
        yield from _load(ids)
        after = ids[-1]
        if len(ids) < batch:
            return


def _dump(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def fiscal_year_kept(year: int, batch: int = BATCH) -> Iterator[store.Kept]:
    """Every published process of the fiscal year as kept, a batch at a time (one statement per
    batch when current; a stale one is built for the reader, not saved: the file is written after
    its request's transaction has ended)."""
    after = 0
    while True:
        found = store.read(store.processes().where(ProjectPlan.fiscal_year == year, Tender.id > after)
                           .order_by(Tender.id).limit(batch), save=False)
        if not found:
            return
        yield from found
        after = found[-1].tender_id
        if len(found) < batch:
            return


def stream_bulk(year: int, uri: str, lines: bool, batch: int = BATCH) -> Iterator[str]:
    """The fiscal year's releases as one release package (JSON) or one release per line (JSON Lines),
    written as they are read: only one batch of processes is held at a time."""
    root = store.url_root()
    if lines:
        for kept in fiscal_year_kept(year, batch):
            if kept.releases:
                yield kept.releases.replace(store.MARK, root) + "\n"
        return
    head = _dump(package_head(uri, stamp(clock.now())))
    yield head[:-1] + ',"releases":['
    first = True
    for kept in fiscal_year_kept(year, batch):
        if kept.releases:
            yield ("" if first else ",") + kept.releases.replace(store.LINE, ",").replace(store.MARK, root)
            first = False
    yield "]}"


def fiscal_years() -> list[int]:
    return db.session.execute(
        sa.select(ProjectPlan.fiscal_year).join(Tender, Tender.plan_id == ProjectPlan.id)
        .where(Tender.status.in_(PUBLIC_STATUSES), Tender.publish_at.is_not(None))
        .distinct().order_by(ProjectPlan.fiscal_year.desc())).scalars().all()
