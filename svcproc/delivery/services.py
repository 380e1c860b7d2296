"""The beneficiary register and service activities: recording, correcting (earlier versions kept),
assigning workers to contracts. Every change is audited; identity numbers never enter the trail.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import unicodedata
from datetime import date, datetime, time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..audit.services import created, diff, record, snapshot
from ..contracts.models import Contract
from ..core import clock, files
from ..core.errors import DomainError, ValidationError
from ..core.permissions import require
from ..core.workflow import allow
from ..extensions import db
from ..registry.models import Area, AreaLevel, SocialWorker
from . import flags, identity, privacy, progress
from . import permissions as perms
from .workflow import check_recording
from .models import (BENEFICIARY_CATEGORIES, ActivityEvidence, ActivityRevision, ActivityType, Beneficiary,
                     ConsentBy, ConsentMethod, Gender, ServiceActivity, ServiceCase, ServiceGroup, ViewKind,
                     activity_participant, activity_worker)

BENEFICIARY_FIELDS = ("name", "gender", "birth_year", "community_id", "categories", "id_number_masked",
                      "phone_masked", "consent_by", "guardian_name", "consent_method", "consent_on",
                      "sensitive_consent_on", "sensitive_consent_purpose")
ACTIVITY_FIELDS = ("type", "activity_date", "start_time", "end_time", "community_id", "place", "hours", "head_count",
                   "topic", "outcome", "notes", "group_id", "case_id", "session_number")
EVIDENCE_RULE = files.UploadRule(kinds=files.DOCUMENTS | files.IMAGES)
CHILD_AGE = 14


def today() -> date:
    return clock.to_local(clock.now()).date()


def identity_message(reason: str) -> str:
    return {
        "length": _("An identity number has 18 characters."),
        "charset": _("An identity number has 17 digits followed by a digit or X."),
        "birth_date": _("The birth date inside this identity number is not a real date."),
        "check": _("The check character (the 18th) of this identity number is wrong: please check the number."),
    }[reason]


# --- beneficiaries ----------------------------------------------------------------------------


def _check_beneficiary(values: dict, organization_id: int, exclude_id: int | None = None) -> dict:
    name = (values.get("name") or "").strip()
    if not name:
        raise ValidationError(_("Give the person's name."), "name")
    try:
        gender = Gender(values.get("gender"))
    except ValueError:
        raise ValidationError(_("Choose the gender."), "gender") from None
    number = identity.normalise(values.get("id_number") or "")
    birth_year = values.get("birth_year")
    born = None
    if number:
        try:
            number = identity.validate(number)
        except identity.IdentityNumberError as exc:
            raise ValidationError(identity_message(exc.reason), "id_number") from None
        born = identity.birth_date(number)
        if birth_year and int(birth_year) != born.year:
            raise ValidationError(_("The birth year does not match the identity number (%(y)d).", y=born.year),
                                  "birth_year")
        birth_year = born.year
        match = identity.match_key(number)
        stmt = sa.select(Beneficiary.id).where(Beneficiary.organization_id == organization_id,
                                               Beneficiary.id_match_key == match)
        if exclude_id is not None:
            stmt = stmt.where(Beneficiary.id != exclude_id)
        if db.session.execute(stmt).first():
            raise ValidationError(_("This person is already in your register."), "id_number")
    if not birth_year or not 1900 <= int(birth_year) <= today().year:
        raise ValidationError(_("Give a birth year such as 1948."), "birth_year")
    community = values.get("community")
    if community is None or community.level not in (AreaLevel.COMMUNITY, AreaLevel.GRID):
        raise ValidationError(_("Choose the person's community."), "community_id")
    categories = sorted({c for c in values.get("categories") or [] if c in BENEFICIARY_CATEGORIES})
    phone = (values.get("phone") or "").strip()
    if phone and not phone.replace("-", "").replace(" ", "").isdigit():
        raise ValidationError(_("A phone number has digits only."), "phone")
    try:
        consent_by = ConsentBy(values.get("consent_by"))
        consent_method = ConsentMethod(values.get("consent_method"))
    except ValueError:
        raise ValidationError(_("Record who consented and how."), "consent_by") from None
    consent_on = values.get("consent_on")
    if not isinstance(consent_on, date) or consent_on > today():
        raise ValidationError(_("Give the date of consent (not in the future)."), "consent_on")
    guardian = (values.get("guardian_name") or "").strip()
    # Age on the day of consent: exact when the number gives the birth date; with the birth year only,
    # the youngest the person may be (born on 31 December), since one who may be under 14 needs a
    # guardian (PIPL art. 31).
    if born is not None:
        age = consent_on.year - born.year - ((consent_on.month, consent_on.day) < (born.month, born.day))
    else:
        age = consent_on.year - int(birth_year) - ((consent_on.month, consent_on.day) < (12, 31))
    if age < CHILD_AGE and (consent_by != ConsentBy.GUARDIAN or not guardian):
        raise ValidationError(_("A child under 14 needs the consent of a guardian: record the guardian's name."),
                              "guardian_name")
    if consent_by == ConsentBy.GUARDIAN and not guardian:
        raise ValidationError(_("Give the guardian's name."), "guardian_name")
    return dict(name=name, gender=gender, birth_year=int(birth_year), community_id=community.id,
                categories=categories, number=number, phone=phone, consent_by=consent_by, guardian_name=guardian,
                consent_method=consent_method, consent_on=consent_on)


def _apply_sensitive(person: Beneficiary, number: str, phone: str) -> None:
    if number:
        person.id_number_sealed = identity.seal_number(number)
        person.id_number_masked = identity.mask(number)
        person.id_match_key = identity.match_key(number)
    if phone:
        person.phone_sealed = identity.seal_phone(phone)
        person.phone_masked = identity.mask_phone(phone)


def create_beneficiary(actor, organization_id: int, **values) -> Beneficiary:
    allow(actor, perms.can_edit_beneficiary(actor, organization_id))
    clean = _check_beneficiary(values, organization_id)
    number, phone = clean.pop("number"), clean.pop("phone")
    sensitive = privacy.check_sensitive_consent(values, None, number, phone, clean["categories"],
                                                clean["consent_on"], today())
    person = Beneficiary(organization_id=organization_id, created_at=clock.now(),
                         created_by_id=getattr(actor, "id", None), **clean)
    if sensitive:
        person.sensitive_consent_on, person.sensitive_consent_purpose = sensitive
    _apply_sensitive(person, number, phone)
    db.session.add(person)
    db.session.flush()
    record("beneficiary.created", actor=actor, obj=person, changes=created(person, BENEFICIARY_FIELDS))
    return person


def update_beneficiary(actor, person: Beneficiary, **values) -> Beneficiary:
    allow(actor, perms.can_edit_beneficiary(actor, person.organization_id))
    privacy.refuse_withdrawn_edit(person)
    clean = _check_beneficiary(values, person.organization_id, exclude_id=person.id)
    number, phone = clean.pop("number"), clean.pop("phone")
    sensitive = privacy.check_sensitive_consent(values, person, number, phone, clean["categories"],
                                                clean["consent_on"], today())
    before = snapshot(person, BENEFICIARY_FIELDS)
    match_key_before = person.id_match_key
    for key, value in clean.items():
        setattr(person, key, value)
    if sensitive:
        person.sensitive_consent_on, person.sensitive_consent_purpose = sensitive
    _apply_sensitive(person, number, phone)
    changes = diff(before, snapshot(person, BENEFICIARY_FIELDS))
    if changes:
        db.session.flush()
        record("beneficiary.updated", actor=actor, obj=person, changes=changes)
    if person.id_match_key != match_key_before:
        # Who the person is (their match key) decides the distinct people of every contract serving them,
        # and which contracts count them twice (the only findings a person's own fields enter).
        from .models import activity_participant

        flags.refresh_people({person.id}, {match_key_before} if match_key_before else set())
        progress.log_changed(db.session.execute(
            sa.select(ServiceActivity.contract_id).join(activity_participant,
                                                        activity_participant.c.activity_id == ServiceActivity.id)
            .where(activity_participant.c.beneficiary_id == person.id).distinct()).scalars())
    return person


def reveal_identity(actor, person: Beneficiary) -> tuple[str, str]:
    """The full identity number and phone, for a person with the permission; audited every time."""
    require(perms.can_reveal_identity(actor, person))
    number = identity.unseal_number(person.id_number_sealed) if person.id_number_sealed else ""
    phone = identity.unseal_phone(person.phone_sealed) if person.phone_sealed else ""
    record("beneficiary.identity_revealed", actor=actor, obj=person)
    privacy.log_view(actor, person, ViewKind.REVEALED)
    return number, phone


def same_person_elsewhere(person: Beneficiary) -> int:
    """How many other organizations' registers hold the same person (by keyed hash only)."""
    if not person.id_match_key:
        return 0
    return db.session.execute(sa.select(elsewhere_count()).where(Beneficiary.id == person.id)).scalar_one()


