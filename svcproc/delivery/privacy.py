"""Personal information through its life (PIPL arts. 13–15, 19, 28–31, 44–47): the separate consent
sensitive data needs, withdrawing consent, anonymising people once the retention period after their
contracts close has passed, the log of who read a record, and everything held about one person,
for them.

What is sensitive here: the identity number and the phone (DOMAIN.md), and the categories telling
of health or means (disability, low income). They are stored only with a separate consent that
names its purpose and date; withdrawing consent erases them at once. The keyed hash of the identity
number stays until anonymisation so that an auditor can still find the same person counted twice
(a check the bureau owes its budget, not a use of the person's consent); anonymisation removes it.
"""
from __future__ import annotations

import functools
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit.services import record
from ..contracts.models import Contract, ContractStatus
from ..core import clock, workflow
from ..core.errors import DomainError, ValidationError
from ..core.workflow import StateMachine, Transition, allow
from ..extensions import db
from . import identity, labels
from . import permissions as perms
from .models import (Beneficiary, BeneficiaryView, PersonStatus, RedFlag, RedFlagKind, ServiceActivity, ServiceCase,
                     ServiceGroup, ViewKind, activity_participant, group_member)

S = PersonStatus
SENSITIVE_CATEGORIES = frozenset({"disability", "low_income"})
# What an anonymised person's name becomes; their gender, birth year, community and categories stay,
# so every aggregate (people by age, gender, community, category) is what it was.
ANONYMOUS_NAME = "已匿名"
CLOSED_STATUSES = (ContractStatus.CLOSED, ContractStatus.TERMINATED)
ANONYMISE_CHUNK = 500


def _labels():
    return labels.PERSON_STATUS_LABELS


PERSON = workflow.register(StateMachine("beneficiary", {
    "withdraw": Transition({S.ACTIVE}, S.WITHDRAWN, "beneficiary.consent_withdrawn"),
    "anonymise": Transition({S.ACTIVE, S.WITHDRAWN}, S.ANONYMISED, "beneficiary.anonymised"),
}, labels=_labels, refusal=_l("Not possible while the person's record is %(status)s."),
    actions={"edit": {S.ACTIVE}, "serve": {S.ACTIVE}, "export": {S.ACTIVE, S.WITHDRAWN}}))


# --- the separate consent for sensitive data --------------------------------------------------------


def sensitive_categories(categories) -> list[str]:
    return sorted(set(categories or ()) & SENSITIVE_CATEGORIES)


def check_sensitive_consent(values: dict, person: Beneficiary | None, number: str, phone: str,
                            categories: list[str], consent_on: date, today: date) -> tuple[date, str] | None:
    """The separate consent to record with this save, or None when none is given.

    A save that stores sensitive data the record did not hold (a number or phone typed, a health or
    means category added) needs the person's separate consent: given with this save, or already on
    the record. It is never assumed: the form's box starts unticked (PIPL art. 29).
    """
    given = bool(values.get("sensitive_consent"))
    purpose = (values.get("sensitive_consent_purpose") or "").strip()
    on = values.get("sensitive_consent_on")
    new_categories = set(sensitive_categories(categories)) - set(person.categories if person else ())
    adds_sensitive = bool(number or phone or new_categories)
    if given:
        if not purpose:
            raise ValidationError(_("Say for what purpose the sensitive data is processed."),
                                  "sensitive_consent_purpose")
        if not isinstance(on, date) or on > today:
            raise ValidationError(_("Give the date of the separate consent (not in the future)."),
                                  "sensitive_consent_on")
        if on < consent_on:
            raise ValidationError(_("The separate consent cannot come before the consent to the processing."),
                                  "sensitive_consent_on")
        return on, purpose
    if adds_sensitive and (person is None or not person.has_sensitive_consent):
        raise ValidationError(_("The identity number, the phone and the health or means categories are sensitive "
                                "personal information: they are stored only with the separate consent of the "
                                "person or guardian, for a stated purpose (PIPL art. 29)."), "sensitive_consent")
    return None


# --- withdrawal ------------------------------------------------------------------------------------


