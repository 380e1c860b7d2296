"""Password hashing (Argon2id) and the password rules."""
from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from ..core.errors import ValidationError

_hasher = PasswordHasher()
MIN_LENGTH = 12

# Passwords people choose first, and the words they decorate with digits and symbols
# ("Password12", "Qwerty2026!", "woaini1314"): refused however they are capitalised or spelt
# with 0 for o, 1 for i, @ for a, $ for s, 3 for e.
COMMON = frozenset("""
password passwort passwd pass admin administrator root user guest login welcome hello letmein
qwerty qwertyuiop asdf asdfgh asdfghjkl zxcvbn zxcvbnm qazwsx qwe qweasd abc abcd abcde abcdef
iloveyou love secret master dragon monkey sunshine princess football baseball superman batman
shadow trustno changeme default test tester testing demo temp system server manager svcproc
woaini woaiwojia aini nihao zhongguo china beijing shanghai chengdu wuhou mingzheng minzheng
shegong shehui shequ social worker bureau
""".split())
_LEET = str.maketrans({"0": "o", "1": "i", "!": "i", "@": "a", "$": "s", "3": "e", "4": "a", "5": "s", "7": "t"})
_RUNS = ("0123456789", "9876543210", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm",
         "1qaz2wsx3edc4rfv", "1q2w3e4r5t6y")


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
    if is_common(password):
        raise ValidationError(_("This password is among the first ones people try: choose one less common."),
                              "password")


def is_common(password: str) -> bool:
    """A common password, or a common word with digits and symbols before or after it, or a run
    of neighbouring keys or characters, or one character repeated."""
    lowered = password.lower()
    core = lowered.strip(string.digits + string.punctuation + " ")
    words = {core, core.translate(_LEET), lowered.translate(_LEET).strip(string.digits + string.punctuation + " ")}
    if words & COMMON or not core:
        return True
    compact = "".join(ch for ch in lowered if ch.isalnum())
    if len(set(compact)) <= 2:
        return True
    return any(compact in run or run.startswith(compact) for run in _RUNS) or any(
        compact.startswith(run[:8]) and len(compact) - 8 <= 4 for run in _RUNS)


def generate_password() -> str:
    """A random password that passes the rules, for demo users and resets."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(14))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