@functools.cache
def elsewhere_count() -> sa.ScalarSelect:
    """`same_person_elsewhere` as a column of a statement reading people (0 for a person without a
    match key: no one's key equals nothing). Made once: making the alias takes longer than the
    person page's statement runs."""
    other = aliased(Beneficiary)
    return (sa.select(sa.func.count(sa.distinct(other.organization_id)))
            .where(other.id_match_key == Beneficiary.id_match_key, other.organization_id != Beneficiary.organization_id)
            .correlate(Beneficiary).scalar_subquery())


# --- workers on contracts ---------------------------------------------------------------------


class WorkerNames:
    """A contract's workers as a ledger names them: by name, or, where two share a name, by the name
    with the worker's number in brackets (张伟(12), full-width brackets too)."""

    NUMBERED = re.compile(r"(.+?)\((\d+)\)")

    def __init__(self, workers):
        self.by_name: dict[str, list] = {}
        for w in workers:
            self.by_name.setdefault(w.name, []).append(w)
        self.by_id = {w.id: w for w in workers}

    def get(self, text: str):
        """The worker meant, or None (unknown, or a name two workers share)."""
        text = unicodedata.normalize("NFKC", text or "").strip()
        numbered = self.NUMBERED.fullmatch(text)
        if numbered:
            worker = self.by_id.get(int(numbered.group(2)))
            return worker if worker is not None and worker.name == numbered.group(1).strip() else None
        found = self.by_name.get(text, [])
        return found[0] if len(found) == 1 else None

    def problem(self, text: str) -> str:
        """Why `get` found no one, in words."""
        found = self.by_name.get(unicodedata.normalize("NFKC", text or "").strip(), [])
        if len(found) > 1:
            return _("%(n)s names %(k)d social workers on this contract: write which one with the worker's "
                     "number, e.g. %(e)s.", n=text, k=len(found), e=f"{found[0].name}({found[0].id})")
        return _("%(n)s is not a social worker assigned to this contract.", n=text)


