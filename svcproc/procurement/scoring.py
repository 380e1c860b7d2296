"""The comprehensive scoring method (综合评分法): price score, totals and ranking.

Pure functions over plain numbers so the formula can be checked on its own:
price score = lowest valid price / this bid's price x price weight; total = mean of the experts'
non-price totals + price score; rank by total, ties by lower price, then higher non-price score.
"Price" is the evaluated price: the bid's price less the small and micro enterprise deduction
(procurement/guarantees.py) where it has one; the bid's own price only breaks a tie after it.
Inquiry and competitive negotiation rank by the lowest price among the compliant responses instead
(财政部令第74号): the scores are still shown, but only the price orders the bids.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

TWO = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    return value.quantize(TWO, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class BidInput:
    bid_id: int
    price_fen: int
    expert_totals: tuple[Decimal, ...]   # each expert's sum over the non-price criteria
    submitted_order: int = 0             # last resort for a complete tie: earlier submission first
    evaluated_fen: int | None = None     # the price less a deduction; None: the price itself

    @property
    def compared_fen(self) -> int:
        return self.price_fen if self.evaluated_fen is None else self.evaluated_fen


@dataclass(frozen=True)
class BidResult:
    bid_id: int
    technical: Decimal
    price: Decimal
    total: Decimal
    rank: int


def price_score(lowest_fen: int, price_fen: int, price_weight: Decimal) -> Decimal:
    if price_fen <= 0:
        raise ValueError("a bid price must be positive")
    return q2(Decimal(lowest_fen) / Decimal(price_fen) * Decimal(price_weight))


def rank_bids(bids: list[BidInput], price_weight: Decimal, *, lowest_price: bool = False) -> list[BidResult]:
    if not bids:
        return []
    lowest = min(b.compared_fen for b in bids)
    scored = []
    for b in bids:
        technical = q2(sum(b.expert_totals, Decimal(0)) / len(b.expert_totals)) if b.expert_totals else Decimal(0)
        price = price_score(lowest, b.compared_fen, price_weight)
        scored.append((b, technical, price, q2(technical + price)))
    if lowest_price:
        scored.sort(key=lambda row: (row[0].compared_fen, row[0].price_fen, row[0].submitted_order, row[0].bid_id))
    else:
        scored.sort(key=lambda row: (-row[3], row[0].compared_fen, row[0].price_fen, -row[1], row[0].submitted_order,
                                     row[0].bid_id))
    return [BidResult(b.bid_id, technical, price, total, rank)
            for rank, (b, technical, price, total) in enumerate(scored, start=1)]
