"""Identity numbers (居民身份证号, GB 11643) and phones: validation, masking, sealing, matching.

A number is stored only encrypted; a keyed hash (HMAC with a key outside the database) lets the
same person be recognised in any organization's register without anyone reading the number.
"""
from __future__ import annotations

import re
from datetime import date

from ..core import crypto

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
SEAL_PURPOSE = "identity-number"
PHONE_PURPOSE = "phone-number"
MATCH_PURPOSE = "identity-match"


class IdentityNumberError(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def normalise(number: str) -> str:
    return (number or "").strip().upper().replace(" ", "")


def check_character(first17: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def birth_date(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def validate(number: str) -> str:
    """The normalised 18-character number, or IdentityNumberError saying what is wrong."""
    number = normalise(number)
    if len(number) != 18:
        raise IdentityNumberError("length")
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise IdentityNumberError("charset")
    try:
        born = birth_date(number)
    except ValueError:
        raise IdentityNumberError("birth_date") from None
    if born.year < 1900 or born > date.today():
        raise IdentityNumberError("birth_date")
    if check_character(number[:17]) != number[17]:
        raise IdentityNumberError("check")
    return number


def make(first17: str) -> str:
    """A valid number from its first 17 digits (demo data and tests)."""
    return first17 + check_character(first17)


def mask(number: str) -> str:
    """First 3 and last 4 visible: 510***********123X."""
    if not number:
        return ""
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_phone(phone: str) -> str:
    digits = (phone or "").strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def match_key(number: str) -> str:
    return crypto.keyed_hash(MATCH_PURPOSE, normalise(number))


def seal_number(number: str) -> bytes:
    return crypto.encrypt(SEAL_PURPOSE, normalise(number).encode())


def unseal_number(sealed: bytes) -> str:
    return crypto.decrypt(SEAL_PURPOSE, sealed).decode()


def seal_phone(phone: str) -> bytes:
    return crypto.encrypt(PHONE_PURPOSE, phone.strip().encode())


def unseal_phone(sealed: bytes) -> str:
    return crypto.decrypt(PHONE_PURPOSE, sealed).decode()
