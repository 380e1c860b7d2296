"""Login, password changes and account administration; every change is audited."""
from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..audit.services import created, diff, record, snapshot
from ..core import clock
from ..core.errors import DomainError, ValidationError
from ..core.permissions import ORG_ROLES, Role
from ..extensions import db
from ..registry.models import Organization, OrgKind
from . import passwords
from .models import LoginThrottle, User, UserSession

USER_FIELDS = ("username", "full_name", "email", "role", "organization_id", "active", "locale")


class LoginRefused(DomainError):
    status_code = 422


def _lock_settings() -> tuple[int, int]:
    cfg = current_app.config
    return cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_LOCK_MINUTES"]


# Longest lock, however many times a lock was earned (the back-off doubles up to this).
MAX_LOCK_MINUTES = 24 * 60
# An address trying many accounts is held back too: this many failures, across every name it tried.
ADDRESS_FAILURES_FACTOR = 4


def _throttle_keys(username: str, address: str) -> tuple[str, str]:
    return f"account:{username.lower()[:80]}|{address[:64]}", f"address:{address[:64]}"


def _locked(keys: tuple[str, ...], now) -> bool:
    rows = db.session.execute(sa.select(LoginThrottle.locked_until).where(LoginThrottle.key.in_(keys))).scalars()
    return any(until is not None and until > now for until in rows)


def _count_failure(key: str, limit: int, lock_minutes: int, now) -> bool:
    """One more failure for `key`; True when it earns a lock (each lock twice the last, capped)."""
    row = db.session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        try:
            with db.session.begin_nested():  # another attempt at the same moment may insert it first
                row = LoginThrottle(key=key, failures=0, locks=0, updated_at=now)
                db.session.add(row)
        except sa.exc.IntegrityError:
            row = db.session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    row.failures += 1
    row.updated_at = now
    if row.failures < limit:
        return False
    minutes = min(MAX_LOCK_MINUTES, lock_minutes * 2 ** min(row.locks, 16))
    row.locked_until, row.failures, row.locks = now + timedelta(minutes=minutes), 0, row.locks + 1
    return True


def authenticate(username: str, password: str, address: str = "") -> User:
    """Check a login. Every refusal (no such name, wrong password, too many attempts) reads the
    same and takes as long, so names cannot be found out. Failures are counted per account and
    address and per address: a stranger elsewhere cannot lock the account's owner out."""
    username = (username or "").strip()
    user = db.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    now = clock.now()
    refused = _("Wrong user name or password, or too many attempts: check them, or wait a few minutes "
                "and try again.")
    max_failures, lock_minutes = _lock_settings()
    pair_key, address_key = _throttle_keys(username, address)
    if _locked((pair_key, address_key), now):
        passwords.burn_time(password)
        record("auth.login_refused_locked", actor=user, actor_name=username[:80], object_type="user",
               obj=user, changes={"address": address[:64]})
        raise LoginRefused(refused)
    if user is None or not passwords.verify_password(user.password_hash, password):
        if user is None:
            passwords.burn_time(password)
        locked = _count_failure(pair_key, max_failures, lock_minutes, now)
        locked = _count_failure(address_key, max_failures * ADDRESS_FAILURES_FACTOR, lock_minutes, now) or locked
        if user is None:
            record("auth.login_failed", actor_name=username[:80], object_type="user",
                   changes={"reason": "unknown_user", "address": address[:64]})
        else:
            failures = _bookkeeping(user, failed_logins=User.failed_logins + 1).failed_logins
            record("auth.login_failed", actor=user, obj=user,
                   changes={"failed_logins": [None, failures], "address": address[:64]})
        if locked:
            record("auth.locked", actor=user, actor_name=username[:80], obj=user, object_type="user",
                   changes={"address": address[:64]})
        raise LoginRefused(refused)
    if not user.active:
        record("auth.login_refused_inactive", actor=user, obj=user)
        raise LoginRefused(_("This account has been deactivated."))
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == pair_key))
    values = dict(failed_logins=0, locked_until=None, last_login_at=now)
    if passwords.needs_rehash(user.password_hash):
        values["password_hash"] = passwords.hash_password(password)
    if not user.session_token:
        # Given once: a second login at the same moment keeps the token the first one set.
        values["session_token"] = sa.case((User.session_token == "", secrets.token_hex(8)),
                                          else_=User.session_token)
    _bookkeeping(user, **values)
    record("auth.login", actor=user, obj=user)
    return user


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def open_session(user: User, address: str = "") -> str:
    """A new server-side session for a login; its id goes into the signed cookie."""
    session_id = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=session_id, user_id=user.id, created_at=clock.now(), address=address[:64]))
    db.session.flush()
    return session_id


def end_session(session_id: str | None) -> None:
    if session_id:
        db.session.execute(sa.delete(UserSession).where(UserSession.id == session_id))


