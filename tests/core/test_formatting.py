"""The templates' number filters: scores and weights without trailing zeros, money in fen as yuan."""
from decimal import Decimal

import pytest

from svcproc.core.formatting import money, points


@pytest.mark.parametrize(("value", "written"), [
    (Decimal("30.00"), "30"),
    (Decimal("12.50"), "12.5"),
    (Decimal("0.25"), "0.25"),
    (Decimal("100.000"), "100"),
    (Decimal("1E+2"), "100"),
    (Decimal("0.00"), "0"),
    (12.5, "12.5"),
    (0.1, "0.1"),
    (3, "3"),
    ("7.50", "7.5"),
    (None, ""),
    ("", ""),
])
def test_points_are_written_without_trailing_zeros_whatever_type_holds_them(value, written):
    assert points(value) == written


@pytest.mark.parametrize(("fen", "written"), [
    (0, "¥0.00"), (5, "¥0.05"), (123456, "¥1,234.56"), (-250, "-¥2.50"), (None, ""),
])
def test_money_in_fen_is_written_as_yuan(fen, written):
    assert money(fen) == written