def set_contract_workers(actor, contract: Contract, workers: list[SocialWorker]) -> None:
    allow(actor, perms.can_manage_delivery(actor, contract))
    if any(w.organization_id != contract.organization_id for w in workers):
        raise ValidationError(_("Only the organization's own social workers can be assigned."), "workers")
    before = sorted(w.id for w in contract.workers)
    contract.workers = list(workers)
    after = sorted(w.id for w in workers)
    if before != after:
        db.session.flush()
        record("contract.workers_set", actor=actor, obj=contract, changes={"workers": [before, after]})


# --- activities -------------------------------------------------------------------------------


def _hours(value) -> Decimal:
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Give the service hours as a number, e.g. 1.5."), "hours") from None
    if not hours.is_finite() or hours <= 0 or hours > 24 or hours != hours.quantize(Decimal("0.01")):
        raise ValidationError(_("Service hours are more than 0 and at most 24, with at most two decimals."), "hours")
    return hours


def _hours_text(hours: Decimal) -> str:
    """Hours as people write them: 1.5, 2, 0.33."""
    return f"{hours.normalize():f}"


def text_key(text: str) -> str:
    """A text field as entries are compared: full-width and half-width forms made one (NFKC), letter
    case folded and every space removed, so "活动室 A" and "活动室ａ" are the same place."""
    return "".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def fingerprint(contract_id: int, type_: ActivityType, day: date, start: time, end: time, community_id: int,
                place: str, worker_ids, participant_ids, head_count: int, group_id, session_number) -> str:
    """What makes two entries the same entry; a second one with this fingerprint is a duplicate."""
    parts = [str(contract_id), type_.value, day.isoformat(), f"{start.hour:02d}:{start.minute:02d}",
             f"{end.hour:02d}:{end.minute:02d}",
             str(community_id), text_key(place), ",".join(map(str, sorted(worker_ids))),
             ",".join(map(str, sorted(participant_ids))), str(head_count or 0), str(group_id or ""),
             str(session_number or "")]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def check_activity(contract: Contract, values: dict, errors: list | None = None) -> dict | None:
    """Validate one activity's values against the contract; returns the cleaned values.

    Used by the form and by the ledger import, so both refuse the same things the same way. The form
    stops at the first refusal (a ValidationError); the import passes `errors` to collect every
    refusal of a row at once as (field, message), and gets None back when there is one.
    """
    problems: list[tuple[str, str]] = []

    def refuse(message: str, field: str) -> None:
        if errors is None:
            raise ValidationError(message, field)
        problems.append((field, message))

    try:
        type_ = ActivityType(values.get("type"))
    except ValueError:
        type_ = None
        refuse(_("Choose the kind of service."), "type")
    day, start, end = values.get("activity_date"), values.get("start_time"), values.get("end_time")
    if not isinstance(day, date):
        refuse(_("Give the date of the activity."), "activity_date")
    elif day > today():
        refuse(_("An activity cannot be recorded for a future date."), "activity_date")
    elif not contract.start_date <= day <= contract.end_date:
        refuse(_("The date is outside the contract period (%(a)s – %(b)s).",
                 a=contract.start_date.isoformat(), b=contract.end_date.isoformat()), "activity_date")
    times_known = isinstance(start, time) and isinstance(end, time)
    if not times_known:
        refuse(_("Give the start and end times."), "start_time")
    elif end <= start:
        refuse(_("The activity ends before it starts."), "end_time")
    hours = values.get("hours")
    if hours in (None, "") and times_known and end > start:
        # The time from start to end, in hours to two decimals (20 minutes: 0.33).
        seconds = (datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds
        hours = (Decimal(seconds) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if hours not in (None, ""):
        try:
            hours = _hours(hours)
        except ValidationError as exc:
            refuse(exc.message, exc.field)
    community = values.get("community")
    if community is None or community.level not in (AreaLevel.COMMUNITY, AreaLevel.GRID):
        refuse(_("Choose the community where the service took place."), "community_id")
    workers = list(values.get("workers") or [])
    assigned = perms.assigned_among(contract, [w.id for w in workers])
    strangers = [w.name for w in workers if w.id not in assigned]
    if not workers:
        refuse(_("Name the social workers who delivered the service."), "workers")
    elif strangers:
        refuse(_("Not assigned to this contract: %(names)s.", names="、".join(strangers)), "workers")
    # Each worker gives at most the time on the clock: more service hours than that were not delivered.
    # (To two decimals as the hours are written: 40 minutes are 0.67 h.)
    if isinstance(hours, Decimal) and times_known and end > start and workers:
        clock_hours = (Decimal((datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds)
                       / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if hours > clock_hours * len(workers):
            refuse(_("%(h)s service hours are more than the time on the clock (%(c)s h) times the "
                     "number of social workers (%(n)d): at most %(max)s.",
                     h=hours, c=_hours_text(clock_hours), n=len(workers),
                     max=_hours_text(clock_hours * len(workers))), "hours")
    participants = list(values.get("participants") or [])
    organization_id = contract.organization_id
    if any(p.organization_id != organization_id for p in participants):
        refuse(_("Participants come from your organization's register."), "participants")
    head_count = int(values.get("head_count") or 0)
    if head_count < 0:
        refuse(_("The head-count cannot be negative."), "head_count")
    group, case, session_number = values.get("group"), values.get("case"), values.get("session_number")
    if type_ == ActivityType.CASE_WORK:
        if len(participants) != 1:
            refuse(_("Case work serves exactly one beneficiary."), "participants")
        if head_count:
            refuse(_("Case work has no head-count beyond the one beneficiary."), "head_count")
    elif type_ == ActivityType.GROUP_SESSION:
        if group is None:
            refuse(_("Choose the group this session belongs to."), "group_id")
        if not session_number or int(session_number) < 1:
            refuse(_("Give the session number (1, 2, 3 …)."), "session_number")
        if not participants:
            refuse(_("Record who attended the group session."), "participants")
    elif type_ == ActivityType.COMMUNITY_EVENT:
        if not participants and head_count <= 0:
            refuse(_("Record the participants or the head-count of the event."), "head_count")
    elif type_ == ActivityType.DELIBERATION:
        if not participants:
            refuse(_("Record who took part in the deliberation."), "participants")
        if not (values.get("topic") or "").strip():
            refuse(_("Give the topic of the deliberation."), "topic")
    elif type_ == ActivityType.VOLUNTEER_TRAINING:
        if not participants and head_count <= 0:
            refuse(_("Record the trainees or their number."), "head_count")
    if problems:
        errors.extend(problems)
        return None
    return dict(type=type_, activity_date=day, start_time=start, end_time=end, community_id=community.id,
                place=(values.get("place") or "").strip(), hours=hours, head_count=head_count,
                topic=(values.get("topic") or "").strip(), outcome=(values.get("outcome") or "").strip(),
                notes=(values.get("notes") or "").strip(), group_id=group.id if group is not None else None,
                case_id=case.id if case is not None else None,
                session_number=int(session_number) if session_number else None,
                workers=workers, participants=participants)


def _find_case(contract: Contract, person: Beneficiary) -> ServiceCase | None:
    return db.session.execute(sa.select(ServiceCase).where(ServiceCase.contract_id == contract.id,
                                                           ServiceCase.beneficiary_id == person.id)).unique().scalar_one_or_none()


def _case_for(actor, contract: Contract, person: Beneficiary, day: date) -> ServiceCase:
    case = _find_case(contract, person)
    if case is None:
        case = ServiceCase(contract_id=contract.id, beneficiary_id=person.id, opened_on=day, created_at=clock.now())
        try:
            # Two first sessions of one person's case work recorded at the same moment: the second
            # one's insert meets the first's case, and the entry joins that case instead of failing.
            with db.session.begin_nested():
                db.session.add(case)
                db.session.flush()
        except IntegrityError:
            case = _find_case(contract, person)
            if case is None:
                raise
        else:
            record("service_case.opened", actor=actor, obj=case, changes={"contract_id": [None, contract.id]})
    return case


def _refuse_closed(contract: Contract) -> None:
    check_recording(contract)


def _refuse_paid(contract: Contract, *days: date, milestones: list[tuple] | None = None) -> None:
    """Entries behind a paid milestone are locked: the payment was made on them. Procurement staff
    reopen the period (with a reason) for a correction. `milestones`: the contract's, read with the
    entry's links (`_stored_links`)."""
    from ..contracts.models import Milestone
    from ..contracts.workflow import locking_milestone, locking_of

    if milestones is None:
        milestone = locking_milestone(contract.id, days)
    else:
        milestone_id = locking_of(milestones, days)
        milestone = db.session.get(Milestone, milestone_id) if milestone_id is not None else None
    if milestone is not None:
        raise DomainError(_("This entry falls under the milestone %(m)s, which is paid: its entries are locked. "
                            "Ask the bureau's procurement staff to reopen the period, with the reason.",
                            m=milestone.title))


def record_activity(actor, contract: Contract, values: dict, uploads: list = ()) -> ServiceActivity:
    allow(actor, perms.can_record_activity(actor, contract))
    _refuse_closed(contract)
    clean = check_activity(contract, values)
    workers, participants = clean.pop("workers"), clean.pop("participants")
    privacy.refuse_unserved(participants)
    if clean["type"] == ActivityType.CASE_WORK and clean["case_id"] is None:
        clean["case_id"] = _case_for(actor, contract, participants[0], clean["activity_date"]).id
    now = clock.now()
    activity = ServiceActivity(contract_id=contract.id, created_at=now, updated_at=now,
                               created_by_id=getattr(actor, "id", None), **clean)
    activity.participant_count = len(participants)
    activity.fingerprint = fingerprint(contract.id, clean["type"], clean["activity_date"], clean["start_time"],
                                       clean["end_time"], clean["community_id"], clean["place"],
                                       [w.id for w in workers], [p.id for p in participants], clean["head_count"],
                                       clean["group_id"], clean["session_number"])
    uploads = [u for u in uploads if u and getattr(u, "filename", "")]
    if not uploads and db.session.connection().dialect.name == "postgresql":
        _insert_with_links(activity, workers, participants)
    else:
        db.session.add(activity)
        db.session.flush()
        _set_links(activity, _Links([], [], {}), workers, participants)
    for upload in uploads:
        stored = files.store(upload, purpose="evidence", rule=EVIDENCE_RULE, actor=actor)
        activity.evidence.append(ActivityEvidence(file_id=stored.id))
    db.session.flush()
    record("activity.recorded", actor=actor, obj=activity,
           changes={**created(activity, ACTIVITY_FIELDS), "workers": [None, sorted(w.id for w in workers)],
                    "participants": [None, sorted(p.id for p in participants)]})
    flags.refresh_entries([], now=[flags.state_of(activity, [w.id for w in workers], [p.id for p in participants])],
                          settled=True)
    progress.log_changed([contract.id], at_commit=True)
    return activity


_ENTRY_COLUMNS = tuple(c.name for c in ServiceActivity.__table__.c if c.name != "id")


@functools.cache
def _insert_with_links_stmt():
    """PostgreSQL: a new entry and its workers and people in one statement (data-modifying WITHs),
    returning the entry's id."""
    from sqlalchemy.dialects.postgresql import ARRAY

    A, W, P = ServiceActivity.__table__, activity_worker, activity_participant
    entry = sa.insert(A).values({name: sa.bindparam(name, type_=A.c[name].type) for name in _ENTRY_COLUMNS}
                                ).returning(A.c.id).cte("entry")

    def links(table, column, name):
        rows = sa.select(entry.c.id, sa.func.unnest(sa.bindparam(name, type_=ARRAY(sa.Integer))))
        return sa.insert(table).from_select([table.c.activity_id, column], rows).cte(f"{name}_added")

    return sa.select(entry.c.id).add_cte(links(W, W.c.social_worker_id, "workers"),
                                         links(P, P.c.beneficiary_id, "people"))


@functools.cache
def _entry_attributes() -> tuple[tuple[str, str, object], ...]:
    """(column, attribute, scalar default or None) of each column `_insert_with_links` writes."""
    mapper = sa.inspect(ServiceActivity)
    return tuple((name, mapper.get_property_by_column(column).key,
                  column.default.arg if column.default is not None and column.default.is_scalar else None)
                 for name in _ENTRY_COLUMNS for column in [ServiceActivity.__table__.c[name]])


def _insert_with_links(activity: ServiceActivity, workers: list, people: list) -> None:
    """The new entry written with its links in one statement (PostgreSQL, no evidence files), then
    held by the session as if loaded: what the flush and `_set_links` do in two."""
    params = {}
    for name, key, default in _entry_attributes():
        value = getattr(activity, key)
        if value is None and default is not None:  # the column's default, as the flush would give it
            value = default
            setattr(activity, key, value)
        params[name] = value
    activity.id = db.session.connection().execute(_insert_with_links_stmt(), {
        **params, "workers": sorted(w.id for w in workers), "people": sorted(p.id for p in people)}).scalar_one()
    make_transient_to_detached(activity)
    db.session.add(activity)


def _activity_snapshot(activity: ServiceActivity, workers, people) -> dict:
    data = snapshot(activity, ACTIVITY_FIELDS)
    data["workers"] = sorted(workers)
    data["participants"] = sorted(people)
    data["revision"] = activity.revision
    return data


@dataclass
class _Links:
    """An entry's workers and people as stored (ids), with the people's match keys, and its contract's
    milestones as (id, due date, status, period's status) in the order they fall due."""
    workers: list[int]
    people: list[int]
    match_keys: dict[int, str | None]
    milestones: list[tuple] = dataclasses.field(default_factory=list)


@functools.cache
def _links_stmt() -> sa.CompoundSelect:
    from ..contracts.models import Milestone, MilestonePeriod

    W, P, B, M, MP = activity_worker, activity_participant, Beneficiary, Milestone.__table__, MilestonePeriod.__table__

    # The milestones first: the first select gives the columns their types, in the database and here.
    return sa.union_all(
        sa.select(sa.literal("m").label("kind"), M.c.id.label("ref"), sa.null().label("match_key"),
                  M.c.due_date.label("due"), M.c.position.label("position"), M.c.status.label("status"),
                  MP.c.status.label("period"))
        .select_from(M.outerjoin(MP, MP.c.milestone_id == M.c.id)).where(M.c.contract_id == sa.bindparam("contract")),
        sa.select(sa.literal("w"), W.c.social_worker_id, sa.null(), sa.null(), sa.null(), sa.null(), sa.null())
        .where(W.c.activity_id == sa.bindparam("entry")),
        sa.select(sa.literal("p"), P.c.beneficiary_id, B.id_match_key, sa.null(), sa.null(), sa.null(), sa.null())
        .join(B, B.id == P.c.beneficiary_id).where(P.c.activity_id == sa.bindparam("entry")))


def _stored_links(activity: ServiceActivity) -> _Links:
    """One statement instead of loading both collections as objects (a correction or deletion needs
    only their ids, and the red-flag checks the people's match keys), with the contract's milestones
    (whether a paid one locks the entry's days)."""
    links, milestones = _Links([], [], {}), []
    for kind, ref, key, due, position, status, period in db.session.connection().execute(
            _links_stmt(), {"entry": activity.id, "contract": activity.contract_id}):
        if kind == "w":
            links.workers.append(ref)
        elif kind == "p":
            links.people.append(ref)
            links.match_keys[ref] = key
        else:
            milestones.append((due, position, ref, status, period))
    links.milestones = [(ref, due, status, period) for due, _position, ref, status, period in sorted(milestones)]
    return links


def _set_links(activity: ServiceActivity, stored: _Links, workers: list, people: list,
               revision: dict | None = None) -> None:
    """Write the entry's workers and people where they changed: the links gone deleted, the new ones
    added (on PostgreSQL all of it in one statement; elsewhere a statement each, only when there are
    some). The collections are read afresh if asked for. `revision` (elsewhere than on PostgreSQL,
    where `_write_correction` writes a correction whole): the entry's version a correction replaces
    (ActivityRevision's columns), added with them."""
    connection = db.session.connection()
    changes = _link_changes(stored, workers, people)
    if connection.dialect.name == "postgresql":
        if any(gone or new for _t, _c, gone, new in changes.values()):
            connection.execute(_change_links(), _link_parameters(activity, changes))
    else:
        if revision is not None:
            db.session.add(ActivityRevision(**revision))
        for table, column, gone, new in changes.values():
            if gone:
                connection.execute(sa.delete(table).where(table.c.activity_id == activity.id, column.in_(gone)))
            if new:
                connection.execute(sa.insert(table), [{"activity_id": activity.id, column.name: ref} for ref in new])
    db.session.expire(activity, ["workers", "participants"])


def _link_changes(stored: _Links, workers: list, people: list) -> dict:
    """table name -> (table, column, ids gone, ids new)."""
    changes = {}
    for table, column, before, after in (
            (activity_worker, activity_worker.c.social_worker_id, set(stored.workers), {w.id for w in workers}),
            (activity_participant, activity_participant.c.beneficiary_id, set(stored.people),
             {p.id for p in people})):
        changes[table.name] = (table, column, sorted(before - after), sorted(after - before))
    return changes


def _link_parameters(activity: ServiceActivity, changes: dict, revision: dict | None = None) -> dict:
    (_w, _wc, gone_workers, new_workers), (_p, _pc, gone_people, new_people) = changes.values()
    return {"entry": activity.id, "gone_workers": gone_workers, "new_workers": new_workers,
            "gone_people": gone_people, "new_people": new_people,
            **({f"revision_{key}": value for key, value in revision.items() if key != "activity_id"}
               if revision is not None else {})}


# What a correction may change of an entry (with its version): every column but the entry's id,
# contract, origin and making.
_CORRECTED = tuple(c.name for c in ServiceActivity.__table__.c
                   if c.name not in ("id", "contract_id", "import_batch_id", "created_at", "created_by_id"))


@functools.cache
def _change_links(correction: bool = False):
    """PostgreSQL: an entry's links changed in one statement, each part a data-modifying WITH (the
    workers and people gone deleted, the new ones added; an empty list changes nothing). With
    `correction`, the entry itself is written first (every corrected column, `entry_<name>`) if it is
    still at the version read (`was_version`), the links and the version it replaces (`revision_…`)
    only if it was, and the statement answers how many entries it wrote (0: changed or deleted
    meanwhile)."""
    from sqlalchemy.dialects.postgresql import ARRAY

    W, P, A = activity_worker, activity_participant, ServiceActivity.__table__
    if correction:
        updated = (sa.update(A).where(A.c.id == sa.bindparam("entry", type_=sa.Integer),
                                      A.c.version == sa.bindparam("was_version", type_=sa.Integer))
                   .values({name: sa.bindparam(f"entry_{name}", type_=A.c[name].type) for name in _CORRECTED})
                   .returning(A.c.id).cte("updated"))
        entry = sa.select(updated.c.id).scalar_subquery()
    else:
        updated, entry = None, sa.bindparam("entry", type_=sa.Integer)

    def ids(name: str):
        return sa.bindparam(name, type_=ARRAY(sa.Integer))

    def rows(*columns) -> sa.Select:
        """A row for the entry (none if a correction found it changed) with `columns`."""
        return sa.select(updated.c.id, *columns) if correction else sa.select(entry, *columns)

    gone_workers = sa.delete(W).where(W.c.activity_id == entry, W.c.social_worker_id == sa.any_(ids("gone_workers"))
                                      ).cte("gone_workers")
    gone_people = sa.delete(P).where(P.c.activity_id == entry, P.c.beneficiary_id == sa.any_(ids("gone_people"))
                                     ).cte("gone_people")
    new_workers = sa.insert(W).from_select([W.c.activity_id, W.c.social_worker_id],
                                           rows(sa.func.unnest(ids("new_workers")))).cte("new_workers")
    new_people = sa.insert(P).from_select([P.c.activity_id, P.c.beneficiary_id], rows(sa.func.unnest(ids("new_people"))))
    if not correction:
        return new_people.add_cte(gone_workers, gone_people, new_workers)
    R = ActivityRevision.__table__
    kept = ("revision", "data", "reason", "replaced_at", "replaced_by_id")
    kept_revision = sa.insert(R).from_select(
        ["activity_id", *kept], rows(*(sa.bindparam(f"revision_{name}", type_=R.c[name].type) for name in kept)))
    return (sa.select(sa.func.count()).select_from(updated)
            .add_cte(gone_workers, gone_people, new_workers, new_people.cte("new_people"),
                     kept_revision.cte("kept_revision")))


@functools.cache
def _corrected_attributes() -> tuple[tuple[str, str], ...]:
    """(column, attribute) of each column a correction writes (of those a new entry writes)."""
    return tuple((name, key) for name, key, _default in _entry_attributes() if name in _CORRECTED)


def _write_correction(activity: ServiceActivity, stored: _Links, workers: list, people: list,
                      revision: dict) -> None:
    """PostgreSQL: the corrected entry, its changed links and the version it replaces written in one
    statement, as the version read (a correction or deletion saved meanwhile refuses it, as the
    session's version check would); the entry is then held as written."""
    values = {name: getattr(activity, key) for name, key in _corrected_attributes()}
    was = values["version"]
    values["version"] = was + 1
    written = db.session.connection().execute(_change_links(correction=True), {
        **_link_parameters(activity, _link_changes(stored, workers, people), revision), "was_version": was,
        **{f"entry_{name}": value for name, value in values.items()}}).scalar_one()
    if written != 1:
        raise StaleDataError("The service entry was changed or deleted meanwhile.")
    for name, key in _corrected_attributes():
        set_committed_value(activity, key, values[name])
    db.session.expire(activity, ["workers", "participants"])


def correct_activity(actor, activity: ServiceActivity, values: dict, reason: str) -> ServiceActivity:
    """Change a recorded activity; the version it replaces is kept as a revision."""
    contract = activity.contract
    allow(actor, perms.can_record_activity(actor, contract))
    _refuse_closed(contract)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the entry is corrected."), "reason")
    clean = check_activity(contract, values)
    stored = _stored_links(activity)
    _refuse_paid(contract, activity.activity_date, clean["activity_date"], milestones=stored.milestones)
    workers, participants = clean.pop("workers"), clean.pop("participants")
    privacy.refuse_unserved(participants, already=stored.people)
    was = flags.state_of(activity, stored.workers, stored.people)
    before = _activity_snapshot(activity, stored.workers, stored.people)
    revision = dict(activity_id=activity.id, revision=activity.revision, data=before, reason=reason,
                    replaced_at=clock.now(), replaced_by_id=getattr(actor, "id", None))
    for key, value in clean.items():
        if key == "case_id" and value is None and clean["type"] == ActivityType.CASE_WORK:
            value = _case_for(actor, contract, participants[0], clean["activity_date"]).id
        setattr(activity, key, value)
    worker_ids, people_ids = [w.id for w in workers], [p.id for p in participants]
    activity.participant_count = len(participants)
    activity.fingerprint = fingerprint(contract.id, activity.type, activity.activity_date, activity.start_time,
                                       activity.end_time, activity.community_id, activity.place,
                                       worker_ids, people_ids, activity.head_count,
                                       activity.group_id, activity.session_number)
    activity.revision += 1
    activity.updated_at = clock.now()
    if db.session.connection().dialect.name == "postgresql":
        _write_correction(activity, stored, workers, participants, revision)
    else:
        _set_links(activity, stored, workers, participants, revision=revision)
        db.session.flush()
    after = _activity_snapshot(activity, worker_ids, people_ids)
    changes = diff(before, after)
    changes["reason"] = [None, reason]
    record("activity.corrected", actor=actor, obj=activity, changes=changes)
    flags.refresh_entries([was], now=[flags.state_of(activity, worker_ids, people_ids)],
                          match_keys=stored.match_keys, settled=True)
    progress.log_changed([contract.id], at_commit=True)
    return activity


_DELETE_ENTRY = sa.delete(ServiceActivity.__table__).where(
    ServiceActivity.__table__.c.id == sa.bindparam("entry"), ServiceActivity.__table__.c.version == sa.bindparam("version"))


def delete_activity(actor, activity: ServiceActivity, reason: str) -> None:
    """Remove an entry recorded in error. Nothing of it is lost: the audit event keeps the entry as it
    was (fields, workers, participants, evidence files) with its earlier versions and the reason."""
    contract = activity.contract
    allow(actor, perms.can_record_activity(actor, contract))
    _refuse_closed(contract)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the entry is deleted."), "reason")
    stored = _stored_links(activity)
    _refuse_paid(contract, activity.activity_date, milestones=stored.milestones)
    was = flags.state_of(activity, stored.workers, stored.people)
    entry = _activity_snapshot(activity, stored.workers, stored.people)
    entry.update(fingerprint=activity.fingerprint, import_batch_id=activity.import_batch_id,
                 created_at=activity.created_at, created_by_id=activity.created_by_id,
                 evidence=[{"file_id": e.file_id, "name": e.file.original_name, "sha256": e.file.sha256}
                           for e in activity.evidence],
                 revisions=[{"revision": r.revision, "data": r.data, "reason": r.reason, "replaced_at": r.replaced_at,
                             "replaced_by_id": r.replaced_by_id} for r in activity.revisions])
    activity_id = activity.id
    # One statement: the database removes the entry's links, revisions and evidence rows with it (their
    # foreign keys cascade), as the version read (a correction saved meanwhile refuses the deletion).
    db.session.flush()
    if db.session.connection().execute(_DELETE_ENTRY, {"entry": activity_id,
                                                       "version": activity.version}).rowcount != 1:
        raise StaleDataError("The service entry was changed or deleted meanwhile.")
    db.session.expunge(activity)
    record("activity.deleted", actor=actor, object_type=ServiceActivity.audit_type, object_id=activity_id,
           changes={"entry": [entry, None], "reason": [None, reason]})
    flags.refresh_entries([was], now=[], match_keys=stored.match_keys, settled=True)
    progress.log_changed([contract.id], at_commit=True)


def create_group(actor, contract: Contract, name: str, planned_sessions: int, members: list[Beneficiary]) -> ServiceGroup:
    allow(actor, perms.can_record_activity(actor, contract))
    _refuse_closed(contract)
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the group a name."), "name")
    if db.session.execute(sa.select(ServiceGroup.id).where(ServiceGroup.contract_id == contract.id,
                                                           ServiceGroup.name == name)).first():
        raise ValidationError(_("This contract already has a group called %(n)s.", n=name), "name")
    if not 1 <= int(planned_sessions or 0) <= 100:
        raise ValidationError(_("Plan between 1 and 100 sessions."), "planned_sessions")
    if any(m.organization_id != contract.organization_id for m in members):
        raise ValidationError(_("Members come from your organization's register."), "members")
    privacy.refuse_unserved(members)
    group = ServiceGroup(contract_id=contract.id, name=name, planned_sessions=int(planned_sessions),
                         created_at=clock.now())
    group.members = list(members)
    db.session.add(group)
    db.session.flush()
    record("service_group.created", actor=actor, obj=group,
           changes={"name": [None, name], "contract_id": [None, contract.id],
                    "members": [None, sorted(m.id for m in members)]})
    return group


def parse_time(text) -> time | None:
    if isinstance(text, time):
        return text
    if isinstance(text, datetime):
        return text.time()
    text = str(text or "").strip().replace("：", ":")
    if len(text) == 5 and text[2] == ":" and text.isascii() and text[:2].isdigit() and text[3:].isdigit():
        try:  # "09:30", as most ledgers write it: strptime is many times slower
            return time(int(text[:2]), int(text[3:]))
        except ValueError:
            pass
    for fmt in ("%H:%M", "%H:%M:%S", "%H%M"):
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    return None


def areas_by_name() -> dict[str, Area]:
    return {a.name: a for a in db.session.execute(
        sa.select(Area).where(Area.level.in_([AreaLevel.COMMUNITY, AreaLevel.GRID]))).unique().scalars()}


