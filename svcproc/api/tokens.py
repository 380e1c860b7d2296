"""Creating, revoking and checking personal access tokens; every use is audited (at most hourly)."""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask_babel import gettext as _

from ..audit.services import record
from ..core import clock
from ..core.errors import PermissionDenied, ValidationError
from ..core.clock import LOCAL_TZ
from ..extensions import db
from .models import SCOPES, ApiToken

PREFIX = "svp_"
# A use is written to the audit trail once an hour per token (with last_used_at): an event per
# request would bury the trail; every write the token makes is audited by its own workflow anyway.
USE_AUDIT_INTERVAL = timedelta(hours=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(actor, name: str, scopes: list[str], expires_on: date | None) -> tuple[ApiToken, str]:
    """A new token of `actor`'s; returns it and the secret, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Name the token after where it will be used."), "name")
    scopes = [s for s in SCOPES if s in set(scopes or [])]
    if not scopes:
        raise ValidationError(_("Choose at least one scope."), "scopes")
    now = clock.now()
    expires_at = None
    if expires_on is not None:
        if expires_on <= now.astimezone(LOCAL_TZ).date():
            raise ValidationError(_("The expiry date must be after today."), "expires_on")
        # The token works through the day it names (Asia/Shanghai) and stops at midnight.
        expires_at = datetime.combine(expires_on + timedelta(days=1), time(0), LOCAL_TZ).astimezone(now.tzinfo)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.id, name=name[:100], prefix=secret[:10], token_hash=digest(secret),
                     scopes=scopes, expires_at=expires_at, created_at=now)
    db.session.add(token)
    db.session.flush()
    record("api.token_created", actor=actor, obj=token,
           changes={"name": [None, token.name], "scopes": [None, scopes],
                    "expires_at": [None, expires_at.isoformat() if expires_at else None]})
    return token, secret


def revoke_token(actor, token: ApiToken) -> None:
    if token.user_id != actor.id:
        raise PermissionDenied()
    if token.revoked_at is not None:
        raise ValidationError(_("This token was already revoked."))
    token.revoked_at = clock.now()
    db.session.flush()
    record("api.token_revoked", actor=actor, obj=token, changes={"revoked_at": [None, token.revoked_at.isoformat()]})


def tokens_of(user) -> list[ApiToken]:
    return list(db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                             ApiToken.id.desc())).scalars())


@functools.cache
def _by_hash() -> sa.Select:
    """The token with its owner by the hash bound as `wanted`; made once (every API request asks)."""
    return (sa.select(ApiToken).where(ApiToken.token_hash == sa.bindparam("wanted"))
            .options(joinedload(ApiToken.user)))


def find(secret: str) -> ApiToken | None:
    """The token whose secret this is (looked up by its hash, then compared in constant time)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    wanted = digest(secret)
    token = db.session.execute(_by_hash(), {"wanted": wanted}).scalar_one_or_none()
    if token is None or not hmac.compare_digest(token.token_hash, wanted):
        return None
    return token


def note_use(token: ApiToken, path: str) -> None:
    """Mark the token used; the audit trail hears of it at most once an hour."""
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at >= USE_AUDIT_INTERVAL:
        token.last_used_at = now
        record("api.token_used", actor=token.user, obj=token, changes={"path": [None, path]})


def note_refusal(token: ApiToken, reason: str, path: str) -> None:
    """A known token refused (revoked, expired, without the scope, its account deactivated): in the
    audit trail at most once an hour, like its uses, so a client left running with a revoked token
    does not fill the trail."""
    now = clock.now()
    if token.last_refused_at is None or now - token.last_refused_at >= USE_AUDIT_INTERVAL:
        token.last_refused_at = now
        record("api.token_refused", actor=token.user, obj=token,
               changes={"reason": [None, reason], "path": [None, path]})
