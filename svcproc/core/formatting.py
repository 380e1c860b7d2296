"""Jinja filters: money in fen as ¥1,234.56, times in Asia/Shanghai, masked personal data."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from . import clock


def money(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str | None) -> tuple:
    """Sort key reading runs of digits as numbers: 小组2 before 小组10, 2 before 11."""
    parts = _DIGITS.split((text or "").casefold())
    return tuple((0, int(part), "") if index % 2 else (1, 0, part) for index, part in enumerate(parts))


def local_datetime(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = clock.to_local(moment)
    return local.strftime(fmt) if local else ""


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 7:
        return digits[:1] + "*" * (len(digits) - 1)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str:
    """The family name only: 王阿姨 -> 王**."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def points(value) -> str:
    """Scores and weights without trailing zeros: 30.00 -> 30, 12.50 -> 12.5. (A summary writes a
    hundred or more: a stored decimal is normalised as it is, without passing through its text.)"""
    if value is None or value == "":
        return ""
    number = value if type(value) is Decimal else Decimal(str(value))
    return format(number.normalize(), "f")


def init_app(app) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["points"] = points
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_name"] = mask_name


def parse_money(text) -> int | None:
    """'12,345.6' or '¥12345.60' (yuan) -> 1234560 fen; None when it is not a plain amount."""
    import re

    if text is None:
        return None
    cleaned = str(text).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").replace(" ", "")
    # Digits with at most two decimals: no signs, exponents ("1e5") or fractions of a fen.
    match = re.fullmatch(r"(\d{1,13})(?:\.(\d{1,2}))?", cleaned)
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def fen_to_yuan_text(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{yuan}.{cents:02d}"


def parse_local_datetime(text):
    """A datetime-local field ('2026-11-21T09:30'), read as Asia/Shanghai time, returned in UTC."""
    from datetime import datetime, timezone

    if not text:
        return None
    try:
        naive = datetime.strptime(str(text).strip()[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    return naive.replace(tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)


def local_input(moment) -> str:
    local = clock.to_local(moment)
    return local.strftime("%Y-%m-%dT%H:%M") if local else ""
