"""Who sees beneficiaries and service logs, who records them, who may reveal an identity number."""
from __future__ import annotations

import functools

import sqlalchemy as sa

from ..contracts.models import Contract
from ..contracts.permissions import can_view_contract, visible_contracts
from ..core import scoping
from ..core.permissions import ORG_ROLES, Role, has_permission
from .models import Beneficiary, RedFlag, ServiceActivity, red_flag_contract


def _staff_of(user, organization_id) -> bool:
    return bool(user is not None and user.is_authenticated and user.role in ORG_ROLES
                and user.organization_id is not None and user.organization_id == organization_id)


def can_view_beneficiaries(user, organization_id) -> bool:
    """The organization's own staff, bureau staff and auditors; nobody else."""
    return has_permission(user, "procurement.read") or _staff_of(user, organization_id)


def can_view_beneficiary(user, person) -> bool:
    return can_view_beneficiaries(user, person.organization_id)


def can_list_beneficiaries(user) -> bool:
    return has_permission(user, "procurement.read") or bool(
        user is not None and user.is_authenticated and user.role in ORG_ROLES and user.organization_id)


def can_edit_beneficiary(user, organization_id) -> bool:
    return has_permission(user, "delivery.record") and _staff_of(user, organization_id)


def can_reveal_identity(user, beneficiary) -> bool:
    """Reading a full identity number is its own permission, and every use is audited."""
    return has_permission(user, "beneficiaries.reveal") and _staff_of(user, beneficiary.organization_id)


def can_change_beneficiary(user, person) -> bool:
    """Edit a person's record: the organization's staff, while consent stands."""
    from .privacy import PERSON

    return can_edit_beneficiary(user, person.organization_id) and PERSON.allows("edit", person)


def can_withdraw_consent(user, person) -> bool:
    """Record that the person (or guardian) withdrew consent: whoever of the organization's staff
    they told, while consent stands."""
    from .privacy import PERSON

    return can_edit_beneficiary(user, person.organization_id) and PERSON.allows("withdraw", person)


def can_view_person_log(user, person) -> bool:
    """Who read a person's record: the organization's manager and the auditors, not social workers
    (nor bureau staff, who are among the readers)."""
    if not has_permission(user, "beneficiaries.view_log"):
        return False
    return user.role not in ORG_ROLES or _staff_of(user, person.organization_id)


def can_export_person(user, person) -> bool:
    """Everything held about one person, downloaded for them: the organization's manager, while the
    record still names someone."""
    from .privacy import PERSON

    return (has_permission(user, "beneficiaries.export") and _staff_of(user, person.organization_id)
            and PERSON.allows("export", person))


def worker_record(user):
    """The social worker record behind a login, if any."""
    from ..registry.models import SocialWorker
    from ..extensions import db
    import sqlalchemy as sa

    from flask import g, has_request_context

    if user is None or not user.is_authenticated:
        return None
    if has_request_context():  # asked by several predicates of one page: looked up once per request
        cache = g.setdefault("worker_records", {})
        if user.id not in cache:
            cache[user.id] = db.session.execute(
                sa.select(SocialWorker).where(SocialWorker.user_id == user.id)).scalar_one_or_none()
        return cache[user.id]
    return db.session.execute(sa.select(SocialWorker).where(SocialWorker.user_id == user.id)).scalar_one_or_none()


def _remember_worker(user, worker) -> None:
    from flask import g, has_request_context

    if has_request_context():
        g.setdefault("worker_records", {}).setdefault(user.id, worker)


def can_record_activity(user, contract) -> bool:
    """Staff of the contract's organization: its manager, or a social worker assigned to the contract."""
    if not has_permission(user, "delivery.record") or not _staff_of(user, contract.organization_id):
        return False
    if user.role == Role.ORG_MANAGER:
        return True
    # The login's worker record is among the contract's workers or the answer is no (and it is
    # remembered for the request like `worker_record`). With the workers loaded (the entry form
    # names them: `with_workers`) it is found among them; otherwise its own row is read, not the
    # team's (36 rows for the largest organization's biggest contract).
    user_id = user.id
    if "workers" in sa.inspect(contract).dict:
        worker = next((w for w in contract.workers if w.user_id == user_id), None)
    else:
        worker = _assigned_worker(contract.id, user_id)
    if worker is None:
        return False
    _remember_worker(user, worker)
    return worker.active


def _assigned_worker(contract_id: int, user_id: int):
    """The login's worker record if it is assigned to the contract (asked again within a request,
    by the view and then its workflow function, it is read once)."""
    from flask import g, has_request_context

    from ..extensions import db
    from ..registry.models import SocialWorker
    from .models import contract_worker

    cache = g.setdefault("assigned_workers", {}) if has_request_context() else {}
    key = (contract_id, user_id)
    if key not in cache:
        cache[key] = db.session.execute(
            sa.select(SocialWorker).join(contract_worker, contract_worker.c.social_worker_id == SocialWorker.id)
            .where(contract_worker.c.contract_id == contract_id, SocialWorker.user_id == user_id)).scalars().first()
    return cache[key]


