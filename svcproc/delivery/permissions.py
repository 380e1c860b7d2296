"""Who sees beneficiaries and service logs, who records them, who may reveal an identity number."""
from __future__ import annotations

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
