"""From scores to a result: the mean per leaf within a party, weighted across parties, summed up
the tree, and the grade. Every number comes from a score, a log figure or a survey.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .tree import Indicator, LeafKind

TWO = Decimal("0.01")
GRADES = ((Decimal(90), "excellent"), (Decimal(80), "good"), (Decimal(60), "pass"), (Decimal(0), "fail"))


def q2(value: Decimal) -> Decimal:
    return value.quantize(TWO, rounding=ROUND_HALF_UP)


def grade(total: Decimal) -> str:
    """≥ 90 excellent, 80–89 good, 60–79 pass, below 60 fail."""
    for lower, name in GRADES:
        if total >= lower:
            return name
    return "fail"


@dataclass
class Result:
    leaves: dict[str, Decimal]                       # final points per leaf
    by_party: dict[str, dict[str, Decimal]]          # party -> leaf -> mean of its evaluators
    nodes: dict[str, Decimal] = field(default_factory=dict)  # every node, leaves included
    total: Decimal = Decimal(0)
    grade: str = "fail"


def aggregate(top: list[Indicator], party_weights: dict[str, Decimal],
              evaluator_scores: dict[str, dict[str, dict[str, Decimal]]],
              computed: dict[str, Decimal]) -> Result:
    """
    party_weights: party -> weight (e.g. third party 70, bureau 20, community 10).
    evaluator_scores: party -> evaluator -> leaf key -> points, for evaluator-scored leaves.
    computed: leaf key -> points for output and satisfaction leaves (frozen when scoring opened).

    A party's leaf score is the mean over its evaluators, however many it has; parties are
    weighted by their weights, re-normalised over the parties that scored the leaf.
    """
    leaves = [leaf for node in top for leaf in node.leaves()]
    by_party: dict[str, dict[str, Decimal]] = {}
    for party, evaluators in evaluator_scores.items():
        means = {}
        for leaf in leaves:
            if leaf.kind != LeafKind.EVALUATOR:
                continue
            given = [Decimal(scores[leaf.key]) for scores in evaluators.values() if leaf.key in scores]
            if given:
                means[leaf.key] = sum(given, Decimal(0)) / len(given)
        by_party[party] = means
    final: dict[str, Decimal] = {}
    for leaf in leaves:
        if leaf.kind != LeafKind.EVALUATOR:
            final[leaf.key] = q2(Decimal(computed.get(leaf.key, 0)))
            continue
        weighted, weights = Decimal(0), Decimal(0)
        for party, weight in party_weights.items():
            if leaf.key in by_party.get(party, {}):
                weighted += Decimal(weight) * by_party[party][leaf.key]
                weights += Decimal(weight)
        final[leaf.key] = q2(weighted / weights) if weights else Decimal(0).quantize(TWO)
    result = Result(leaves=final, by_party={p: {k: q2(v) for k, v in m.items()} for p, m in by_party.items()})

    def total_of(node: Indicator) -> Decimal:
        value = final[node.key] if node.is_leaf else sum((total_of(c) for c in node.children), Decimal(0))
        result.nodes[node.key] = value
        return value

    result.total = q2(sum((total_of(node) for node in top), Decimal(0)))
    result.grade = grade(result.total)
    return result
