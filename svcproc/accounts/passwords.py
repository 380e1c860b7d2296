"""Password hashing (Argon2id) and the password rules."""
from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from ..core.errors import ValidationError

_hasher = PasswordHasher()
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


# A hash of a random password, verified against when the username is unknown so a failed
# login takes as long whether or not the account exists.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def burn_time(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def check_strength(password: str, username: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationError(_("The password must have at least %(n)d characters.", n=MIN_LENGTH), "password")
    kinds = sum(
        any(ch in group for ch in password)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    ) + (1 if any(not ch.isalnum() for ch in password) else 0)
    if kinds < 2:
        raise ValidationError(
            _("The password must mix at least two of: lower-case letters, capitals, digits, symbols."),
            "password",
        )
    if username and username.lower() in password.lower():
        raise ValidationError(_("The password must not contain the user name."), "password")


def generate_password() -> str:
    """A random password that passes the rules, for demo users and resets."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(14))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
