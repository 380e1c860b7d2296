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
from .models import User

USER_FIELDS = ("username", "full_name", "email", "role", "organization_id", "active", "locale")


class LoginRefused(DomainError):
    status_code = 422


def _lock_settings() -> tuple[int, int]:
    cfg = current_app.config
    return cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_LOCK_MINUTES"]


def authenticate(username: str, password: str) -> User:
    """Check a login. Failures are counted and audited; too many lock the account for a while."""
    username = (username or "").strip()
    user = db.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    now = clock.now()
    wrong = _("Wrong user name or password.")
    if user is None:
        passwords.burn_time(password)
        record("auth.login_failed", actor_name=username[:80], object_type="user",
               changes={"reason": "unknown_user"})
        raise LoginRefused(wrong)
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        record("auth.login_refused_locked", actor=user, obj=user)
        raise LoginRefused(
            _("This account is locked after repeated failed logins. Try again in %(m)d minutes.", m=minutes)
        )
    if not passwords.verify_password(user.password_hash, password):
        max_failures, lock_minutes = _lock_settings()
        # Counted by the database, so failures at the same moment all count.
        failures = _bookkeeping(user, failed_logins=User.failed_logins + 1).failed_logins
        if failures >= max_failures:
            _bookkeeping(user, locked_until=now + timedelta(minutes=lock_minutes), failed_logins=0)
            record("auth.locked", actor=user, obj=user,
                   changes={"locked_until": [None, user.locked_until]})
            raise LoginRefused(
                _("Too many failed logins: this account is locked for %(m)d minutes.", m=lock_minutes)
            )
        record("auth.login_failed", actor=user, obj=user, changes={"failed_logins": [None, failures]})
        raise LoginRefused(wrong)
    if not user.active:
        record("auth.login_refused_inactive", actor=user, obj=user)
        raise LoginRefused(_("This account has been deactivated."))
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
    db.session.flush()
    record("user.password_reset", actor=actor, obj=user)
    return password


def set_locale(user: User, locale: str) -> None:
    if user.locale != locale:
        before = user.locale
        user.locale = locale
        db.session.flush()
        record("user.locale_changed", actor=user, obj=user, changes={"locale": [before, locale]})
