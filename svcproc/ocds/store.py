"""Each contracting process's releases, built once and kept in the database (OcdsProcess).

Building the releases of a process reads a dozen tables and renders every release; a page of 20
processes is some 450 releases. So each process's releases are kept as compact JSON text (one
release a line) with the record compiled from them (compiled when a record package or the refresh
first asks for it: a page never shows it, and compiling takes as long as building), and a page, a
package per ocid or the bulk file is assembled from the kept text without parsing it. They are kept in the database, never in one
host's memory, so every web host serves the same text.

When they are built again: the statement that reads the kept text reads, for each process, a
fingerprint of everything the releases are built from, and the text is served only while the
fingerprint kept with it is the same. The fingerprint is made of counters the rows already keep:

- the tender's and its plan's versions (every change to either row moves them on: publication,
  opening, scoring, publicity, award, cancellation or failure and their reasons);
- the number of tender documents and the newest one's id (a document added after publication);
- the number of bids and the sum of the versions of the bids and their organizations (the opening
  fills prices and validity, scoring the ranks; a bidder's name, registration or size);
- the contract's version and its organization's (signing, amounts and dates changed by an
  amendment, starting, completion, closing, termination: each updates the contract row), the
  number of amendments, the number of milestones, of those accepted (or paid) and their latest
  status change and review (deliverables are added only before a milestone is submitted and
  published only once it is accepted), the number of payments and the newest one's id;
- the version of the contract's service log (delivery's ContractProgress.log_version, moved on by
  every entry recorded, corrected, deleted or imported, back-dated or not) and the current month,
  kept apart (`progress`): a month's figures are published once it has ended, but most entries are
  of the current month and publish nothing yet. So when only these moved, the figures of the ended
  months are read (one grouped query for all such processes, the one the build runs) and compared
  with the digest of those the text was built with (`months`): the same, and the text is noted
  current; different (a back-dated entry, a month that ended with services in it), and it is built;
- what every process shares: the OCDS prefix and the bureau's name and code, the texts of the
  labels in both languages, and the code that builds the releases (its source's digest), so a
  release of the software or a change of settings rebuilds everything once.

A read finds the processes whose fingerprint differs (or that were never built), builds those in
the fixed number of queries a batch takes and saves them (one upsert) with the fingerprint read
before building them: a change committed meanwhile makes the next read build again, never serve
older text. Nothing has to remember to invalidate, so workflow functions written later cannot
forget to. `svcproc ocds refresh` (cron, after midnight on the first of the month and after a
release of the software) builds whatever is stale ahead of the readers. The bulk file reads the same
text; what is stale there is built for the file without being saved (the response is streamed after
its transaction has ended).

Document addresses depend on the address the reader reached the site at: the kept text holds
MARK in place of its root (a control character JSON text never holds unescaped), replaced when
served.
"""
from __future__ import annotations

import functools
import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for
from sqlalchemy.orm import aliased

from ..contracts.models import Amendment, Contract, Milestone, MilestoneStatus, Payment
from ..core import clock
from ..delivery.models import ContractProgress
from ..extensions import db
from ..procurement.models import PUBLIC_STATUSES, Bid, ProjectPlan, Tender, TenderDocument
from ..registry.models import Organization
from .models import OcdsProcess
from .releases import Labels, Process, Publisher, newest

# Raised by hand when the releases change in a way the source digest below would not see.
FORMAT = 1
MARK = "\x1f"   # the root of the site's address, in kept document URLs
LINE = "\n"     # between two kept releases
_SOURCE = hashlib.sha256(b"".join(
    (Path(__file__).parent / name).read_bytes() for name in ("releases.py", "packages.py", "store.py"))).hexdigest()


@dataclass
class Kept:
    """One process's releases as served: `releases` one release a line, MARK for the site's root."""

    tender_id: int
    ocid: str
    latest: str
    releases: str
    compiled: str   # "" until a record is asked for (compile_kept)
    fingerprint: str = ""
    months: str = ""


