"""Unified social credit codes (统一社会信用代码), GB 32100-2015."""
from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, ...
ORG_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]  # GB 11714 organization code, positions 9-17


class CreditCodeError(ValueError):
    """Why a code is not valid; `reason` is a stable key the form translates."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_character(first17: str) -> str:
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def _org_code_check(first8: str) -> str:
    total = sum(int(ch, 36) * w for ch, w in zip(first8, ORG_CODE_WEIGHTS))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def normalise(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "")


def validate(code: str) -> str:
    """Return the normalised code or raise CreditCodeError with the reason."""
    code = normalise(code)
    if len(code) != 18:
        raise CreditCodeError("length")
    bad = [ch for ch in code if ch not in CHARSET]
    if bad:
        raise CreditCodeError("charset")
    if not code[2:8].isdigit():
        raise CreditCodeError("division")
    if _org_code_check(code[8:16]) != code[16]:
        raise CreditCodeError("org_code")
    if check_character(code[:17]) != code[17]:
        raise CreditCodeError("check")
    return code


def make(prefix2: str, division: str, org_code8: str) -> str:
    """Build a valid code from its parts (used by the demo and the tests)."""
    body = prefix2 + division + org_code8 + _org_code_check(org_code8)
    return body + check_character(body)
