"""Where a round's numbers come from: computed leaves frozen from the service logs and the surveys,
and the result aggregated from the submitted scores of evaluators without a conflict."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .aggregate import Result, aggregate
from .indicators import bands_of, leaves_of, tree_of
from .tree import LeafKind, band_points, satisfaction_points

# Which figure of the service logs measures which contract target.
PROGRESS_OF_TARGET = {
    "target_cases": "cases",
    "target_groups": "groups",
    "target_group_sessions": "group_sessions",
    "target_events": "events",
    "target_person_times": "person_times",
    "target_people": "people",
    "target_service_hours": "hours",
}
OUTPUT_TARGETS = tuple(PROGRESS_OF_TARGET)


def compute_leaves(round_) -> dict:
    """Points of every output and satisfaction leaf, with the figures they come from."""
    from ..delivery.progress import compute

    contract = round_.contract
    progress = compute(contract.id)
    bands = bands_of(round_.template_version)
    share = Decimal(round_.target_percent) / 100
    computed: dict[str, dict] = {}
    for leaf in leaves_of(round_.template_version):
        if leaf.kind == LeafKind.OUTPUT:
            actual = Decimal(str(getattr(progress, PROGRESS_OF_TARGET[leaf.target])))
            full_target = Decimal(getattr(contract, leaf.target) or 0)
            target = (full_target * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            points = band_points(actual, target, leaf.weight, bands)
            computed[leaf.key] = {"kind": "output", "target_field": leaf.target, "actual": str(actual),
                                  "contract_target": str(full_target), "target": str(target),
                                  "percent": str(round_.target_percent),
                                  "ratio": str((actual / target * 100).quantize(Decimal("0.1"))) if target else None,
                                  "activities": progress.activities, "full": str(leaf.weight), "points": str(points)}
        elif leaf.kind == LeafKind.SATISFACTION:
            surveys = [s for s in round_.surveys if s.leaf_key == leaf.key]
            surveyed = sum(s.surveyed for s in surveys)
            satisfied = sum(s.satisfied for s in surveys)
            target_rate = contract.target_satisfaction or 100
            points = satisfaction_points(satisfied, surveyed, target_rate, leaf.weight, bands)
            rate = (Decimal(satisfied) * 100 / surveyed).quantize(Decimal("0.1")) if surveyed else None
            computed[leaf.key] = {"kind": "satisfaction", "surveyed": surveyed, "satisfied": satisfied,
                                  "rate": str(rate) if rate is not None else None, "target_rate": str(target_rate),
                                  "groups": [[s.group_name, s.satisfied, s.surveyed] for s in surveys],
                                  "full": str(leaf.weight), "points": str(points)}
    return computed


def submitted_scores(round_) -> dict[str, dict[str, dict[str, Decimal]]]:
    """party name -> evaluator username -> leaf key -> points, from submitted evaluators only."""
    scores: dict[str, dict[str, dict[str, Decimal]]] = {}
    for member in round_.evaluators:
        if member.conflicted or member.submitted_at is None:
            continue
        scores.setdefault(member.party.name, {})[member.user.username] = {
            s.leaf_key: Decimal(s.points) for s in member.scores}
    return scores


def round_result(round_) -> Result:
    top = tree_of(round_.template_version.indicators)
    party_weights = {p.name: Decimal(p.weight) for p in round_.parties}
    computed = {k: Decimal(v["points"]) for k, v in (round_.computed or {}).items()}
    return aggregate(top, party_weights, submitted_scores(round_), computed)


def first_level(round_) -> list[tuple[str, str, Decimal, Decimal]]:
    """(key, name, weight, points) of each first-level indicator of a finalized round."""
    nodes = (round_.result or {}).get("nodes", {})
    return [(node.key, node.name, node.weight, Decimal(nodes.get(node.key, "0")))
            for node in tree_of(round_.template_version.indicators)]


__all__ = ["compute_leaves", "round_result", "submitted_scores", "first_level", "OUTPUT_TARGETS", "bands_of"]
