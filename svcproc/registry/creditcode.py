"""Unified social credit codes (统一社会信用代码), GB 32100-2015."""
from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, ...
ORG_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]  # GB 11714 organization code, positions 9-17

# Character 1 is the registration authority, character 2 the kind of organization it registers;
# GB 32100-2015 appendix A lists the pairs (and the later additions: A military, N agriculture).
ORGANIZATION_TYPES = {
    "1": "1239",    # institutional establishment: organs, public institutions, mass organizations, other
    "2": "19",      # foreign affairs: resident foreign press, other
    "3": "123459",  # justice: law firms, notaries, legal service offices, forensic institutes, arbitration, other
    "4": "19",      # culture: foreign cultural centres, other
    "5": "1239",    # civil affairs: social groups, social service agencies, foundations, other
    "6": "129",     # tourism: foreign and Hong Kong, Macao, Taiwan tourism offices, other
    "7": "129",     # religion: places of religious activity, religious schools, other
    "8": "19",      # trade unions: grassroots unions, other
    "9": "123",     # industry and commerce: enterprises, individual businesses, farmers' cooperatives
    "A": "19",      # military: military public institutions, other
    "N": "1239",    # agriculture: group, village and township collective economic organizations, other
    "Y": "1",       # other registration authorities: one kind
}
# The first two digits of an administrative division code (GB/T 2260): the provinces, and 10 for
# the authorities registering at national level (100000).
PROVINCES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
                       "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
                       "65", "71", "81", "82"})


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


def is_division(division: str) -> bool:
    """Six digits naming a province (or 100000, national level), then a prefecture and county part
    (00 where the authority sits at the level above)."""
    if len(division) != 6 or not division.isdigit():
        return False
    if division[:2] == "10":
        return division == "100000"
    return division[:2] in PROVINCES and not (division[2:4] == "00" and division[4:] != "00")


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
    if code[0] not in ORGANIZATION_TYPES:
        raise CreditCodeError("authority")
    if code[1] not in ORGANIZATION_TYPES[code[0]]:
        raise CreditCodeError("org_type")
    if not is_division(code[2:8]):
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
