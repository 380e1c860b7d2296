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


# --- register codes ---------------------------------------------------------------------------
# A person's code in an organization's register: FW, the record's number (at least six digits) and a
# check character (ISO 7064 MOD 11-2, as in identity numbers), so that a mistyped digit or two
# swapped digits are caught instead of naming someone else. Ledgers name people by it when the full
# identity number is not at hand (the register shows numbers masked).
REGISTER_PREFIX = "FW"
_REGISTER_CODE = re.compile(r"FW(\d{6,})([\dX])")


def _mod11_2(digits: str) -> str:
    total = 0
    for digit in digits:
        total = (total + int(digit)) * 2 % 11
    return "0123456789X"[(12 - total) % 11]


def register_code(beneficiary_id: int) -> str:
    digits = f"{beneficiary_id:06d}"
    return REGISTER_PREFIX + digits + _mod11_2(digits)


def looks_like_register_code(text: str) -> bool:
    return normalise(text).startswith(REGISTER_PREFIX)


def register_id(code: str) -> int | None:
    """The record number a register code names, or None when it is not a valid code."""
    match = _REGISTER_CODE.fullmatch(normalise(code))
    if match is None or _mod11_2(match.group(1)) != match.group(2):
        return None
    return int(match.group(1))
