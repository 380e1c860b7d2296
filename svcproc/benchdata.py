"""A district-sized data set for benchmarks, written straight into the tables (COPY on PostgreSQL,
bulk inserts on SQLite) rather than played through the workflows, so a real district's few years
load in minutes.

What it holds: several fiscal years of plans, tenders (bids, panels, scores) and contracts;
organizations of very different sizes (one holds a third of the contracts); contracts of up to
`max_entries` service entries with groups, cases, workers and participants; beneficiaries, some
registered with more than one organization; milestones and payments; the red flags an auditor
would find (overlaps, long days, duplicates, entries outside the period, people counted twice);
evaluation rounds with scores, results, findings and rectification; community needs; ledger
imports; and an audit trail whose hash chain verifies. Everything is drawn from one seeded
random generator, so the same scale gives the same district (dates follow the day it is made).
"""
from __future__ import annotations

import hashlib
import json
import random
import time as timer
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

import sqlalchemy as sa

from .audit.services import GENESIS, compute_hash, jsonable
from .core import clock, storage
from .extensions import db


@dataclass(frozen=True)
class Scale:
    contracts: int
    entries: int
    beneficiaries: int
    organizations: int
    years: int
    max_entries: int
    workers: int
    needs: int


SCALES = {
    # make bench: a district in miniature, loaded in well under a minute.
    "small": Scale(contracts=80, entries=40_000, beneficiaries=8_000, organizations=12, years=3, max_entries=3_000,
                   workers=120, needs=400),
    # One real district after a few years.
    "district": Scale(contracts=2_000, entries=1_000_000, beneficiaries=200_000, organizations=60, years=4,
                      max_entries=6_000, workers=1_500, needs=5_000),
}

# The largest organization: it holds a third of the contracts; the benchmark logins work for it.
LARGEST_ORG = "锦城社会工作服务中心"
BENCH_USERS = ("bench-admin", "bench-procurement", "bench-auditor", "bench-expert", "bench-evaluator",
               "bench-manager", "bench-worker")
BENCH_PASSWORD = "bench-Password-2026"
UTC = timezone.utc
DAY = timedelta(days=1)
# Time slots of a working day: (start minute, length in minutes). A worker takes at most one per day
# and slot unless an overlap is planted on purpose, and at most eight 1.5-hour slots stay under 12 h.
SLOTS = tuple((8 * 60 + 90 * i, 90) for i in range(8))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红梅建国建华文华志强淑珍凤英秀珍丽娟海燕桂兰子涵欣怡浩然梓轩雨桐一诺思远嘉怡俊杰晓东玉梅德华永红"
STREETS = ("玉林", "华兴", "望江路", "簇桥", "晋阳", "红牌楼", "金花桥", "机投桥", "火车南站", "浆洗街", "双楠",
           "永丰", "跳伞塔", "石羊")
CATEGORIES = ("elderly", "children", "disability", "low_income", "family", "youth", "community_building")
CATEGORY_WORDS = {"elderly": "居家养老", "children": "儿童关爱", "disability": "助残", "low_income": "困难群众帮扶",
                  "family": "家庭支持", "youth": "青少年成长", "community_building": "社区营造"}
PERSON_CATEGORIES = ("elderly_alone", "left_behind_child", "disability", "low_income", "veteran", "single_parent",
                     "youth_at_risk", "other")
# (type, share of entries): about 2.7 named participants and 1.2 workers an entry, as districts log.
ACTIVITY_MIX = (("case_work", 0.42), ("group_session", 0.20), ("community_event", 0.20), ("deliberation", 0.08),
                ("volunteer_training", 0.10))
PLACES = ("社区活动室", "党群服务中心", "服务对象家中", "社区广场", "日间照料中心", "儿童之家", "会议室")
TOPICS = ("楼道环境整治", "停车位规划", "加装电梯", "垃圾分类", "老旧小区改造", "社区花园", "邻里公约")


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


class Writer:
    """Rows into tables: COPY on PostgreSQL, executemany on SQLite, values converted once."""

    def __init__(self, connection):
        self.raw = connection
        self.dialect = db.engine.dialect.name
        self.counts: dict[str, int] = {}

    def rows(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        n = 0
        if self.dialect == "postgresql":
            cols = ", ".join(columns)
            with self.raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(self._pg(v) for v in row))
                    n += 1
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            cur = self.raw.cursor()
            chunk: list[tuple] = []
            for row in rows:
                chunk.append(tuple(self._sqlite(v) for v in row))
                if len(chunk) >= 5000:
                    cur.executemany(sql, chunk)
                    n += len(chunk)
                    chunk.clear()
            if chunk:
                cur.executemany(sql, chunk)
                n += len(chunk)
            cur.close()
        self.counts[table] = self.counts.get(table, 0) + n
        return n

    @staticmethod
    def _pg(value):
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, datetime) and value.tzinfo is not None:
            return _naive(value)
        return value

    @staticmethod
    def _sqlite(value):
        if value is None or isinstance(value, (int, str, bytes, float)):
            return value
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = _naive(value)
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, time):
            return value.strftime("%H:%M:%S.%f")
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        return value

    def execute(self, sql: str) -> None:
        cur = self.raw.cursor()
        cur.execute(sql)
        cur.close()


class _Event:
    """The fields of an audit event that its hash covers (see audit.services.compute_hash)."""

    __slots__ = ("seq", "occurred_at", "actor_id", "actor_name", "action", "object_type", "object_id", "changes",
                 "client_ip", "prev_hash")