def named_workers(contract, ids, user) -> list:
    """For a sent entry form: of the contract's workers, those it names (`ids`) and the login's own,
    in one statement instead of the whole team (36 rows for the largest organization's biggest
    contract). The answer is remembered for the request: whether the login is assigned to the
    contract (`can_record_activity`) and which of the named are (`assigned_among`, the workflow's
    check) are then known without reading again."""
    from flask import g, has_request_context

    from ..extensions import db

    ids, user_id = _named_by(ids, user)
    asked = g.setdefault("named_workers", {}) if has_request_context() else {}
    key = (contract.id, tuple(ids), user_id)
    if key in asked:
        return asked[key]
    rows = db.session.execute(_team_statement(bool(ids), user_id is not None),
                              {"contract": contract.id, **_named_parameters(ids, user_id)}).scalars().all()
    return _remember_named(contract, ids, user_id, rows, asked, key)


def _named_by(ids, user) -> tuple[list[int], int | None]:
    """The worker ids a form names (sorted, each once) and the login's user id."""
    return (sorted({i for i in ids if isinstance(i, int)}),
            user.id if user is not None and user.is_authenticated else None)


def _named(named: bool, own: bool):
    """Which workers a form names (`named`: it names some) and the login's own (`own`: the login has
    a user id), as a criterion with the parameters `named` and `user` (`_named_parameters`): the
    statements using it are built once for each shape, not at every sent form."""
    from ..registry.models import SocialWorker

    mine = SocialWorker.user_id == sa.bindparam("user") if own else sa.false()
    return sa.or_(SocialWorker.id.in_(sa.bindparam("named", expanding=True)), mine) if named else mine


def _named_parameters(ids: list[int], user_id: int | None) -> dict:
    return {**({"named": ids} if ids else {}), **({"user": user_id} if user_id is not None else {})}


@functools.cache
def _team_statement(named: bool, own: bool) -> sa.Select:
    """Of the contract's (`contract`) workers, those named and the login's own."""
    from ..registry.models import SocialWorker
    from .models import contract_worker

    return sa.select(SocialWorker).join(contract_worker, sa.and_(
        contract_worker.c.social_worker_id == SocialWorker.id, contract_worker.c.contract_id == sa.bindparam("contract"),
        _named(named, own)))


@functools.cache
def _record_statement(model, contract_key: str, named: bool, own: bool, options: tuple) -> sa.Select:
    """The record (`key`) of `model` with the named workers and the login's own of its contract
    (`contract_key`: the model's column naming the contract), loading `options` with it."""
    from ..registry.models import SocialWorker
    from .models import contract_worker

    team = sa.join(contract_worker, SocialWorker, sa.and_(contract_worker.c.social_worker_id == SocialWorker.id,
                                                          _named(named, own)))
    return (sa.select(model, SocialWorker).select_from(model)
            .outerjoin(team, contract_worker.c.contract_id == getattr(model, contract_key))
            .where(model.id == sa.bindparam("key")).options(*options))


def _remember_named(contract, ids, user_id, rows, asked, key) -> list:
    from flask import g, has_request_context

    if has_request_context():
        if user_id is not None:
            g.setdefault("assigned_workers", {})[(contract.id, user_id)] = next(
                (w for w in rows if w.user_id == user_id), None)
        g.setdefault("known_assignments", {})[contract.id] = (set(ids), {w.id for w in rows})
    asked[key] = [w for w in rows if w.id in ids]
    return asked[key]


def contract_with_named_workers(contract_id: int, ids, user, options: tuple = ()):
    """The contract (None if there is none) and `named_workers` of it, in one statement: a row for
    each worker named or the login's own (the contract alone when there is none). With no ids, the
    contract and whether the login is among its workers (`can_record_activity` then reads nothing).
    `options`: what else to load with the contract, a tuple the caller makes once."""
    from ..contracts.models import Contract

    return _with_named_workers(Contract, "id", contract_id, ids, user, options)


@functools.cache
def _entry_loads(options: tuple) -> tuple:
    from sqlalchemy.orm import joinedload

    from .models import ServiceActivity

    return (joinedload(ServiceActivity.contract), *options)


def entry_with_named_workers(entry_id: int, ids, user, options: tuple = ()):
    """The service entry (None if there is none) with its contract and `named_workers` of that
    contract, in one statement (as `contract_with_named_workers`). `options`: what else to load with
    the entry, a tuple the caller makes once."""
    from .models import ServiceActivity

    return _with_named_workers(ServiceActivity, "contract_id", entry_id, ids, user, _entry_loads(options))


