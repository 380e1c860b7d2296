"""Indicator trees (指标体系): weights that add up, leaf kinds, output bands, the default template."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

TOTAL = Decimal(100)
TWO = Decimal("0.01")


class LeafKind(str, enum.Enum):
    EVALUATOR = "evaluator"        # scored by evaluators
    OUTPUT = "output"              # computed from the service logs against a target, by bands
    SATISFACTION = "satisfaction"  # computed from a satisfaction survey


@dataclass
class Indicator:
    key: str
    name: str
    weight: Decimal
    kind: LeafKind | None = None          # leaves only
    guide: str = ""
    target: str | None = None             # for output leaves: which contract target it measures
    children: list[Indicator] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def leaves(self) -> list[Indicator]:
        if self.is_leaf:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]


# The contract targets the service logs measure (results.PROGRESS_OF_TARGET says by which figure).
OUTPUT_TARGETS = ("target_cases", "target_groups", "target_group_sessions", "target_events", "target_person_times",
                  "target_people", "target_service_hours")


class TreeError(ValueError):
    """What is wrong with a tree, in words an administrator can act on (English; the view translates)."""


def depth(node: Indicator) -> int:
    return 1 if node.is_leaf else 1 + max(depth(c) for c in node.children)


def validate(top: list[Indicator]) -> None:
    """Two or three levels; top weights add up to 100 and each node's children to its own weight;
    every leaf has a kind, and an output leaf names the target it measures."""
    if not top:
        raise TreeError("the template has no indicators")
    total = sum((n.weight for n in top), Decimal(0))
    if total != TOTAL:
        raise TreeError(f"the first-level weights add up to {total}, not 100")
    keys: set[str] = set()
    for node in top:
        levels = depth(node)
        if levels < 2 or levels > 3:
            raise TreeError(f"{node.name}: a template has two or three levels")
        _check(node, keys)


def _check(node: Indicator, keys: set[str]) -> None:
    if node.key in keys:
        raise TreeError(f"{node.name}: the key {node.key} is used twice")
    keys.add(node.key)
    if node.weight <= 0:
        raise TreeError(f"{node.name}: a weight must be above zero")
    if node.is_leaf:
        if node.kind is None:
            raise TreeError(f"{node.name}: a leaf must say how it is scored")
        # A target the logs cannot measure would only fail when scoring opens.
        if node.kind == LeafKind.OUTPUT and node.target not in OUTPUT_TARGETS:
            raise TreeError(f"{node.name}: an output indicator must name the target it measures")
        return
    if node.kind is not None:
        raise TreeError(f"{node.name}: only leaves are scored")
    children = sum((c.weight for c in node.children), Decimal(0))
    if children != node.weight:
        raise TreeError(f"{node.name}: the sub-indicators add up to {children}, not {node.weight}")
    for child in node.children:
        _check(child, keys)


# Output bands: (lower bound of actual/target, share of the leaf's full marks). Checked from the top.
DEFAULT_BANDS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("1.00"), Decimal(1)),
    (Decimal("0.80"), Decimal(2) / Decimal(3)),
    (Decimal("0.60"), Decimal(1) / Decimal(3)),
    (Decimal("0.00"), Decimal(0)),
)


def validate_bands(bands) -> None:
    bounds = [lower for lower, _share in bands]
    if not bands or bounds != sorted(bounds, reverse=True) or len(set(bounds)) != len(bounds):
        raise TreeError("bands are listed from the highest threshold down, each threshold once")
    if bounds[-1] != 0:
        raise TreeError("the last band starts at 0 % so every result falls in a band")
    shares = [share for _lower, share in bands]
    if any(s < 0 or s > 1 for s in shares) or shares != sorted(shares, reverse=True):
        raise TreeError("band shares run from at most full marks down to at least nothing")


def band_points(actual, target, full, bands=DEFAULT_BANDS) -> Decimal:
    """Points of an output leaf: the band of actual/target decides the share of full marks.

    A target of zero means nothing was asked: full marks.
    """
    full = Decimal(full)
    target = Decimal(target)
    if target <= 0:
        return full.quantize(TWO)
    ratio = Decimal(actual) / target
    for lower, share in bands:
        if ratio >= lower:
            return (full * share).quantize(TWO, rounding=ROUND_HALF_UP)
    return Decimal(0).quantize(TWO)


def satisfaction_points(satisfied: int, surveyed: int, target_percent, full, bands=DEFAULT_BANDS) -> Decimal:
    """Satisfaction leaf: the rate against the target rate, scored by the same bands."""
    if surveyed <= 0:
        return Decimal(0).quantize(TWO)
    rate = Decimal(satisfied) * 100 / Decimal(surveyed)
    return band_points(rate, Decimal(target_percent or 100), full, bands)


def _leaf(key, name, weight, kind, guide="", target=None):
    return Indicator(key, name, Decimal(weight), LeafKind(kind), guide, target)


def default_template() -> list[Indicator]:
    """The template that ships with svcproc: management 20, output 30, outcome 25, satisfaction 15,
    finance 10, with second-level indicators as district evaluations commonly use them."""
    return [
        Indicator("management", "项目管理", Decimal(20), children=[
            _leaf("management.plan", "项目方案与执行计划", 5, "evaluator", "需求评估充分，目标与活动设计对应，按计划推进"),
            _leaf("management.team", "团队配置与督导", 5, "evaluator", "持证社工比例、人员稳定、督导频次与记录"),
            _leaf("management.records", "服务台账与档案管理", 5, "evaluator", "台账完整、及时、真实，档案规范"),
            _leaf("management.risk", "制度建设与风险管理", 5, "evaluator", "安全预案、个人信息保护、投诉处理"),
        ]),
        Indicator("output", "服务产出", Decimal(30), children=[
            _leaf("output.cases", "个案服务数量", 6, "output", target="target_cases"),
            _leaf("output.groups", "小组活动节数", 6, "output", target="target_group_sessions"),
            _leaf("output.events", "社区活动场次", 6, "output", target="target_events"),
            _leaf("output.person_times", "服务人次", 6, "output", target="target_person_times"),
            _leaf("output.people", "服务人数", 6, "output", target="target_people"),
        ]),
        Indicator("outcome", "服务成效", Decimal(25), children=[
            _leaf("outcome.needs", "服务对象需求改善", 10, "evaluator", "个案目标达成、前后测变化"),
            _leaf("outcome.community", "社区参与与互助网络", 8, "evaluator", "志愿者培育、居民自组织、微议事成果"),
            _leaf("outcome.resources", "资源链接与社会影响", 7, "evaluator", "链接资源数量与价值、宣传报道"),
        ]),
        Indicator("satisfaction", "满意度", Decimal(15), children=[
            _leaf("satisfaction.beneficiaries", "服务对象满意度", 10, "satisfaction"),
            _leaf("satisfaction.community", "社区及相关方满意度", 5, "evaluator", "社区居委会、街道的评价"),
        ]),
        Indicator("finance", "财务管理", Decimal(10), children=[
            _leaf("finance.budget", "预算执行", 5, "evaluator", "资金使用进度与预算相符"),
            _leaf("finance.compliance", "财务合规", 5, "evaluator", "专款专用、票据合规、无违规支出"),
        ]),
    ]
