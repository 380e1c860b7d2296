"""Jinja filters: money in fen as ¥1,234.56, times in Asia/Shanghai, masked personal data."""
from __future__ import annotations

from datetime import datetime

from . import clock


def money(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


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


def init_app(app) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.filters["mask_phone"] = mask_phone