def withdraw_consent(actor, person: Beneficiary, withdrawn_on, reason: str) -> None:
    """The person (or guardian) withdraws consent: their sensitive data is erased now (PIPL art. 47),
    and no new service entry may name them; what they already took part in stays counted."""
    allow(actor, perms.can_edit_beneficiary(actor, person.organization_id))
    PERSON.check("withdraw", person)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Record how the person withdrew consent (what they said or signed)."), "reason")
    today = clock.to_local(clock.now()).date()
    if not isinstance(withdrawn_on, date) or withdrawn_on > today:
        raise ValidationError(_("Give the date consent was withdrawn (not in the future)."), "withdrawn_on")
    if withdrawn_on < person.consent_on:
        raise ValidationError(_("Consent cannot be withdrawn before it was given (%(d)s).",
                                d=person.consent_on.isoformat()), "withdrawn_on")
    changes = _erase_sensitive(person)
    person.consent_withdrawn_on = withdrawn_on
    changes["consent_withdrawn_on"] = [None, withdrawn_on.isoformat()]
    PERSON.move(actor, person, "withdraw", reason=reason, changes=changes)


def _erase_sensitive(person: Beneficiary) -> dict:
    """Drop the identity number, phone and sensitive categories; the changes, masked, for the trail."""
    changes = {}
    if person.id_number_sealed is not None or person.id_number_masked:
        changes["id_number_masked"] = [person.id_number_masked, ""]
    if person.phone_sealed is not None or person.phone_masked:
        changes["phone_masked"] = [person.phone_masked, ""]
    kept = [c for c in person.categories or [] if c not in SENSITIVE_CATEGORIES]
    if kept != list(person.categories or []):
        changes["categories"] = [list(person.categories), kept]
    person.id_number_sealed, person.id_number_masked = None, ""
    person.phone_sealed, person.phone_masked = None, ""
    person.categories = kept
    return changes


def refuse_unserved(people, already=()) -> None:
    """No new service entry (or group) names a person whose consent was withdrawn or who was anonymised;
    an entry that already named them keeps them when it is corrected."""
    known = {getattr(p, "id", p) for p in already}
    barred = [p for p in people if p.id not in known and not PERSON.allows("serve", p)]
    if barred:
        raise ValidationError(_("Consent was withdrawn: %(names)s can no longer be named in a service entry.",
                                names="、".join(p.name for p in barred)), "participants")


# --- retention and anonymisation -------------------------------------------------------------------