def _dump(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def url_root() -> str:
    """What MARK stands for: the scheme, host and script root of the addresses this request makes."""
    values = {"tender_id": 1, "document_id": 1}
    external = url_for("public.tender_document", _external=True, **values)
    script_root = request.script_root if has_request_context() else ""
    tail = url_for("public.tender_document", **values)[len(script_root):]
    return external[:len(external) - len(tail)]


def context() -> tuple[Labels, str]:
    """The labels rendered once per process of the server, and the digest of what every process's
    releases share (settings, label texts, the building code)."""
    config = current_app.config
    key = (config["OCDS_PREFIX"], config["BUREAU_NAME"], config["BUREAU_NAME_EN"],
           config.get("BUREAU_CREDIT_CODE", ""))
    cache = current_app.extensions.setdefault("svcproc_ocds_context", {})
    if key not in cache:
        labels = Labels.render()
        text = json.dumps([FORMAT, _SOURCE, key, labels.zh, labels.en], ensure_ascii=False, sort_keys=True,
                          default=str)
        cache.clear()
        cache[key] = (labels, hashlib.sha256(text.encode()).hexdigest()[:16])
    return cache[key]


def _publisher(mark: str) -> Publisher:
    """The publisher whose document URLs start with `mark` where the site's root would be."""
    from .packages import publisher

    pub = publisher()
    root = url_root()

    def document_url(tender, document):
        return mark + url_for("public.tender_document", tender_id=tender.id, document_id=document.id,
                              _external=True)[len(root):]

    pub.document_url = document_url
    return pub


# --- the fingerprint ------------------------------------------------------------------------------

@functools.cache
def _width() -> int:
    return len(_components())


@functools.cache
def _aliases():
    """The supplier's and the bidders' organizations (made once the mappers are configured)."""
    return aliased(Organization), aliased(Organization)


def _figures(*values) -> sa.ColumnElement:
    """Several figures of one table as one text ("3:17"), so one subquery reads them all."""
    text = None
    for value in values:
        part = sa.func.coalesce(sa.cast(value, sa.String), "")
        text = part if text is None else text + ":" + part
    return text


def _components() -> list:
    T, C = Tender, Contract
    supplier, bidder = _aliases()
    count, most = sa.func.count, sa.func.max

    def of(where, *values):
        return sa.select(_figures(*values)).where(where).scalar_subquery()

    accepted = sa.case((Milestone.status.in_([MilestoneStatus.ACCEPTED, MilestoneStatus.PAID]), 1))
    bids = (sa.select(_figures(count(Bid.id), sa.func.sum(Bid.version + bidder.version)))
            .join(bidder, bidder.id == Bid.organization_id).where(Bid.tender_id == T.id).scalar_subquery())
    return [
        T.version, ProjectPlan.version,
        of(TenderDocument.tender_id == T.id, count(TenderDocument.id), most(TenderDocument.id)),
        bids,
        C.id, C.version, supplier.version,
        of(Amendment.contract_id == C.id, count(Amendment.id)),
        of(Milestone.contract_id == C.id, count(Milestone.id), count(accepted), most(Milestone.status_changed_at),
           most(Milestone.reviewed_at)),
        of(Payment.contract_id == C.id, count(Payment.id), most(Payment.id)),
    ]


_CONTRACT_AT = 4  # the position of the contract's id among the components


def processes(text: bool = True, compiled: bool = False) -> sa.Select:
    """Published tenders with their fingerprints and what is kept of them (with the text, and the
    compiled record): for `read`, the caller adds which tenders and in what order."""
    return _processes(text, compiled)


@functools.cache
def _processes(text: bool, compiled: bool) -> sa.Select:
    # Made once: a statement is immutable, and composing this one takes longer than running it.
    S, supplier = OcdsProcess, _aliases()[0]
    kept = [S.fingerprint, S.progress, S.months] + ([S.latest, S.releases] if text else []) + (
        [S.compiled] if compiled else [])
    return (sa.select(Tender.id, Tender.number, *_components(), ContractProgress.log_version, *kept)
            .select_from(Tender).join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
            .outerjoin(Contract, Contract.tender_id == Tender.id)
            .outerjoin(supplier, supplier.id == Contract.organization_id)
            .outerjoin(ContractProgress, ContractProgress.contract_id == Contract.id)
            .outerjoin(S, S.tender_id == Tender.id)
            .where(Tender.status.in_(PUBLIC_STATUSES), Tender.publish_at.is_not(None)))


def _fingerprint(values: tuple, shared: str) -> str:
    return ".".join([shared, *("" if v is None else str(v) for v in values)])


def _progress(log_version, month: str) -> str:
    """The service log's version and the current month: what the monthly figures may have moved with."""
    return f"{log_version or 0}@{month}"


def months_digest(months: dict | None) -> str:
    """A digest of a contract's published monthly figures (from `packages.monthly_progress`)."""
    text = json.dumps(sorted((months or {}).items()), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- reading and building -------------------------------------------------------------------------


def read(stmt: sa.Select, save: bool = True, compile: bool = False) -> list[Kept]:
    """The processes `stmt` (from `processes`) finds, in its order: the kept text where it is
    current, else built now (and saved unless `save` is false). One statement when all are current."""
    return _read(stmt, save, compile=compile)[0]


def _read(stmt: sa.Select, save: bool, rebuild: bool = False, compile: bool = False) -> tuple[list[Kept], int]:
    return serve(db.session.execute(stmt).all(), save, rebuild, compile)


def serve(rows: list, save: bool = True, rebuild: bool = False, compile: bool = False) -> tuple[list[Kept], int]:
    """The rows of a `processes` statement as kept releases, the stale ones built (and saved unless
    `save` is false); and how many were built.

    A process whose fingerprint differs is built again. One whose service log moved on (or whose
    month ended) since it was built is built again only if the figures of its ended months are not
    those it was built with: entries recorded in the current month, the bulk of them, publish
    nothing until it ends. Asking costs one statement for all of them (the figures of their ended
    months, as the build reads them) and one to note that the kept text is current."""
    from .packages import monthly_progress

    labels, shared = context()
    month = clock.to_local(clock.now()).strftime("%Y-%m")
    prefix = current_app.config["OCDS_PREFIX"]
    width = _width()
    found, stale, moved = [], {}, {}
    for row in rows:
        values = tuple(row[2:2 + width])
        fingerprint, progress = _fingerprint(values, shared), _progress(row[2 + width], month)
        kept = list(row[3 + width:]) + [None] * 6
        item = Kept(row[0], prefix + row[1], kept[3] or "", kept[4] or "", kept[5] or "", fingerprint, kept[2] or "")
        if rebuild or kept[0] != fingerprint:
            stale[item.tender_id] = (item, fingerprint, progress)
        elif kept[1] != progress and values[_CONTRACT_AT] is not None:
            moved[item.tender_id] = (item, fingerprint, progress, values[_CONTRACT_AT], kept[2])
        found.append(item)
    current = {}
    if moved:
        figures = monthly_progress([contract_id for *_rest, contract_id, _digest in moved.values()])
        for tender_id, (item, fingerprint, progress, contract_id, digest) in moved.items():
            if months_digest(figures.get(contract_id)) == digest:
                current[tender_id] = progress
            else:
                stale[tender_id] = (item, fingerprint, progress)
    if stale:
        built = build(sorted(stale), labels, compile)
        for tender_id, (item, _fingerprint_, _progress_) in stale.items():
            item.latest, item.releases, item.compiled, item.months = built[tender_id]
    else:
        built = {}
    if save and (stale or current):
        _keep({tender_id: (built[tender_id], fp, progress) for tender_id, (_item, fp, progress) in stale.items()},
              current)
    return found, len(stale)


def _keep(built: dict, current: dict[int, str]) -> None:
    """Save what was built and note what was found current. Two readers saving the same processes
    at once may wait on each other and, rarely, deadlock; what is saved is only kept for the next
    reader, so then this reader's saving is given up (in a savepoint) and its answer still served."""
    try:
        with db.session.begin_nested():
            if built:
                _save(built)
            if current:
                db.session.execute(sa.update(OcdsProcess.__table__)
                                   .where(OcdsProcess.tender_id == sa.bindparam("id"))
                                   .values(progress=sa.bindparam("key")),
                                   [{"id": i, "key": key} for i, key in sorted(current.items())])
    except sa.exc.OperationalError:
        current_app.logger.warning("OCDS releases built but not kept: another reader was keeping them",
                                   exc_info=True)


def build(tender_ids: list[int], labels: Labels | None = None, compile: bool = True
          ) -> dict[int, tuple[str, str, str, str]]:
    """tender id -> (latest date, releases one a line, compiled release, digest of the monthly
    figures) for these tenders, in the fixed number of queries `packages._load` takes. Compiling
    the record takes as long as building the releases: a page (which never shows it) leaves it ""
    for `compile_kept`."""
    from .packages import _load, _merger

    labels = labels or context()[0]
    mark = f"ocds-root-{secrets.token_hex(16)}"   # not found in anything a person wrote
    pub = _publisher(mark)
    built = {}
    for tender, contract, facts in _load(tender_ids):
        releases = Process(tender, contract, pub, labels, facts).releases()
        lines = LINE.join(_dump(r) for r in releases).replace(mark, MARK)
        compiled = _dump(_merger.create_compiled_release(releases)).replace(mark, MARK) if compile else ""
        built[tender.id] = (newest(r["date"] for r in releases), lines, compiled,
                            months_digest(facts.get("months")))
    return built


def _save(rows: dict[int, tuple[tuple[str, str, str, str], str, str]]) -> None:
    """Keep what was built (one statement); in tender order, so two readers never wait on each other
    the wrong way round."""
    table = OcdsProcess.__table__
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = clock.now()
    values = [{"tender_id": i, "fingerprint": fp, "progress": progress, "months": months, "latest": latest,
               "releases": lines, "compiled": compiled, "built_at": now}
              for i, ((latest, lines, compiled, months), fp, progress) in sorted(rows.items())]
    stmt = insert(table).values(values)
    db.session.execute(stmt.on_conflict_do_update(index_elements=[table.c.tender_id], set_={
        name: stmt.excluded[name] for name in ("fingerprint", "progress", "months", "latest", "releases",
                                               "compiled", "built_at")}))


def compile_kept(kept: Kept) -> str:
    """The record compiled from kept releases that were kept without it, kept too (one statement,
    which keeps nothing when the process was built again meanwhile)."""
    from .packages import _merger

    mark = f"ocds-root-{secrets.token_hex(16)}"
    # Raw control characters stand only for MARK and between releases: JSON escapes any other.
    releases = [json.loads(line, strict=False) for line in kept.releases.replace(MARK, mark).split(LINE)]
    kept.compiled = _dump(_merger.create_compiled_release(releases)).replace(mark, MARK)
    try:
        with db.session.begin_nested():
            db.session.execute(sa.update(OcdsProcess.__table__).where(
                OcdsProcess.tender_id == kept.tender_id, OcdsProcess.fingerprint == kept.fingerprint,
                OcdsProcess.months == kept.months, OcdsProcess.compiled == "").values(compiled=kept.compiled))
    except sa.exc.OperationalError:
        current_app.logger.warning("OCDS record compiled but not kept", exc_info=True)
    return kept.compiled


def refresh(batch: int = 50, everything: bool = False) -> tuple[int, int]:
    """Build every published process whose kept releases are stale (every one with `everything`),
    a batch at a time, committing each batch. Returns (processes, built)."""
    seen = built = after = 0
    while True:
        ids = db.session.execute(
            sa.select(Tender.id).where(Tender.status.in_(PUBLIC_STATUSES), Tender.publish_at.is_not(None),
                                       Tender.id > after).order_by(Tender.id).limit(batch)).scalars().all()
        if not ids:
            return seen, built
        _found, made = _read(processes(text=False).where(Tender.id.in_(ids)), save=True, rebuild=everything,
                             compile=True)
        db.session.commit()
        seen, built, after = seen + len(ids), built + made, ids[-1]