def _with_named_workers(model, contract_key: str, key, ids, user, options: tuple = ()):
    """`options`: the loads of the record read, a tuple made once by the caller (the statement is
    kept for it)."""
    from flask import g, has_request_context

    from ..extensions import db

    ids, user_id = _named_by(ids, user)
    rows = db.session.execute(_record_statement(model, contract_key, bool(ids), user_id is not None, options),
                              {"key": key, **_named_parameters(ids, user_id)}).unique().all()
    if not rows:
        return None, []
    found = rows[0][0]
    contract = found if contract_key == "id" else found.contract
    asked = g.setdefault("named_workers", {}) if has_request_context() else {}
    return found, _remember_named(contract, ids, user_id, [w for _found, w in rows if w is not None], asked,
                                  (contract.id, tuple(ids), user_id))


def assigned_among(contract, ids) -> set[int]:
    """Which of the workers `ids` are assigned to the contract: from its loaded team, or from what
    `named_workers` read for this request, or else read now."""
    from flask import g, has_request_context

    from ..extensions import db
    from .models import contract_worker

    ids = set(ids)
    if "workers" in sa.inspect(contract).dict:
        return {w.id for w in contract.workers} & ids
    known = g.get("known_assignments", {}).get(contract.id) if has_request_context() else None
    if known is not None and ids <= known[0]:
        return known[1] & ids
    if not ids:
        return set()
    return set(db.session.execute(sa.select(contract_worker.c.social_worker_id).where(
        contract_worker.c.contract_id == contract.id, contract_worker.c.social_worker_id.in_(ids))).scalars())


def with_workers(contract):
    """The contract with its workers loaded, for a view that names them after checking who may record
    (the entry form): the check then finds the login among them instead of reading its row apart."""
    contract.workers  # noqa: B018  (loads the collection)
    return contract


def can_manage_delivery(user, contract) -> bool:
    """Assign workers, import ledgers: the organization's manager."""
    return has_permission(user, "delivery.manage") and _staff_of(user, contract.organization_id)


def can_view_red_flags(user) -> bool:
    return has_permission(user, "procurement.read")


def _flag_contracts(flag) -> list:
    """The contracts a finding concerns: the one it is filed under, then the others."""
    return [flag.contract, *flag.other_contracts]


def can_explain_flag(user, flag) -> bool:
    if has_permission(user, "flags.explain") and user.role != Role.ORG_MANAGER:
        return True
    # The contract it is filed under first (loaded with the list): the others only for a shared finding.
    return has_permission(user, "flags.explain") and (
        _staff_of(user, flag.contract.organization_id)
        or any(_staff_of(user, c.organization_id) for c in _flag_contracts(flag)))


def can_confirm_import(user, batch) -> bool:
    """A checked file without errors, confirmed by the organization's manager."""
    from ..extensions import db
    from .workflow import IMPORT

    contract = db.session.get(Contract, batch.contract_id)
    return (can_manage_delivery(user, contract) and IMPORT.allows("start", batch) and not batch.error_count)


def can_view_activity(user, activity) -> bool:
    """A service entry is seen by whoever sees its contract."""
    return can_view_contract(user, activity.contract)


def can_view_red_flag(user, flag) -> bool:
    """A standing finding is seen by whoever sees its contract (the district list is the bureau's)."""
    return flag.active and (can_view_contract(user, flag.contract)
                            or any(can_view_contract(user, c) for c in _flag_contracts(flag)))


# --- which rows a person's lists hold: every list, export and search starts here ------------------


def visible_beneficiaries(user) -> sa.Select:
    """The registers `can_view_beneficiaries` opens: every one for the bureau and auditors, an
    organization's own for its staff."""
    stmt = sa.select(Beneficiary)
    if has_permission(user, "procurement.read"):
        return stmt
    if user is not None and user.is_authenticated and user.role in ORG_ROLES and user.organization_id is not None:
        return stmt.where(Beneficiary.organization_id == user.organization_id)
    return stmt.where(sa.false())


def _visible_contract_ids(user):
    return visible_contracts(user).with_only_columns(Contract.id).order_by(None)


def visible_activities(user) -> sa.Select:
    stmt = sa.select(ServiceActivity)
    if has_permission(user, "procurement.read"):
        return stmt
    return stmt.where(ServiceActivity.contract_id.in_(_visible_contract_ids(user)))


def visible_red_flags(user) -> sa.Select:
    stmt = sa.select(RedFlag).where(RedFlag.active)
    if has_permission(user, "procurement.read"):
        return stmt
    # Listed under any contract the person sees (a person counted by two contracts shows on both).
    seen = red_flag_contract.alias("seen")
    return stmt.where(sa.or_(RedFlag.contract_id.in_(_visible_contract_ids(user)),
                             sa.exists().where(seen.c.red_flag_id == RedFlag.id,
                                               seen.c.contract_id.in_(_visible_contract_ids(user))).correlate(RedFlag)))


scoping.register(Beneficiary, visible_beneficiaries, can_view_beneficiary)
scoping.register(ServiceActivity, visible_activities, can_view_activity)
scoping.register(RedFlag, visible_red_flags, can_view_red_flag)