def end_all_sessions(user: User, keep: str | None = None) -> None:
    """Every session of the account ends (a password changed or reset, the account deactivated)."""
    stmt = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        stmt = stmt.where(UserSession.id != keep)
    db.session.execute(stmt)


def _bookkeeping(user: User, **values) -> User:
    """Login bookkeeping written straight to the row: it is no edit of the account, so it neither
    bumps the account's version nor fails when the same person logs in twice at once."""
    db.session.execute(sa.update(User).where(User.id == user.id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.refresh(user, ["failed_logins", "locked_until", "last_login_at", "password_hash", "session_token"])
    return user


def record_logout(user: User) -> None:
    record("auth.logout", actor=user, obj=user)


def change_password(user: User, current: str, new: str) -> None:
    if not passwords.verify_password(user.password_hash, current):
        raise ValidationError(_("The current password is wrong."), "current_password")
    if current == new:
        raise ValidationError(_("The new password must differ from the current one."), "new_password")
    passwords.check_strength(new, user.username)
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.session_token = secrets.token_hex(8)
    record("auth.password_changed", actor=user, obj=user)


def _check_role_org(role: Role, organization: Organization | None) -> None:
    if role in ORG_ROLES:
        if organization is None:
            raise ValidationError(_("Organization managers and social workers must belong to an organization."),
                                  "organization_id")
        if organization.kind != OrgKind.SERVICE:
            raise ValidationError(_("Organization managers and social workers belong to a social work organization."),
                                  "organization_id")
    elif role == Role.EVALUATOR:
        if organization is not None and organization.kind != OrgKind.EVALUATION:
            raise ValidationError(_("An evaluator can only belong to an evaluation organization."),
                                  "organization_id")
    elif organization is not None:
        raise ValidationError(_("Only organization staff and evaluators belong to an organization."),
                              "organization_id")


def _username_taken(username: str, exclude_id: int | None = None) -> bool:
    stmt = sa.select(User.id).where(sa.func.lower(User.username) == username.lower())
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.execute(stmt).first() is not None


def create_user(actor, *, username: str, role: Role, password: str, full_name: str = "",
                email: str = "", organization: Organization | None = None,
                must_change_password: bool = True) -> User:
    username = username.strip()
    if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValidationError(_("A user name uses letters, digits, dots, dashes and underscores only."), "username")
    if _username_taken(username):
        raise ValidationError(_("The user name %(u)s is taken.", u=username), "username")
    role = Role(role)
    _check_role_org(role, organization)
    passwords.check_strength(password, username)
    user = User(
        username=username, full_name=full_name, email=email, role=role,
        organization_id=organization.id if organization else None,
        password_hash=passwords.hash_password(password), active=True,
        must_change_password=must_change_password,
        session_token=secrets.token_hex(8), created_at=clock.now(),
    )
    db.session.add(user)
    db.session.flush()
    record("user.created", actor=actor, obj=user, changes=created(user, USER_FIELDS))
    return user


def update_user(actor, user: User, *, full_name: str, email: str, role: Role,
                organization: Organization | None) -> User:
    role = Role(role)
    _check_role_org(role, organization)
    if actor is not None and actor.id == user.id and role != user.role:
        raise DomainError(_("You cannot change your own role."))
    before = snapshot(user, USER_FIELDS)
    user.full_name, user.email, user.role = full_name, email, role
    user.organization_id = organization.id if organization else None
    changes = diff(before, snapshot(user, USER_FIELDS))
    if changes:
        if "role" in changes or "organization_id" in changes:
            user.session_token = secrets.token_hex(8)
        db.session.flush()
        record("user.updated", actor=actor, obj=user, changes=changes)
    return user


def set_user_active(actor, user: User, active: bool) -> None:
    if actor is not None and actor.id == user.id and not active:
        raise DomainError(_("You cannot deactivate your own account."))
    if user.active == active:
        return
    user.active = active
    if not active:
        user.session_token = secrets.token_hex(8)
        end_all_sessions(user)
    db.session.flush()
    record("user.activated" if active else "user.deactivated", actor=actor, obj=user,
           changes={"active": [not active, active]})


def reset_password(actor, user: User) -> str:
    """Give the account a new random password it must change at next login; returns it once."""
    password = passwords.generate_password()
    user.password_hash = passwords.hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    user.session_token = secrets.token_hex(8)
    end_all_sessions(user)
    # Its owner may have locked the account from their own address: a reset lifts that.
    db.session.execute(sa.delete(LoginThrottle).where(
        LoginThrottle.key.like(f"account:{_like_escape(user.username.lower())}|%", escape="\\")))
    db.session.flush()
    record("user.password_reset", actor=actor, obj=user)
    return password


def set_locale(user: User, locale: str) -> None:
    if user.locale != locale:
        before = user.locale
        user.locale = locale
        db.session.flush()
        record("user.locale_changed", actor=user, obj=user, changes={"locale": [before, locale]})