def retention_cutoff(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def due_for_anonymisation(now: datetime | None = None, years: int | None = None) -> sa.Select:
    """People whose every contract closed (or ended) more than the retention period ago, and who were
    registered before it: the ids, oldest first."""
    now = now or clock.now()
    years = current_app.config["RETENTION_YEARS_AFTER_CLOSE"] if years is None else years
    cutoff = retention_cutoff(now, years)
    still_needed = sa.select(Contract.id).where(sa.or_(Contract.status.not_in(CLOSED_STATUSES),
                                                       Contract.status_changed_at > cutoff))
    A, P = ServiceActivity, activity_participant
    held = sa.union(
        sa.select(P.c.beneficiary_id).join(A, A.id == P.c.activity_id).where(A.contract_id.in_(still_needed)),
        sa.select(ServiceCase.beneficiary_id).where(ServiceCase.contract_id.in_(still_needed)),
        sa.select(group_member.c.beneficiary_id).join(ServiceGroup, ServiceGroup.id == group_member.c.group_id)
        .where(ServiceGroup.contract_id.in_(still_needed)))
    return (sa.select(Beneficiary.id).where(Beneficiary.status != S.ANONYMISED, Beneficiary.created_at <= cutoff,
                                            Beneficiary.id.not_in(held))
            .order_by(Beneficiary.id))


def anonymise(actor, person: Beneficiary) -> None:
    """Replace everything that identifies the person; what they took part in stays counted (their
    entries, cases and groups keep the row, now nobody's)."""
    allow(actor, False)  # the retention job's alone: no person anonymises a record by hand
    changes = _erase_sensitive_keep_categories(person)
    if person.name != ANONYMOUS_NAME:
        changes["name"] = [person.name, ANONYMOUS_NAME]
    if person.guardian_name:
        changes["guardian_name"] = [person.guardian_name, ""]
    person.name, person.guardian_name = ANONYMOUS_NAME, ""
    person.id_match_key = None
    PERSON.move(actor, person, "anonymise", changes=changes)


def _erase_sensitive_keep_categories(person: Beneficiary) -> dict:
    categories = list(person.categories or [])
    changes = _erase_sensitive(person)
    changes.pop("categories", None)
    person.categories = categories  # no longer anyone's: kept so the profiles of the reports stay exact
    return changes


def anonymise_due(now: datetime | None = None, years: int | None = None, dry_run: bool = False) -> list[int]:
    """Anonymise everyone due (the command and its schedule); the ids handled. Flushes, never commits."""
    ids = list(db.session.execute(due_for_anonymisation(now, years)).scalars())
    if dry_run:
        return ids
    contracts: set[int] = set()
    for i in range(0, len(ids), ANONYMISE_CHUNK):
        chunk = ids[i:i + ANONYMISE_CHUNK]
        for person in db.session.execute(sa.select(Beneficiary).where(Beneficiary.id.in_(chunk))).scalars():
            anonymise(None, person)
        contracts.update(db.session.execute(
            sa.select(ServiceActivity.contract_id).join(activity_participant,
                                                        activity_participant.c.activity_id == ServiceActivity.id)
            .where(activity_participant.c.beneficiary_id.in_(chunk)).distinct()).scalars())
    if contracts:
        # The people are no longer matched by key: kept figures are recomputed (they come out the same).
        from . import progress

        progress.log_changed(sorted(contracts))
    return ids


# --- who read the record ---------------------------------------------------------------------------


def log_view(actor, person: Beneficiary, kind: ViewKind) -> None:
    """One row, no read: what every reading of a record costs (a plain insert, not an object the
    session tracks and flushes: nothing changes it afterwards)."""
    db.session.connection().execute(_view_row(), {"beneficiary_id": person.id, "user_id": getattr(actor, "id", None),
                                                  "kind": kind, "viewed_at": clock.now()})


@functools.cache
def _view_row() -> sa.Insert:
    return sa.insert(BeneficiaryView.__table__)


def view_log(person: Beneficiary) -> sa.Select:
    return (sa.select(BeneficiaryView).where(BeneficiaryView.beneficiary_id == person.id)
            .order_by(BeneficiaryView.viewed_at.desc(), BeneficiaryView.id.desc()))


# --- everything held about one person --------------------------------------------------------------


def _when(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return clock.to_local(value).isoformat(timespec="seconds")
    return value.isoformat()


def export_person(actor, person: Beneficiary) -> dict:
    """Everything the register holds about the person, for them (PIPL art. 45): their record with the
    full identity number and phone, their consents, the service entries they took part in, the cases
    and groups, the red flags naming them and who read the record. Audited and logged."""
    allow(actor, perms.can_export_person(actor, person))
    from ..accounts.models import User
    from ..registry.models import SocialWorker

    A, P = ServiceActivity, activity_participant
    entries = db.session.execute(
        sa.select(A).join(P, P.c.activity_id == A.id).where(P.c.beneficiary_id == person.id)
        .order_by(A.activity_date, A.start_time, A.id)).unique().scalars().all()
    workers = {}
    if entries:
        from .models import activity_worker

        for activity_id, name in db.session.execute(
                sa.select(activity_worker.c.activity_id, SocialWorker.name)
                .join(SocialWorker, SocialWorker.id == activity_worker.c.social_worker_id)
                .where(activity_worker.c.activity_id.in_([e.id for e in entries]))
                .order_by(SocialWorker.name)):
            workers.setdefault(activity_id, []).append(name)
    groups = db.session.execute(
        sa.select(ServiceGroup).join(group_member, group_member.c.group_id == ServiceGroup.id)
        .where(group_member.c.beneficiary_id == person.id).order_by(ServiceGroup.id)).scalars().all()
    cases = db.session.execute(sa.select(ServiceCase).where(ServiceCase.beneficiary_id == person.id)
                               .order_by(ServiceCase.id)).unique().scalars().all()
    contract_ids = sorted({e.contract_id for e in entries} | {c.contract_id for c in cases}
                          | {g.contract_id for g in groups})
    contracts = {c.id: c for c in db.session.execute(sa.select(Contract).where(Contract.id.in_(contract_ids)))
                 .unique().scalars()} if contract_ids else {}
    flags = [f for f in db.session.execute(
        sa.select(RedFlag).join(Contract, Contract.id == RedFlag.contract_id)
        .where(RedFlag.kind == RedFlagKind.DOUBLE_COUNTED, Contract.organization_id == person.organization_id,
               sa.cast(RedFlag.detail, sa.String).like(f"%{person.id}%"))
        .order_by(RedFlag.found_at, RedFlag.id)).unique().scalars()
        if person.id in (f.detail or {}).get("beneficiary_ids", [])]
    views = db.session.execute(
        sa.select(BeneficiaryView, User.username, User.full_name).outerjoin(User, User.id == BeneficiaryView.user_id)
        .where(BeneficiaryView.beneficiary_id == person.id)
        .order_by(BeneficiaryView.viewed_at, BeneficiaryView.id)).all()

    def contract_of(contract_id):
        c = contracts.get(contract_id)
        return {"number": c.number, "title": c.title} if c else None

    data = {
        "exported_at": _when(clock.now()),
        "organization": person.organization.name,
        "person": {
            "name": person.name, "gender": str(labels.GENDER_LABELS[person.gender]),
            "birth_year": person.birth_year, "community": person.community.path,
            "categories": [str(labels.CATEGORY_LABELS.get(c, c)) for c in person.categories or []],
            "identity_number": identity.unseal_number(person.id_number_sealed) if person.id_number_sealed else None,
            "phone": identity.unseal_phone(person.phone_sealed) if person.phone_sealed else None,
            "status": str(labels.PERSON_STATUS_LABELS[person.status]),
            "registered_at": _when(person.created_at),
        },
        "consents": [
            {"kind": _("Consent to the processing of personal information"),
             "given_by": str(labels.CONSENT_BY_LABELS[person.consent_by]), "guardian": person.guardian_name or None,
             "method": str(labels.CONSENT_METHOD_LABELS[person.consent_method]), "given_on": _when(person.consent_on),
             "withdrawn_on": _when(person.consent_withdrawn_on),
             "withdrawal_reason": person.status_reason if person.consent_withdrawn_on else None},
        ] + ([{"kind": _("Separate consent to sensitive personal information"),
               "purpose": person.sensitive_consent_purpose, "given_on": _when(person.sensitive_consent_on),
               "withdrawn_on": _when(person.consent_withdrawn_on)}] if person.has_sensitive_consent else []),
        "service_entries": [
            {"date": _when(e.activity_date), "from": e.start_time.strftime("%H:%M"), "to": e.end_time.strftime("%H:%M"),
             "kind": str(labels.ACTIVITY_TYPE_LABELS[e.type]), "contract": contract_of(e.contract_id),
             "place": e.place, "topic": e.topic, "hours": str(e.hours), "social_workers": workers.get(e.id, [])}
            for e in entries],
        "cases": [{"contract": contract_of(c.contract_id), "opened_on": _when(c.opened_on)} for c in cases],
        "groups": [{"name": g.name, "contract": contract_of(g.contract_id)} for g in groups],
        "red_flags": [{"kind": str(labels.RED_FLAG_LABELS[f.kind]), "found_at": _when(f.found_at),
                       "standing": f.active, "explanation": f.explanation or None} for f in flags],
        "views": [{"at": _when(v.viewed_at), "by": full_name or username or None,
                   "what": str(labels.VIEW_KIND_LABELS[v.kind])} for v, username, full_name in views],
    }
    record("beneficiary.exported", actor=actor, obj=person,
           changes={"entries": [None, len(entries)], "views": [None, len(views)]})
    log_view(actor, person, ViewKind.EXPORTED)
    return data


def refuse_withdrawn_edit(person: Beneficiary) -> None:
    if not PERSON.allows("edit", person):
        raise DomainError(_("The record is closed (%(status)s): it can no longer be changed.",
                            status=PERSON.label(person.status)))