class District:
    """Generates the district's rows table by table; ids are assigned here, in insertion order."""

    def __init__(self, scale: Scale, writer: Writer, seed: int = 20261204, today: date | None = None, log=print):
        self.s = scale
        self.w = writer
        self.rng = random.Random(seed)
        self.today = today or clock.to_local(clock.now()).date()
        self.now = clock.now()
        self.log = log
        self.events: list[tuple] = []      # (occurred_at, actor_id, actor_name, action, type, id, changes)
        self.years = list(range(self.today.year - scale.years + 1, self.today.year + 1))

    # --- helpers ----------------------------------------------------------------------------------

    def _event(self, at: datetime, actor: tuple[int, str] | None, action: str, object_type: str, object_id,
               changes: dict | None = None) -> None:
        actor_id, actor_name = actor or (None, "")
        self.events.append((at, actor_id, actor_name, action, object_type, str(object_id), changes or {}))

    def _name(self) -> str:
        given = self.rng.choice(GIVEN)
        if self.rng.random() < 0.6:
            given += self.rng.choice(GIVEN)[0]
        return self.rng.choice(SURNAMES) + given

    def _local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=clock.LOCAL_TZ).astimezone(UTC)

    def _day_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def _timed(self, label: str, fn) -> None:
        started = timer.perf_counter()
        fn()
        self.log(f"  {label:<34} {timer.perf_counter() - started:6.1f} s")

    # --- the whole district ---------------------------------------------------------------------

    def build(self) -> dict:
        from .accounts import passwords

        self.password_hash = passwords.hash_password(BENCH_PASSWORD)
        for label, step in (("areas and organizations", self.areas_and_organizations),
                            ("users", self.users),
                            ("needs, plans and tenders", self.procurement),
                            ("social workers", self.workers),
                            ("contracts and milestones", self.contracts),
                            ("beneficiaries", self.beneficiaries),
                            ("service entries", self.service_entries),
                            ("red flags", self.red_flags),
                            ("evaluations", self.evaluations),
                            ("audit trail", self.audit_trail)):
            self._timed(label, step)
        return dict(self.w.counts)

    # --- areas, organizations, people with accounts ---------------------------------------------

    def areas_and_organizations(self) -> None:
        from .registry import creditcode

        rows = [(1, "district", "510107", "武侯区", None, 1)]
        self.streets, self.communities = [], []
        next_id = 2
        for i, street in enumerate(STREETS):
            street_id = next_id
            next_id += 1
            rows.append((street_id, "street", f"510107{i + 1:03d}", f"{street}街道", 1, 1))
            self.streets.append(street_id)
            for j in range(8 + i % 4):
                rows.append((next_id, "community", f"510107{i + 1:03d}{j + 1:03d}", f"{street}{'东西南北中新和安'[j % 8]}"
                             f"{'社区' if j < 8 else '二社区'}", street_id, 1))
                self.communities.append((next_id, street_id))
                next_id += 1
        self.w.rows("area", ("id", "level", "code", "name", "parent_id", "version"), rows)
        self.community_names = {r[0]: r[3] for r in rows if r[1] == "community"}

        # Contract shares: the largest organization a third, the rest falling off like a real market.
        n = self.s.organizations
        weights = [1 / (k + 1) ** 0.9 for k in range(n - 1)]
        total = sum(weights)
        self.org_share = [1 / 3] + [(2 / 3) * w / total for w in weights]
        orgs = []
        self.orgs = list(range(1, n + 1))
        self.eval_orgs = list(range(n + 1, n + 5))
        ratings = ("5A", "4A", "4A", "3A", "3A", "3A", "2A", "none")
        for org_id in self.orgs + self.eval_orgs:
            evaluation = org_id in self.eval_orgs
            name = LARGEST_ORG if org_id == 1 else (
                f"{self.rng.choice(STREETS)}{('社会工作服务中心', '社工服务社', '公益服务中心', '社区发展中心')[org_id % 4]}"
                f"{org_id:02d}" if not evaluation else f"蓉城第三方评估中心{org_id - n}")
            code = creditcode.make("52", "510107", f"MJ{org_id:04d}{'ABCDEFGHJK'[org_id % 10]}X"[:8])
            street = self.rng.choice(self.streets)
            orgs.append((org_id, name, code, "evaluation" if evaluation else "service", "social_service_agency",
                         "5A" if org_id == 1 else ratings[org_id % len(ratings)], "active", None, "", street,
                         f"成都市武侯区{name}路{org_id}号", self._name(), f"028-8{org_id:07d}", "", self.now, 1))
        self.w.rows("organization", ("id", "name", "credit_code", "kind", "registration_type", "rating", "status",
                                     "status_changed_at", "status_reason", "area_id", "address", "contact_name",
                                     "contact_phone", "contact_email", "created_at", "version"), orgs)
        self.org_names = {o[0]: o[1] for o in orgs}

    def users(self) -> None:
        users = []
        uid = 0

        def user(username, role, org=None, full_name=None):
            nonlocal uid
            uid += 1
            users.append((uid, username, full_name or self._name(), "", role, org, self.password_hash, True, None,
                          False, 0, None, None, "", self.now, 1))
            return uid

        self.admin = (user("bench-admin", "admin", full_name="系统管理员"), "bench-admin")
        self.procurement_staff = [(user("bench-procurement", "procurement"), "bench-procurement")]
        self.procurement_staff += [(user(f"bench-procurement{i}", "procurement"), f"bench-procurement{i}")
                                   for i in range(2, 7)]
        self.auditor = (user("bench-auditor", "auditor"), "bench-auditor")
        self.experts = [(user("bench-expert" if i == 0 else f"bench-expert{i + 1}", "expert"),
                         "bench-expert" if i == 0 else f"bench-expert{i + 1}") for i in range(40)]
        self.evaluators = [(user("bench-evaluator" if i == 0 else f"bench-evaluator{i + 1}", "evaluator",
                                 self.eval_orgs[i % len(self.eval_orgs)]),
                            "bench-evaluator" if i == 0 else f"bench-evaluator{i + 1}") for i in range(20)]
        self.managers = {}
        for org in self.orgs:
            name = "bench-manager" if org == 1 else f"bench-manager{org}"
            self.managers[org] = (user(name, "org_manager", org), name)

        # Three social workers of each organization have accounts (the largest's first: bench-worker).
        self.worker_accounts = {org: [user("bench-worker" if org == 1 and k == 0 else f"bench-worker{org}-{k + 1}",
                                           "social_worker", org) for k in range(3)] for org in self.orgs}
        self.bench_worker = (self.worker_accounts[1][0], "bench-worker")
        self.w.rows("user_account", ("id", "username", "full_name", "email", "role", "organization_id",
                                     "password_hash", "active", "locale", "must_change_password", "failed_logins",
                                     "locked_until", "last_login_at", "session_token", "created_at", "version"), users)
        for u in users:
            self._event(self.now - timedelta(days=365 * self.s.years + 30), self.admin, "user.created", "user", u[0],
                        {"username": [None, u[1]], "role": [None, u[4]]})

    def workers(self) -> None:
        """Social workers by the work each organization has: about 300 entries a worker a year."""
        sizes = self._entry_counts()
        per_year: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for spec, count in zip(self.contract_specs, sizes):
            spec["entries"] = count
            per_year[spec["org"]][spec["year"]] += count
        self.workers_of: dict[int, list[int]] = {}
        rows = []
        wid = 0
        for org in self.orgs:
            busiest = max(per_year[org].values(), default=0)
            self.workers_of[org] = []
            for k in range(max(6, -(-busiest * 12 // 10 // 300))):
                wid += 1
                account = self.worker_accounts[org][k] if k < 3 else None
                level = ("assistant", "intermediate", "none", "senior")[wid % 4]
                rows.append((wid, self._name(), org, level, f"ZS{wid:08d}" if level != "none" else "",
                             f"13{wid:09d}", True, account, self.now, 1))
                self.workers_of[org].append(wid)
        self.w.rows("social_worker", ("id", "name", "organization_id", "certification_level", "certificate_number",
                                      "phone", "active", "user_id", "created_at", "version"), rows)

    def _entry_counts(self) -> list[int]:
        """Entries per contract: most modest, a few large, one contract of the largest organization
        (running this year) at the maximum; the total is the scale's."""
        rng = self.rng
        sizes = [rng.lognormvariate(0, 0.9) for _ in self.contract_specs]
        total = sum(sizes)
        counts = [max(20, min(self.s.max_entries, round(self.s.entries * x / total))) for x in sizes]
        running = [i for i, c in enumerate(self.contract_specs) if c["org"] == 1 and c["year"] == self.today.year]
        biggest = running[0] if running else 0
        counts[biggest] = self.s.max_entries
        drift = sum(counts) - self.s.entries
        order = sorted((i for i in range(len(counts)) if i != biggest), key=lambda i: -counts[i])
        for _round in range(1000):
            if drift == 0:
                break
            for i in order:
                step = -min(drift, 50, counts[i] - 20) if drift > 0 else min(-drift, 50, self.s.max_entries - counts[i])
                counts[i] += step
                drift += step
                if drift == 0:
                    break
        self.biggest_contract = self.contract_specs[biggest]["id"]
        return counts

    # --- procurement: needs, plans, tenders, bids, panels ---------------------------------------

    def procurement(self) -> None:
        from .procurement import sealing

        rng = self.rng
        n = self.s.contracts
        per_year = [n // len(self.years) + (1 if i < n % len(self.years) else 0) for i in range(len(self.years))]
        # Which organization wins each contract: shares as drawn; the largest holds a third exactly.
        winners = [1] * (n // 3)
        others = rng.choices(self.orgs[1:], weights=self.org_share[1:], k=n - len(winners))
        winners += others
        rng.shuffle(winners)
        self.plans, self.tenders, self.bids, self.contract_specs = [], [], [], []
        plan_rows, plan_communities, tender_rows, criteria, bid_rows, panel, scores = [], [], [], [], [], [], []
        bid_id = crit_id = panel_id = score_id = 0
        k = 0
        for year, count in zip(self.years, per_year):
            for i in range(count):
                k += 1
                org = winners[k - 1]
                category = rng.choice(CATEGORIES)
                communities = rng.sample(self.communities, rng.randint(1, 3))
                street_name = STREETS[self.streets.index(communities[0][1])]
                title = f"{year}年{street_name}街道{CATEGORY_WORDS[category]}社会工作服务项目（{i + 1}）"
                budget = rng.randrange(200_000, 1_200_000, 1000) * 100
                start = date(year, rng.choice((1, 2, 3)), 1)
                end = date(year, 12, 31)
                targets = self._targets(budget)
                created = self._local(date(year - 1, 11, 1) + timedelta(days=rng.randrange(40)), 10)
                staff = rng.choice(self.procurement_staff)
                plan_rows.append((k, year, title, category, budget, f"{title}：回应社区居民需求。", created, staff[0], 1,
                                  *targets))
                plan_communities += [(k, c[0]) for c in communities]
                self._event(created, staff, "plan.created", "plan", k, {"title": [None, title],
                                                                         "budget_fen": [None, budget]})
                # Tender: published, bids, opened, scored, awarded about two months before the start.
                published = self._local(start - timedelta(days=70), 9)
                deadline = published + timedelta(days=21)
                awarded_at = deadline + timedelta(days=12)
                method = rng.choices(("public_tender", "competitive_consultation", "inquiry"), (6, 3, 1))[0]
                price_weight = Decimal(rng.choice((10, 20, 30)))
                tender_rows.append((k, k, f"WHMZ-{year}-{i + 1:04d}", title, method, budget, "none", price_weight,
                                    "", published, deadline - timedelta(days=7), deadline, deadline, 7, "awarded",
                                    awarded_at, "", deadline, deadline + timedelta(days=3), None, 1,
                                    awarded_at - timedelta(days=8), awarded_at, None, awarded_at, created, staff[0], 1))
                weights = [Decimal(40) - price_weight / 2, Decimal(35) - price_weight / 2, Decimal(25)]
                crits = []
                for pos, (cname, weight) in enumerate(zip(("服务方案", "团队与经验", "项目管理与保障"), weights)):
                    crit_id += 1
                    criteria.append((crit_id, k, pos, cname, "", weight))
                    crits.append((crit_id, weight))
                bidders = [org] + rng.sample([o for o in self.orgs if o != org], min(len(self.orgs) - 1,
                                                                                     rng.randint(2, 4)))
                prices = sorted(rng.randrange(int(budget * 0.82), budget, 100) for _ in bidders)
                experts = rng.sample(self.experts, 5)
                tender_bids = []
                for rank, (bidder, price) in enumerate(zip(bidders, prices), start=1):
                    bid_id += 1
                    submitted = deadline - timedelta(hours=rng.randint(2, 200))
                    content = sealing.new_content(price, "本机构承诺符合投标资格。", [])
                    sealed = sealing.seal(content)
                    digest = sealing.digest(k, bidder, submitted.isoformat(), content)
                    tech = Decimal(rng.randint(5400, 6800)) / 100
                    price_score = (Decimal(prices[0]) / price * price_weight).quantize(Decimal("0.01"))
                    bid_rows.append((bid_id, k, bidder, "submitted", submitted, submitted, self.managers[bidder][0], 1,
                                     sealed, digest, f"R{year}{bid_id:07d}", price, True, True, "",
                                     tech, price_score, tech + price_score, rank, 1))
                    tender_bids.append(bid_id)
                    self._event(submitted, self.managers[bidder], "bid.submitted", "bid", bid_id,
                                {"tender_id": [None, k]})
                for expert in experts:
                    panel_id += 1
                    panel.append((panel_id, k, expert[0], published, staff[0], deadline, [], "本人与投标人无利害关系。",
                                  False, deadline + timedelta(hours=3)))
                    for b in tender_bids:
                        for crit, weight in crits:
                            score_id += 1
                            points = (weight * Decimal(rng.randint(70, 98)) / 100).quantize(Decimal("0.5"))
                            scores.append((score_id, panel_id, b, crit, points, "", deadline + timedelta(hours=2)))
                self._event(published, staff, "tender.published", "tender", k, {"status": ["draft", "published"]})
                self._event(deadline, staff, "tender.opened", "tender", k, {"status": ["bidding_closed", "opened"]})
                self._event(awarded_at, staff, "tender.awarded", "tender", k, {"status": ["in_publicity", "awarded"]})
                self.contract_specs.append(dict(id=k, year=year, org=org, title=title, budget=budget, start=start,
                                                end=end, targets=targets, bid=tender_bids[0], price=prices[0],
                                                communities=[c[0] for c in communities], category=category,
                                                signed=awarded_at + timedelta(days=5)))
        plan_cols = ("id", "fiscal_year", "title", "category", "budget_fen", "description", "created_at",
                     "created_by_id", "version", "target_cases", "target_groups", "target_group_sessions",
                     "target_events", "target_person_times", "target_people", "target_service_hours",
                     "target_satisfaction")
        self.w.rows("project_plan", plan_cols, plan_rows)
        self.w.rows("plan_community", ("plan_id", "area_id"), plan_communities)
        self._needs(len(plan_rows))
        self.w.rows("tender", ("id", "plan_id", "number", "title", "method", "ceiling_fen", "min_rating",
                               "price_weight", "description", "publish_at", "clarification_deadline", "bid_deadline",
                               "opening_at", "publicity_days", "status", "status_changed_at", "status_reason",
                               "opened_at", "scored_at", "proposed_bid_id", "publicity_round", "publicity_starts_at",
                               "publicity_ends_at", "awarded_bid_id", "awarded_at", "created_at", "created_by_id",
                               "version"), tender_rows)
        self.w.rows("tender_criterion", ("id", "tender_id", "position", "name", "description", "weight"), criteria)
        self.w.rows("bid", ("id", "tender_id", "organization_id", "status", "status_changed_at", "submitted_at",
                            "submitted_by_id", "submissions", "sealed", "digest", "receipt_code", "price_fen",
                            "digest_verified", "valid", "invalid_reason", "technical_score", "price_score",
                            "total_score", "rank", "version"), bid_rows)
        self.w.execute("UPDATE tender SET awarded_bid_id = (SELECT bid.id FROM bid WHERE bid.tender_id = tender.id "
                       "AND bid.rank = 1), proposed_bid_id = (SELECT bid.id FROM bid WHERE bid.tender_id = tender.id "
                       "AND bid.rank = 1)")
        self.w.rows("tender_expert", ("id", "tender_id", "user_id", "assigned_at", "assigned_by_id", "declared_at",
                                      "related_org_ids", "declaration_note", "conflicted", "submitted_at"), panel)
        self.w.rows("expert_score", ("id", "tender_expert_id", "bid_id", "criterion_id", "points", "comment",
                                     "updated_at"), scores)
        self.next_plan_id = len(plan_rows) + 1

    def _targets(self, budget_fen: int) -> tuple:
        scale = budget_fen / 50_000_000  # a ¥500,000 project asks the figures of the domain's example
        return (round(30 * scale), max(2, round(10 * scale)), max(6, round(60 * scale)), round(12 * scale),
                round(2000 * scale), round(600 * scale), round(1200 * scale), 90)

    def _needs(self, plans: int) -> None:
        rows = []
        statuses = ("submitted", "adopted", "declined", "addressed")
        for i in range(1, self.s.needs + 1):
            community = self.rng.choice(self.communities)[0]
            status = self.rng.choices(statuses, (3, 3, 1, 3))[0]
            submitted = self._local(self.today - timedelta(days=self.rng.randrange(365 * self.s.years)), 15)
            plan = self.rng.randrange(1, plans + 1) if status in ("adopted", "addressed") else None
            rows.append((i, f"N{i:08d}", community, self.rng.choice(CATEGORIES),
                         f"{self.community_names[community]}居民反映：{self.rng.choice(TOPICS)}等问题需要专业服务介入。",
                         self._name(), "", submitted, status, submitted + timedelta(days=10), "", None, plan, 1))
            self._event(submitted, None, "need.submitted", "need", i, {"receipt_code": [None, f"N{i:08d}"]})
        self.w.rows("community_need", ("id", "receipt_code", "community_id", "category", "description", "contact_name",
                                       "contact_phone_masked", "submitted_at", "status", "status_changed_at", "status_reason",
                                       "merged_into_id", "plan_id", "version"), rows)

    # --- contracts, workers on them, milestones, payments, amendments ---------------------------

    def contracts(self) -> None:
        rng = self.rng
        rows, assigned, milestones, payments, amendments = [], [], [], [], []
        mid = pay = amend = 0
        current = self.today.year
        for spec in self.contract_specs:
            k = spec["id"]
            year = spec["year"]
            status = "in_progress" if year == current else rng.choices(("closed", "completed", "terminated"),
                                                                       (85, 12, 3))[0]
            t = spec["targets"]
            signed_on = spec["signed"].astimezone(clock.LOCAL_TZ).date()
            number = f"WHMZ-HT-{year}-{k:05d}"
            spec["number"], spec["status"] = number, status
            rows.append((k, number, k, spec["bid"], spec["org"], spec["title"], spec["price"], spec["price"],
                         spec["start"], spec["end"], "", "社区社会工作服务，详见服务方案。", "按绩效目标。", "符合评估标准。",
                         "按节点验收后支付。", "双方权利义务见合同条款。", "违约责任依法承担。", status,
                         spec["signed"], "", signed_on, spec["signed"] - DAY, rng.choice(self.procurement_staff)[0], 1,
                         *t, spec["signed"]))
            staff = self.workers_of[spec["org"]]
            workers = rng.sample(staff, min(len(staff), max(3, rng.randint(3, 6), spec["entries"] * 12 // 10 // 200)))
            if k == self.biggest_contract and self.bench_worker_id() not in workers:
                workers[0] = self.bench_worker_id()   # bench-worker records on the biggest running contract
            spec["workers"] = workers
            assigned += [(k, w) for w in workers]
            staff = rng.choice(self.procurement_staff)
            self._event(spec["signed"], staff, "contract.signed", "contract", k, {"status": ["draft", "signed"]})
            # Three milestones: plan 30 %, mid-term 40 %, final 30 %.
            for pos, (title, share, month) in enumerate((("服务方案与启动", Decimal(30), spec["start"].month + 1),
                                                          ("中期评估", Decimal(40), 7), ("末期评估与结项", Decimal(30), 12))):
                mid += 1
                due = date(year, min(month, 12), 28 if month != 12 else 20)
                done = due < self.today - timedelta(days=15) and status != "terminated"
                m_status = ("paid" if done else "submitted" if due < self.today + timedelta(days=30) else "pending")
                reviewed = self._local(due + timedelta(days=5), 10) if done else None
                milestones.append((mid, k, pos, title, due, "服务方案、签到表、照片、阶段报告", share, m_status,
                                   reviewed or spec["signed"], self._local(due - timedelta(days=3), 16) if m_status != "pending" else None,
                                   reviewed, staff[0] if reviewed else None, ""))
                if done:
                    pay += 1
                    amount = (spec["price"] * int(share)) // 100
                    paid_on = due + timedelta(days=20)
                    payments.append((pay, k, mid, amount, f"PZ{year}{pay:07d}", paid_on, self._local(paid_on, 11),
                                     staff[0]))
                    self._event(reviewed, staff, "milestone.accepted", "milestone", mid,
                                {"status": ["submitted", "accepted"]})
                    self._event(self._local(paid_on, 11), staff, "payment.recorded", "payment", pay,
                                {"amount_fen": [None, amount]})
            if rng.random() < 0.1:
                amend += 1
                added = spec["price"] // 20
                on = spec["start"] + timedelta(days=120)
                amendments.append((amend, k, 1, "服务对象增加，追加服务量。", on,
                                   {"amount_fen": [spec["price"], spec["price"] + added]}, added, self._local(on, 10),
                                   staff[0]))
                self._event(self._local(on, 10), staff, "contract.amended", "contract", k,
                            {"amount_fen": [spec["price"], spec["price"] + added]})
        target_cols = ("target_cases", "target_groups", "target_group_sessions", "target_events",
                       "target_person_times", "target_people", "target_service_hours", "target_satisfaction")
        self.w.rows("contract", ("id", "number", "tender_id", "bid_id", "organization_id", "title",
                                 "original_amount_fen", "amount_fen", "start_date", "end_date", "long_term_reason",
                                 "service_content", "quantity", "quality", "settlement", "rights_obligations",
                                 "breach_liability", "status", "status_changed_at", "status_reason", "signed_on",
                                 "created_at", "created_by_id", "version", *target_cols, "updated_at"), rows)
        self.w.rows("contract_worker", ("contract_id", "social_worker_id"), assigned)
        self.w.rows("milestone", ("id", "contract_id", "position", "title", "due_date", "required_deliverables",
                                  "tranche_percent", "status", "status_changed_at", "submitted_at", "reviewed_at",
                                  "reviewed_by_id", "review_comment"), milestones)
        self.w.rows("payment", ("id", "contract_id", "milestone_id", "amount_fen", "voucher_number", "paid_on",
                                "recorded_at", "recorded_by_id"), payments)
        if amendments:
            self.w.rows("contract_amendment", ("id", "contract_id", "number", "reason", "amended_on", "changes",
                                               "amount_added_fen", "created_at", "created_by_id"), amendments)

    def bench_worker_id(self) -> int:
        return self.workers_of[1][0]

    # --- beneficiaries ----------------------------------------------------------------------------

    def beneficiaries(self) -> None:
        from .delivery import identity

        rng = self.rng
        # People per organization by its entries; about one in ten also registered with another.
        entries_of = {o: 0 for o in self.orgs}
        for spec in self.contract_specs:
            entries_of[spec["org"]] += spec["entries"]
        total_entries = sum(entries_of.values())
        unique = round(self.s.beneficiaries / 1.1)
        self.people_of: dict[int, list[int]] = {o: [] for o in self.orgs}
        self.person_key: dict[int, int] = {}      # beneficiary id -> person number (who they are)
        rows, masters = [], []
        for org in self.orgs:
            n = max(40, round(unique * entries_of[org] / total_entries))
            masters += [(len(masters) + i, org) for i in range(n)]
        bid = 0
        for person, org in masters:
            bid += 1
            rows.append(self._person_row(bid, person, org, identity))
            self.people_of[org].append(bid)
        # The same people registered again elsewhere: the same identity number gives the same match
        # key. Most are only on the other register; a few are served there too, in the same period.
        extra = self.s.beneficiaries - len(rows)
        for person, org in rng.sample(masters, min(max(0, extra), len(masters))):
            other = rng.choice([o for o in self.orgs if o != org])
            bid += 1
            rows.append(self._person_row(bid, person, other, identity))
            if rng.random() < 0.05:
                self.people_of[other].append(bid)
        self.w.rows("beneficiary", ("id", "organization_id", "name", "gender", "birth_year", "community_id",
                                    "categories", "id_number_sealed", "id_number_masked", "id_match_key",
                                    "phone_sealed", "phone_masked", "consent_by", "guardian_name", "consent_method",
                                    "consent_on", "created_at", "created_by_id", "version"), rows)
        # Each contract serves its own people: an organization's register is split among the
        # contracts it runs in a year (people come back in later years).
        for org in self.orgs:
            people = list(self.people_of[org])
            rng.shuffle(people)
            for year in self.years:
                mine = [c for c in self.contract_specs if c["org"] == org and c["year"] == year]
                for i, spec in enumerate(mine):
                    pool = people[i::len(mine)]
                    spec["people"] = pool if len(pool) >= 40 else rng.sample(people, min(len(people), 40))

    def _person_row(self, bid: int, person: int, org: int, identity) -> tuple:
        rng = random.Random(person * 7919 + 17)  # who a person is does not depend on where they register
        child = rng.random() < 0.12
        born = date(rng.randint(2011, 2020) if child else rng.randint(1930, 1975), rng.randint(1, 12),
                    rng.randint(1, 28))
        # Unique by construction: the region digits and the sequence digits spell the person number.
        number = identity.make(f"5{(person // 1000) % 100_000:05d}{born.strftime('%Y%m%d')}{person % 1000:03d}")
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN)[0] if rng.random() < 0.6 else "")
        community = self.communities[(person * 31) % len(self.communities)][0]
        phone = f"139{person:08d}"[:11] if rng.random() < 0.5 else ""
        categories = sorted(set(rng.sample(PERSON_CATEGORIES, rng.randint(0, 2))))
        if child:
            categories = sorted(set(categories) | {"left_behind_child"} - {"elderly_alone"})
        self.person_key[bid] = person
        created = self._local(date(self.years[0], 1, 5) + timedelta(days=self.rng.randrange(300)), 10)
        return (bid, org, name, rng.choice(("female", "male")), born.year, community, categories,
                identity.seal_number(number), identity.mask(number), identity.match_key(number),
                identity.seal_phone(phone) if phone else None, identity.mask_phone(phone) if phone else "",
                "guardian" if child else "self", f"{name[0]}{rng.choice(GIVEN)}" if child else "",
                rng.choice(("written", "electronic")), created.astimezone(clock.LOCAL_TZ).date(), created,
                self.managers[org][0], 1)

    # --- service entries ------------------------------------------------------------------------

    def service_entries(self) -> None:
        """Every contract's entries in time slots no worker holds twice, except where a finding is
        planted: a worker in two places at once, the same entry twice, a day of more than 12 hours,
        an entry dated before the contract began."""
        self.busy: dict[int, int] = {}   # worker * 2**20 + day ordinal -> slots taken (bit mask)
        self.overlaps: list[tuple] = []
        self.progress: dict[int, dict] = {}
        self.ids = {"group": 0, "case": 0, "activity": 0}
        self.batch_id = 0
        self.file_id = 0
        chunk = self._new_chunk()
        for spec in self.contract_specs:
            self._contract_entries(spec, chunk)
            if len(chunk["activities"]) >= 100_000:
                self._write_chunk(chunk)
                chunk = self._new_chunk()
        self._plant_long_days(chunk)
        self._write_chunk(chunk)
        self.w.execute("UPDATE import_batch SET rows_total = (SELECT count(*) FROM service_activity a "
                       "WHERE a.import_batch_id = import_batch.id)")
        self.w.execute("UPDATE import_batch SET rows_new = rows_total")
        del self.busy

    @staticmethod
    def _new_chunk() -> dict:
        return {name: [] for name in ("files", "file_chunks", "batches", "groups", "members", "cases", "activities",
                                      "workers", "participants")}

    def _slot_for(self, spec: dict, crew: list[int], span: int) -> tuple[date, int, list[int]]:
        """A day and time slot free for the whole crew (another day, or another colleague of the
        contract, when the first choice is taken)."""
        rng = self.rng
        for attempt in range(60):
            day = spec["start"] + timedelta(days=rng.randrange(span))
            if attempt >= 20:
                crew = [rng.choice(spec["workers"])]
            taken = 0
            for w in crew:
                taken |= self.busy.get(w * 1048576 + day.toordinal(), 0)
            free = [s for s in range(len(SLOTS)) if not taken >> s & 1]
            if free:
                return day, rng.choice(free[:6] if len(free) > 6 and rng.random() < 0.9 else free), crew
        raise RuntimeError(f"contract {spec['id']}: its workers have no free time left")

    def _take(self, crew: list[int], day: date, slot: int) -> None:
        for w in crew:
            key = w * 1048576 + day.toordinal()
            self.busy[key] = self.busy.get(key, 0) | (1 << slot)

    def _contract_entries(self, spec: dict, chunk: dict) -> None:
        from .delivery.models import ActivityType
        from .delivery.services import fingerprint

        rng = self.rng
        types = [t for t, _s in ACTIVITY_MIX]
        shares = [s for _t, s in ACTIVITY_MIX]
        k, org = spec["id"], spec["org"]
        yesterday = self.today - DAY
        last = min(spec["end"], yesterday)
        if spec["status"] == "terminated":
            last = min(last, spec["start"] + timedelta(days=150))
        spec["last"] = last
        people = spec["people"]
        manager = self.managers[org]
        # Groups and their members, cases opened as case work starts.
        group_ids, group_members = [], {}
        for g in range(max(1, min(spec["targets"][1], 12))):
            self.ids["group"] += 1
            gid = self.ids["group"]
            group_ids.append(gid)
            name = f"{('长者', '亲子', '成长', '互助', '兴趣', '康复')[g % 6]}小组{g + 1}"
            created = self._local(spec["start"] + timedelta(days=10), 9)
            chunk["groups"].append((gid, k, name, 6 + g % 4, created))
            group_members[gid] = rng.sample(people, min(len(people), rng.randint(8, 12)))
            chunk["members"] += [(gid, person) for person in group_members[gid]]
            self._event(created, manager, "service_group.created", "service_group", gid,
                        {"name": [None, name], "contract_id": [None, k]})
        sessions = {gid: 0 for gid in group_ids}
        case_people = rng.sample(people, min(len(people), max(3, spec["targets"][0])))
        case_of: dict[int, int] = {}
        span = (last - spec["start"]).days + 1
        stats = {"cases": set(), "groups": set(), "group_sessions": 0, "events": 0, "person_times": 0,
                 "people": set(), "hours": Decimal(0), "activities": 0}
        # Ledgers: the entries of the first half of the term arrive by monthly import, the rest by form.
        imported_until = spec["start"] + timedelta(days=int(span * 0.5))
        batch_of_month: dict[tuple, int] = {}

        def add(type_, day, start_t, end_t, community, place, hours, head, topic, group_id, case_id, session, crew,
                named, batch, created, actor):
            self.ids["activity"] += 1
            aid = self.ids["activity"]
            fp = fingerprint(k, ActivityType(type_), day, start_t, end_t, community, place, crew, named, head,
                             group_id, session)
            chunk["activities"].append((aid, k, type_, day, start_t, end_t, community, place, hours, head, topic, "",
                                        "", group_id, case_id, session, fp, batch, 1, created, actor[0], created, 1,
                                        len(named)))
            chunk["workers"] += [(aid, w) for w in crew]
            chunk["participants"] += [(aid, p) for p in named]
            if batch is None:
                self._event(created, actor, "activity.recorded", "activity", aid,
                            {"type": [None, type_], "activity_date": [None, day.isoformat()],
                             "workers": [None, sorted(crew)], "participants": [None, sorted(named)]})
            stats["activities"] += 1
            stats["person_times"] += len(named) + head
            stats["hours"] += hours
            stats["people"].update(self.person_key[p] for p in named)
            if type_ == "case_work":
                stats["cases"].add(case_id)
            elif type_ == "group_session":
                stats["group_sessions"] += 1
                stats["groups"].add(group_id)
            elif type_ == "community_event":
                stats["events"] += 1
            return aid

        for _e in range(spec["entries"]):
            type_ = rng.choices(types, shares)[0]
            crew = rng.sample(spec["workers"], min(2 if rng.random() < 0.2 else 1, len(spec["workers"])))
            day, slot, crew = self._slot_for(spec, crew, span)
            self._take(crew, day, slot)
            begin, length = SLOTS[slot]
            if type_ == "case_work" and rng.random() < 0.5:
                length = 60
            start_t = time(begin // 60, begin % 60)
            end_t = time((begin + length) // 60, (begin + length) % 60)
            hours = (Decimal(length) / 60).quantize(Decimal("0.01"))
            community = rng.choice(spec["communities"])
            place, head, topic, group_id, case_id, session = rng.choice(PLACES), 0, "", None, None, None
            if type_ == "case_work":
                person = rng.choice(case_people)
                if person not in case_of:
                    self.ids["case"] += 1
                    case_of[person] = self.ids["case"]
                    chunk["cases"].append((self.ids["case"], k, person, day, self._local(day, 9)))
                case_id = case_of[person]
                named = [person]
                place = "服务对象家中"
            elif type_ == "group_session":
                group_id = rng.choice(group_ids)
                sessions[group_id] += 1
                session = sessions[group_id]
                named = rng.sample(group_members[group_id], min(len(group_members[group_id]), rng.randint(5, 9)))
            elif type_ == "community_event":
                named = rng.sample(people, rng.randint(0, 3))
                head = rng.randint(10, 60)
                topic = f"{CATEGORY_WORDS[spec['category']]}主题活动"
            elif type_ == "deliberation":
                named = rng.sample(people, rng.randint(5, 8))
                topic = rng.choice(TOPICS)
            else:
                named = rng.sample(people, rng.randint(0, 4))
                head = 0 if named else rng.randint(8, 20)
                topic = "志愿者能力培训"
            batch = None
            if day <= imported_until:
                month = (day.year, day.month)
                if month not in batch_of_month:
                    self.batch_id += 1
                    batch_of_month[month] = self.batch_id
                batch = batch_of_month[month]
            created = self._local(min(day + timedelta(days=rng.randint(0, 3)), yesterday), 18)
            actor = self.bench_worker if self.bench_worker[0] and crew[0] == self.bench_worker_id() else manager
            aid = add(type_, day, start_t, end_t, community, place, hours, head, topic, group_id, case_id, session,
                      crew, named, batch, created, actor)
            roll = rng.random()
            if roll < 1 / 5000:     # the same entry typed twice
                add(type_, day, start_t, end_t, community, place, hours, head, topic, group_id, case_id, session,
                    crew, named, None, created, actor)
            elif roll < 1 / 5000 + 1 / 2000:   # the same worker at an event that overlaps this entry
                shifted, shifted_end = time((begin + 30) // 60, (begin + 30) % 60), time((begin + 90) // 60,
                                                                                        (begin + 90) % 60)
                other = add("community_event", day, shifted, shifted_end, community, "社区广场", Decimal("1.00"), 25,
                            "邻里节", None, None, None, crew[:1], [], None, created, actor)
                self.overlaps.append((crew[0], aid, other, k, day))
            elif roll < 1 / 5000 + 1 / 2000 + 1 / 50_000:   # typed with the date before the contract began
                add("community_event", spec["start"] - timedelta(days=rng.randint(1, 20)), time(19, 0), time(20, 0),
                    community, "社区广场", Decimal("1.00"), 30, "迎新活动", None, None, None, crew[:1], [], None,
                    created, actor)
        for (year, month), batch_id in sorted(batch_of_month.items()):
            self._ledger_file(spec, year, month, batch_id, chunk)
        self.progress[k] = stats

    def _ledger_file(self, spec: dict, year: int, month: int, batch_id: int, chunk: dict) -> None:
        """The imported ledger of one month: its stored file and its batch."""
        when = min(self._local(date(year, month, 27), 9) + timedelta(days=5), self.now - DAY)
        content = (f"日期,开始时间,结束时间,服务类型,社区,地点,社工\n"
                   f"# {spec['number']} {year}-{month:02d}\n").encode("utf-8")
        digest = hashlib.sha256(content).hexdigest()
        name = hashlib.sha256(f"bench-ledger-{batch_id}".encode()).hexdigest()
        self._store_file(name, content, chunk)
        self.file_id += 1
        manager = self.managers[spec["org"]]
        chunk["files"].append((self.file_id, "ledger", name, f"台账-{spec['number']}-{year}{month:02d}.csv", "csv",
                               len(content), digest, False, when, manager[0]))
        chunk["batches"].append((batch_id, spec["id"], self.file_id, digest, "imported", when, 0, 0, 0, 0, [], [], when,
                                 manager[0], None))
        self._event(when, manager, "import.completed", "import", batch_id, {"contract_id": [None, spec["id"]]})

    def _store_file(self, name: str, content: bytes, chunk: dict) -> None:
        """The bytes of a generated file, where the configured storage keeps them (a small file is
        one chunk in the database)."""
        store = storage.backend()
        if store.name == "database":
            chunk["file_chunks"].append((name, 0, content))
            return
        path = store.folder / name[:2] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o600)

    def _plant_long_days(self, chunk: dict) -> None:
        """A few workers with more than 12 service hours in one otherwise free day."""
        from .delivery.models import ActivityType
        from .delivery.services import fingerprint

        rng = self.rng
        specs = [c for c in self.contract_specs if c["entries"] > 200]
        for _ in range(max(2, self.s.entries // 20_000)):
            spec = rng.choice(specs)
            worker = rng.choice(spec["workers"])
            for _try in range(50):
                day = spec["start"] + timedelta(days=rng.randrange((spec["last"] - spec["start"]).days + 1))
                if not self.busy.get(worker * 1048576 + day.toordinal()):
                    break
            self.busy[worker * 1048576 + day.toordinal()] = 0xFF
            for slot in range(9):
                self.ids["activity"] += 1
                aid = self.ids["activity"]
                begin = 6 * 60 + slot * 90
                start_t, end_t = time(begin // 60, begin % 60), time((begin + 90) // 60, (begin + 90) % 60)
                fp = fingerprint(spec["id"], ActivityType.VOLUNTEER_TRAINING, day, start_t, end_t,
                                 spec["communities"][0], "会议室", [worker], [], 12, None, None)
                created = self._local(min(day + DAY, self.today - DAY), 20)
                chunk["activities"].append((aid, spec["id"], "volunteer_training", day, start_t, end_t,
                                            spec["communities"][0], "会议室", Decimal("1.50"), 12, "志愿者能力培训", "",
                                            "", None, None, None, fp, None, 1, created,
                                            self.managers[spec["org"]][0], created, 1, 0))
                chunk["workers"].append((aid, worker))
                stats = self.progress[spec["id"]]
                stats["activities"] += 1
                stats["person_times"] += 12
                stats["hours"] += Decimal("1.50")

    def _write_chunk(self, chunk: dict) -> None:
        w = self.w
        if chunk["file_chunks"]:
            w.rows("file_chunk", ("stored_name", "position", "data"), chunk["file_chunks"])
        w.rows("stored_file", ("id", "purpose", "stored_name", "original_name", "kind", "size", "sha256", "encrypted",
                               "uploaded_at", "uploaded_by_id"), chunk["files"])
        w.rows("import_batch", ("id", "contract_id", "file_id", "sha256", "status", "status_changed_at", "rows_total",
                                "rows_new", "rows_duplicate", "error_count", "errors", "preview", "created_at",
                                "created_by_id", "job_id"), chunk["batches"])
        w.rows("service_group", ("id", "contract_id", "name", "planned_sessions", "created_at"), chunk["groups"])
        w.rows("group_member", ("group_id", "beneficiary_id"), chunk["members"])
        w.rows("service_case", ("id", "contract_id", "beneficiary_id", "opened_on", "created_at"), chunk["cases"])
        w.rows("service_activity", ("id", "contract_id", "type", "activity_date", "start_time", "end_time",
                                    "community_id", "place", "hours", "head_count", "topic", "outcome", "notes",
                                    "group_id", "case_id", "session_number", "fingerprint", "import_batch_id",
                                    "revision", "created_at", "created_by_id", "updated_at", "version",
                                    "participant_count"), chunk["activities"])
        w.rows("activity_worker", ("activity_id", "social_worker_id"), chunk["workers"])
        w.rows("activity_participant", ("activity_id", "beneficiary_id"), chunk["participants"])

    # --- red flags ------------------------------------------------------------------------------

    def red_flags(self) -> None:
        """The findings, keyed as svcproc's own checks key them: planted overlaps as planted, the
        rest found by grouped queries over what was written (duplicates, long days, entries outside
        the period, people counted by two contracts)."""
        rows = []
        found = self.now - timedelta(hours=6)

        def flag(kind, key, contract, ids, detail):
            explained = kind == "worker_overlap" and self.rng.random() < 0.3
            note = "经核实，两场活动为同一社工先后在相邻场地开展，签到表可证。" if explained else ""
            rows.append((len(rows) + 1, kind, key, contract, ids, detail, found, True, note,
                         found + timedelta(hours=2) if explained else None,
                         self.managers[self._org_of(contract)][0] if explained else None))

        for worker, a1, a2, contract, day in self.overlaps:
            flag("worker_overlap", f"overlap:{worker}:{a1}:{a2}", contract, [a1, a2],
                 {"worker_id": worker, "date": day.isoformat()})
        for contract, fp, first, last, count in self._query(
                "SELECT contract_id, fingerprint, min(id), max(id), count(*) FROM service_activity "
                "GROUP BY contract_id, fingerprint HAVING count(*) > 1"):
            flag("duplicate", f"dup:{contract}:{fp[:40]}", contract, [first, last], {"count": count})
        long_days = self._query(
            "SELECT w.social_worker_id, a.activity_date, sum(a.hours) FROM activity_worker w "
            "JOIN service_activity a ON a.id = w.activity_id GROUP BY w.social_worker_id, a.activity_date "
            "HAVING sum(a.hours) > 12")
        for worker, day, hours in long_days:
            day = day if isinstance(day, date) else date.fromisoformat(day)
            entries = self._query(
                "SELECT a.id, a.contract_id FROM activity_worker w JOIN service_activity a ON a.id = w.activity_id "
                f"WHERE w.social_worker_id = {int(worker)} AND a.activity_date = '{day.isoformat()}' ORDER BY a.id")
            flag("worker_hours", f"hours:{worker}:{day.isoformat()}", min(c for _a, c in entries),
                 [a for a, _c in entries], {"worker_id": worker, "date": day.isoformat(),
                                            "hours": str(Decimal(str(hours)).quantize(Decimal("0.01")))})
        for activity, contract, day in self._query(
                "SELECT a.id, a.contract_id, a.activity_date FROM service_activity a JOIN contract c "
                "ON c.id = a.contract_id WHERE a.activity_date < c.start_date OR a.activity_date > c.end_date"):
            day = day if isinstance(day, date) else date.fromisoformat(day)
            flag("outside_period", f"period:{activity}", contract, [activity], {"date": day.isoformat()})
        # People counted twice: per person (match key), contract, type and register entry, the first
        # entry; then every pair of contracts with overlapping periods and the same type.
        uses = self._query(
            "WITH u AS (SELECT b.id_match_key AS k, a.contract_id AS c, a.type AS t, p.beneficiary_id AS b, "
            "min(a.id) AS a FROM activity_participant p JOIN service_activity a ON a.id = p.activity_id "
            "JOIN beneficiary b ON b.id = p.beneficiary_id WHERE b.id_match_key IS NOT NULL "
            "GROUP BY b.id_match_key, a.contract_id, a.type, p.beneficiary_id) "
            "SELECT k, c, t, b, a FROM u WHERE k IN (SELECT k FROM u GROUP BY k HAVING count(DISTINCT c) > 1) "
            "ORDER BY k, c")
        periods = {c["id"]: (c["start"], c["end"]) for c in self.contract_specs}
        by_person: dict[str, list] = {}
        for key, contract, type_, beneficiary, activity in uses:
            by_person.setdefault(key, []).append((contract, type_, beneficiary, activity))
        for entries in by_person.values():
            for c1, t1, b1, a1 in entries:
                for c2, t2, b2, a2 in entries:
                    if c1 < c2 and t1 == t2 and periods[c1][0] <= periods[c2][1] and periods[c2][0] <= periods[c1][1]:
                        flag("double_counted", f"double:{c1}:{c2}:{t1}:{b1}:{b2}", c1, [a1, a2],
                             {"other_contract_id": c2, "type": t1, "beneficiary_ids": [b1, b2]})
        self.w.rows("red_flag", ("id", "kind", "key", "contract_id", "activity_ids", "detail", "found_at", "active",
                                 "explanation", "explained_at", "explained_by_id"), rows)
        for row in rows:
            if row[8]:
                self._event(row[9], self.managers[self._org_of(row[3])], "red_flag.explained", "red_flag", row[0],
                            {"explanation": [None, row[8]]})
        self.flag_counts = {kind: sum(1 for r in rows if r[1] == kind) for kind in {r[1] for r in rows}}
        self.log(f"    flags: {self.flag_counts}")

    def _query(self, sql: str) -> list[tuple]:
        cur = self.w.raw.cursor()
        cur.execute(sql)
        rows = cur.fetchall()
        cur.close()
        return rows

    def _org_of(self, contract_id: int) -> int:
        return self.contract_specs[contract_id - 1]["org"]

    # --- evaluations ----------------------------------------------------------------------------

    def evaluations(self) -> None:
        from .evaluations.aggregate import aggregate
        from .evaluations.indicators import bands_of, tree_of
        from .evaluations.tree import LeafKind, band_points, satisfaction_points

        version = self.template_version
        top = tree_of(version.indicators)
        leaves = [leaf for node in top for leaf in node.leaves()]
        bands = bands_of(version)
        rng = self.rng
        rounds, parties, evaluators, scores, surveys, findings, items = [], [], [], [], [], [], []
        rid = pid = eid = sid = svid = fid = iid = 0
        current = self.today.year
        for spec in self.contract_specs:
            k, year = spec["id"], spec["year"]
            kinds = [("midterm", 50)]
            if year < current and spec["status"] != "terminated":
                kinds.append(("final", 100))
            stats = self.progress[k]
            # Most projects do well; about one in a hundred fails its evaluation.
            quality = min(0.98, max(0.45, rng.gauss(0.82, 0.09)))
            for kind, percent in kinds:
                rid += 1
                finalized = year < current or kind == "midterm" and rng.random() < 0.6
                start = date(year, 7 if kind == "midterm" else 12, 1)
                status = "finalized" if finalized else "scoring"
                opened = self._local(start + timedelta(days=3), 9)
                # Computed leaves: outputs against (a share of) the targets, satisfaction from surveys.
                computed = {}
                share = Decimal(percent) / 100
                figures = {"target_cases": len(stats["cases"]), "target_groups": len(stats["groups"]),
                           "target_group_sessions": stats["group_sessions"], "target_events": stats["events"],
                           "target_person_times": stats["person_times"], "target_people": len(stats["people"]),
                           "target_service_hours": stats["hours"]}
                targets = dict(zip(("target_cases", "target_groups", "target_group_sessions", "target_events",
                                    "target_person_times", "target_people", "target_service_hours"),
                                   spec["targets"]))
                surveyed = rng.randint(60, 200)
                satisfied = round(surveyed * rng.uniform(0.82, 0.99))
                for leaf in leaves:
                    if leaf.kind == LeafKind.OUTPUT:
                        actual = Decimal(str(figures[leaf.target] * (share if kind == "midterm" else 1)))
                        target = (Decimal(targets[leaf.target]) * share).quantize(Decimal("0.01"),
                                                                                 rounding=ROUND_HALF_UP)
                        points = band_points(actual, target, leaf.weight, bands)
                        computed[leaf.key] = {"kind": "output", "target_field": leaf.target, "actual": str(actual),
                                              "contract_target": str(targets[leaf.target]), "target": str(target),
                                              "percent": str(percent), "ratio": str((actual / target * 100)
                                                                                    .quantize(Decimal("0.1")))
                                              if target else None, "activities": stats["activities"],
                                              "full": str(leaf.weight), "points": str(points)}
                    elif leaf.kind == LeafKind.SATISFACTION:
                        points = satisfaction_points(satisfied, surveyed, 90, leaf.weight, bands)
                        computed[leaf.key] = {"kind": "satisfaction", "surveyed": surveyed, "satisfied": satisfied,
                                              "rate": str((Decimal(satisfied) * 100 / surveyed).quantize(Decimal("0.1"))),
                                              "target_rate": "90", "groups": [["服务对象", satisfied, surveyed]],
                                              "full": str(leaf.weight), "points": str(points)}
                        svid += 1
                        surveys.append((svid, rid, leaf.key, "服务对象", surveyed, satisfied, start, "", None,
                                        opened - DAY, self.procurement_staff[0][0]))
                party_rows = (("第三方评估机构", Decimal(70)), ("区民政局", Decimal(20)), ("社区代表", Decimal(10)))
                party_ids = []
                for pos, (name, weight) in enumerate(party_rows):
                    pid += 1
                    parties.append((pid, rid, name, weight, pos))
                    party_ids.append((pid, name))
                given: dict[str, dict[str, dict[str, Decimal]]] = {}
                team = rng.sample(self.evaluators, 4)
                for n_eval, (member, (party_id, party_name)) in enumerate(zip(team, party_ids + [party_ids[0]])):
                    eid += 1
                    submitted = finalized or n_eval < 2
                    evaluators.append((eid, rid, party_id, member[0], opened - DAY, self.procurement_staff[0][0],
                                       opened - timedelta(hours=20), False, "本人与被评估机构无利害关系。", False,
                                       opened + timedelta(days=5) if submitted else None))
                    for leaf in leaves:
                        if leaf.kind != LeafKind.EVALUATOR:
                            continue
                        value = Decimal(str(float(leaf.weight) * min(1.0, max(0.3, quality + rng.uniform(-.06, .06)))))
                        value = min(leaf.weight, (value * 2).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 2)
                        sid += 1
                        scores.append((sid, eid, leaf.key, value, "评分依据见现场核查记录。",
                                       opened + timedelta(days=4)))
                        if submitted:
                            given.setdefault(party_name, {}).setdefault(member[1], {})[leaf.key] = value
                result, total, grade = {}, None, None
                finalized_at = None
                if finalized:
                    outcome = aggregate(top, {n: w for n, w in party_rows}, given,
                                        {key: Decimal(v["points"]) for key, v in computed.items()})
                    total, grade = outcome.total, outcome.grade
                    result = {"total": str(total), "grade": grade,
                              "nodes": {key: str(v) for key, v in outcome.nodes.items()},
                              "by_party": {p: {key: str(v) for key, v in m.items()}
                                           for p, m in outcome.by_party.items()}}
                    finalized_at = opened + timedelta(days=10)
                    self._event(finalized_at, self.procurement_staff[0], "evaluation.finalized", "evaluation_round",
                                rid, {"total": [None, str(total)], "grade": [None, grade]})
                title = f"{spec['title']}{'中期评估' if kind == 'midterm' else '末期评估'}"
                rounds.append((rid, k, kind, title[:200], version.id, self.eval_orgs[rid % len(self.eval_orgs)], percent,
                               start, start + timedelta(days=14), status, finalized_at or opened, "", opened, computed,
                               finalized_at, total, grade, result, opened - timedelta(days=10),
                               self.procurement_staff[0][0], 1))
                self._event(opened - timedelta(days=10), self.procurement_staff[0], "evaluation.created",
                            "evaluation_round", rid, {"kind": [None, kind], "contract_id": [None, k]})
                if rng.random() < 0.35:
                    fid += 1
                    findings.append((fid, rid, "部分活动签到表缺少服务对象签名。", opened + timedelta(days=6),
                                     self.evaluators[0][0]))
                    iid += 1
                    deadline = start + timedelta(days=45)
                    item_status = "closed" if deadline < self.today - timedelta(days=30) else rng.choice(
                        ("open", "responded"))
                    items.append((iid, fid, "补齐签到表并规范台账管理。", "项目负责人", deadline, item_status,
                                  opened + timedelta(days=7), "", opened + timedelta(days=6), self.evaluators[0][0], 1))
        self.w.rows("evaluation_round", ("id", "contract_id", "kind", "title", "template_version_id",
                                         "evaluation_org_id", "target_percent", "scheduled_start", "scheduled_end",
                                         "status", "status_changed_at", "status_reason", "opened_at", "computed",
                                         "finalized_at", "total", "grade", "result", "created_at", "created_by_id",
                                         "version"), rounds)
        self.w.rows("evaluation_party", ("id", "round_id", "name", "weight", "position"), parties)
        self.w.rows("round_evaluator", ("id", "round_id", "party_id", "user_id", "assigned_at", "assigned_by_id",
                                        "declared_at", "declared_related", "declaration_note", "conflicted",
                                        "submitted_at"), evaluators)
        self.w.rows("evaluation_score", ("id", "evaluator_id", "leaf_key", "points", "comment", "updated_at"), scores)
        self.w.rows("satisfaction_survey", ("id", "round_id", "leaf_key", "group_name", "surveyed", "satisfied",
                                            "surveyed_on", "note", "file_id", "created_at", "created_by_id"), surveys)
        self.w.rows("evaluation_finding", ("id", "round_id", "text", "created_at", "created_by_id"), findings)
        self.w.rows("rectification_item", ("id", "finding_id", "action", "owner", "deadline", "status",
                                           "status_changed_at", "status_note", "created_at", "created_by_id",
                                           "version"), items)

    # --- the audit trail ------------------------------------------------------------------------

    def audit_trail(self) -> None:
        self.events.sort(key=lambda e: e[0])
        prev = GENESIS
        event = _Event()
        event.client_ip = "10.12.0.8"
        rows = []

        def chained():
            nonlocal prev
            for seq, (at, actor_id, actor_name, action, object_type, object_id, changes) in enumerate(self.events,
                                                                                                       start=1):
                event.seq, event.occurred_at = seq, at
                event.actor_id, event.actor_name, event.action = actor_id, actor_name, action
                event.object_type, event.object_id = object_type, object_id
                event.changes, event.prev_hash = jsonable(changes), prev
                digest = compute_hash(event)
                yield (seq, seq, at, actor_id, actor_name, action, object_type, object_id, event.changes,
                       event.client_ip, prev, digest)
                prev = digest

        self.w.rows("audit_event", ("id", "seq", "occurred_at", "actor_id", "actor_name", "action", "object_type",
                                    "object_id", "changes", "client_ip", "prev_hash", "hash"), chained())
        del rows
        self.w.execute(f"UPDATE audit_chain_head SET last_seq = {len(self.events)}, last_hash = '{prev}' WHERE id = 1")
        self.events = []


TABLES_WITH_IDS = ("area", "organization", "user_account", "social_worker", "project_plan", "community_need", "tender",
                   "tender_criterion", "bid", "tender_expert", "expert_score", "contract", "milestone", "payment",
                   "contract_amendment", "beneficiary", "service_group", "service_case", "stored_file",
                   "import_batch", "service_activity", "red_flag", "evaluation_round", "evaluation_party",
                   "round_evaluator", "evaluation_score", "satisfaction_survey", "evaluation_finding",
                   "rectification_item", "audit_event")


def loaded_scale() -> str | None:
    """The scale this database was generated at, or None when it holds no generated district."""
    from .contracts.models import Contract
    from .registry.models import Organization

    try:
        org = db.session.execute(sa.select(Organization.id).where(Organization.name == LARGEST_ORG,
                                                                  Organization.id == 1)).scalar()
    except sa.exc.DatabaseError:
        db.session.rollback()
        return None
    if org is None:
        return None
    contracts = db.session.execute(sa.select(sa.func.count()).select_from(Contract)).scalar_one()
    for name, scale in SCALES.items():
        if contracts == scale.contracts:
            return name
    return "other"


def is_empty() -> bool:
    from .accounts.models import User

    try:
        return db.session.execute(sa.select(sa.func.count()).select_from(User)).scalar_one() == 0
    except sa.exc.DatabaseError:
        db.session.rollback()
        return True


def reset_schema() -> None:
    """Drop every table and build the schema again from the migrations."""
    import flask_migrate

    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    flask_migrate.upgrade()


def generate(scale_name: str, seed: int = 20261204, log=print) -> dict:
    """Fill an empty, migrated database with a district of this scale; returns rows per table."""
    from .evaluations.models import TemplateVersion

    scale = SCALES[scale_name]
    started = timer.perf_counter()
    # The shipped indicator template (installed by the migrations), read before the bulk writes
    # begin; then no session may hold the database while they run (SQLite would wait on it).
    version = db.session.execute(sa.select(TemplateVersion).order_by(TemplateVersion.id)).scalars().first()
    db.session.expunge(version)
    db.session.remove()
    engine = db.engine
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if engine.dialect.name == "sqlite":
            cur = driver.cursor()
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("BEGIN")
            cur.close()
        writer = Writer(driver)
        district = District(scale, writer, seed=seed, log=log)
        district.template_version = version
        counts = district.build()
        if engine.dialect.name == "postgresql":
            for table in TABLES_WITH_IDS:
                writer.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        driver.commit()
        if engine.dialect.name == "sqlite":
            cur = driver.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    finally:
        raw.close()
    analysed = timer.perf_counter()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        # What autovacuum does to a live database in time: statistics, and the visibility map that
        # lets PostgreSQL answer from an index alone.
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    log(f"  {'statistics (VACUUM ANALYZE)':<34} {timer.perf_counter() - analysed:6.1f} s")
    counts["seconds"] = round(timer.perf_counter() - started, 1)
    return counts
