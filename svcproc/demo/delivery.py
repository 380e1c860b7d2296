"""Demo service delivery: beneficiary registers, months of service ledgers imported the way
organizations bring their Excel ledgers, a few entries recorded and corrected by hand, and the red
flags an auditor would find in them.

Each contract's ledger is planned over its whole term from its own targets: its cases, groups and
sessions, community events, people and person-times, and hours, spread over the term so that the
logs up to any day hold about the share of each target that the elapsed share of the term calls
for (half at mid-term, all of it at the end). The people served are of the project's target group
(children for a children's project, people over 60 for elderly care) and are registered when they
are first served.
"""
from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage

from ..accounts.models import User
from ..contracts.models import Contract, ContractStatus
from ..core import clock
from ..delivery import flags, identity, ledger, services
from ..delivery.models import ActivityType, ConsentBy, ConsentMethod, Gender, RedFlag, RedFlagKind
from ..extensions import db
from ..procurement.models import ServiceCategory
from ..registry.models import Area, SocialWorker

CASE, GROUP, EVENT = ActivityType.CASE_WORK, ActivityType.GROUP_SESSION, ActivityType.COMMUNITY_EVENT
DELIBERATION, TRAINING = ActivityType.DELIBERATION, ActivityType.VOLUNTEER_TRAINING

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
# Given names by generation and gender: (female, male).
OLDER_NAMES = (("秀英", "桂兰", "玉珍", "淑华", "秀兰", "凤英", "春梅", "金凤", "桂芳", "玉兰", "素珍", "淑芬"),
               ("建国", "志强", "德明", "国华", "德福", "建华", "永福", "文明", "树林", "长富", "国强", "振华"))
YOUNGER_NAMES = (("欣怡", "雨桐", "梓涵", "一诺", "佳琪", "诗涵", "思琪", "可馨", "语嫣", "紫萱"),
                 ("浩然", "梓轩", "宇航", "俊杰", "明轩", "思远", "子墨", "睿泽", "皓轩", "一鸣"))
ADULT_NAMES = (("丽华", "海燕", "晓琳", "红梅", "静", "婷婷", "丽娟", "雪梅"),
               ("晓东", "伟", "志刚", "海涛", "军", "文博", "建军", "勇"))

# A group's sessions: it opens by getting to know each other and closes with a farewell.
SESSION_TOPICS = ("需求分享与目标设定", "主题学习", "技能练习", "经验交流", "互助讨论", "成果展示")
FIRST_SESSION, LAST_SESSION = "相识与破冰", "回顾总结与告别"

TYPE_WORD = {CASE: "个案服务", GROUP: "小组活动", EVENT: "社区活动", DELIBERATION: "微议事会", TRAINING: "志愿者培训"}

# Ninety-minute slots of a working day; (start, end) of each.
SLOTS = ((time(8, 30), time(10, 0)), (time(10, 0), time(11, 30)), (time(12, 30), time(14, 0)),
         (time(14, 0), time(15, 30)), (time(15, 30), time(17, 0)), (time(18, 30), time(20, 0)))
SLOT_HOURS = 1.5


@dataclass(frozen=True)
class Profile:
    """What a project's services look like: whom they serve and the words of its ledger."""
    ages: tuple[int, int]                      # age range of the people served
    names: tuple                               # (female, male) given names
    categories: tuple[tuple[str, float], ...]  # (register category, chance)
    groups: tuple[str, ...]
    events: tuple[tuple[str, tuple[int, ...]], ...]   # (topic, months it fits; none: any month)
    cases: tuple[str, ...]
    deliberations: tuple[str, ...]
    trainings: tuple[str, ...]
    deliberations_a_year: int
    trainings_a_year: int
    weekday_slots: tuple[int, ...] = (0, 1, 2, 3, 4)   # slots of a working (or school) day


ELDERLY = Profile(
    ages=(62, 92), names=OLDER_NAMES,
    categories=(("elderly_alone", .6), ("low_income", .15), ("disability", .1)),
    groups=("独居老人互助小组", "银龄智能手机课堂小组", "防跌倒训练小组", "怀旧治疗小组", "慢病自我管理小组",
            "书法兴趣小组", "园艺疗愈小组", "太极健身小组", "老年心理支持小组", "邻里守望小组"),
    events=(("健康义诊", ()), ("防诈骗知识讲座", ()), ("社区邻里节", ()), ("老年人智能手机使用讲座", ()),
            ("老年人防跌倒知识讲座", ()), ("重阳敬老茶话会", (10,)), ("中秋团圆会", (9,)), ("端午包粽子活动", (5, 6)),
            ("冬季防火安全宣传", (11, 12, 1, 2)), ("夏季防暑降温知识讲座", (6, 7, 8)), ("新春写春联送福", (1, 2))),
    cases=("居家探访", "陪同就医", "心理慰藉", "用药提醒与健康监测", "电话关怀后入户走访"),
    deliberations=("院落适老化改造议事", "楼道扶手加装议事", "社区食堂用餐议事"),
    trainings=("志愿者探访技巧培训", "急救知识培训", "老年人沟通技巧培训"),
    deliberations_a_year=4, trainings_a_year=3)
CHILDREN = Profile(
    ages=(7, 14), names=YOUNGER_NAMES,
    categories=(("left_behind_child", .4), ("low_income", .25), ("single_parent", .15), ("disability", .05)),
    groups=("四点半课堂学业辅导小组", "情绪管理小组", "自信心提升小组", "亲子沟通小组", "安全自护小组",
            "绘本共读小组", "社交技能小组", "美术表达小组", "科学探索小组", "成长伙伴小组"),
    events=(("亲子运动会", ()), ("儿童防拐骗宣传", ()), ("绘本共读日", ()), ("亲子徒步", ()),
            ("防溺水安全教育", (5, 6, 7, 8)), ("暑假安全第一课", (6, 7)), ("开学季文具发放", (8, 9)),
            ("中秋手工灯笼制作", (9,)), ("寒假安全教育", (1, 2)), ("新春剪纸迎新", (1, 2))),
    cases=("学业辅导", "家访", "情绪疏导", "家庭关系调适", "监护情况随访"),
    deliberations=(), trainings=("儿童保护与陪伴技巧培训", "志愿者辅导技巧培训"),
    deliberations_a_year=0, trainings_a_year=3, weekday_slots=(4, 5))
COMMUNITY = Profile(
    ages=(25, 75), names=ADULT_NAMES,
    categories=(("low_income", .1),),
    groups=("院落议事骨干小组", "楼栋长能力建设小组", "社区志愿者骨干小组", "垃圾分类督导小组", "社区花园营造小组",
            "居民自组织孵化小组"),
    events=(("社区邻里节", ()), ("垃圾分类宣传", ()), ("社区花园开放日", (4, 5, 9, 10)), ("院落文化节", ()),
            ("社区跳蚤市场", ())),
    cases=("入户走访", "矛盾调解"),
    deliberations=("院落停车秩序议事", "楼道杂物清理议事", "社区花园认养议事", "院落公约修订议事"),
    trainings=("志愿者服务技巧培训", "议事规则培训"),
    deliberations_a_year=24, trainings_a_year=6)
OTHER = Profile(
    ages=(18, 80), names=ADULT_NAMES,
    categories=(("low_income", .4), ("disability", .2)),
    groups=("互助支持小组", "技能提升小组", "健康生活小组", "家庭支持小组"),
    events=(("政策宣讲会", ()), ("社区义诊", ()), ("邻里互助日", ()), ("就业信息发布会", ())),
    cases=("入户走访", "个案跟进", "资源链接"),
    deliberations=("社区事务议事",), trainings=("志愿者服务技巧培训",),
    deliberations_a_year=4, trainings_a_year=3)
PROFILES = {ServiceCategory.ELDERLY: ELDERLY, ServiceCategory.CHILDREN: CHILDREN, ServiceCategory.YOUTH: CHILDREN,
            ServiceCategory.COMMUNITY_BUILDING: COMMUNITY}


def profile_of(contract: Contract) -> Profile:
    return PROFILES.get(contract.tender.plan.category, OTHER)


@dataclass(eq=False)
class Person:
    """Someone a contract serves, before and after they are in the register."""
    number: str
    name: str
    gender: Gender
    birth: date
    community: Area
    categories: list[str]
    guardian: str
    phone: str
    first_day: date | None = None   # the day they were first served
    record: object = None           # the register entry, once made


@dataclass(eq=False)
class Entry:
    day: date
    kind: ActivityType
    slots: int
    crew: int
    topic: str
    place: str
    community: Area
    people: list[Person] = field(default_factory=list)
    head: int = 0
    group: str = ""
    session: int | None = None
    # What the planning pass fills in: new people to introduce, people to repeat, attendance.
    new: int = 0
    repeats: int = 0
    attendance: int = 0
    start: time | None = None
    end: time | None = None
    workers: list[SocialWorker] = field(default_factory=list)


class People:
    """Makes the people of one district's registers: unique, valid identity numbers whose birth date
    and sex digit agree with the person."""

    def __init__(self, rng: random.Random, today: date):
        self.rng, self.today, self.numbers, self.seq = rng, today, set(), 100

    def new(self, profile: Profile, communities: list[Area]) -> Person:
        rng = self.rng
        low, high = profile.ages
        # Ages by year of birth, as the register reckons them.
        birth = date(self.today.year - rng.randint(low, high), rng.randint(1, 12), rng.randint(1, 28))
        while True:
            self.seq += 1
            number = identity.make(f"510107{birth.strftime('%Y%m%d')}{self.seq % 1000:03d}")
            if number not in self.numbers:
                break
        self.numbers.add(number)
        gender = Gender.MALE if self.seq % 2 else Gender.FEMALE
        given = profile.names[1 if gender == Gender.MALE else 0]
        categories = [c for c, chance in profile.categories if rng.random() < chance][:1]
        minor = self.today.year - birth.year < 18
        guardian = (rng.choice(SURNAMES) + rng.choice(ADULT_NAMES[rng.randint(0, 1)])) if minor else ""
        return Person(number=number, name=rng.choice(SURNAMES) + rng.choice(given), gender=gender, birth=birth,
                      community=rng.choice(communities), categories=categories, guardian=guardian,
                      phone=f"139{rng.randint(10000000, 99999999)}")


def event_topic(rng: random.Random, profile: Profile, day: date, used: set[str] | None = None) -> str:
    """A community event fit for the season (Mid-Autumn lanterns in September, not in June), a
    seasonal one when there is one, and one not held before (`used`, added to) while any is left."""
    used = set() if used is None else used
    fitting = [topic for topic, months in profile.events if not months or day.month in months]
    seasonal = [topic for topic, months in profile.events if day.month in months]
    fresh = [t for t in seasonal if t not in used] or [t for t in fitting if t not in used] or fitting
    topic = rng.choice(fresh)
    used.add(topic)
    return topic


def _spread(rng: random.Random, count: int, start: date, days: int, jitter: float = .3) -> list[date]:
    """`count` days spread evenly over the term, each moved a little at random."""
    return [start + timedelta(days=min(days, max(0, int((k + .5 + rng.uniform(-jitter, jitter)) / count * days))))
            for k in range(count)]


def _near_weekend(day: date, start: date, end: date) -> date:
    """The Saturday of the week (community events are held at weekends), within the term."""
    saturday = day + timedelta(days=5 - day.weekday())
    return saturday if start <= saturday <= end else day


def _weekday(day: date, end: date) -> date:
    while day.weekday() >= 5 and day < end:
        day += timedelta(days=1)
    return day


def plan_ledger(rng: random.Random, contract: Contract, communities: list[Area], people: People) -> list[Entry]:
    """The contract's entries over its whole term, meeting its targets by the end of it."""
    profile = profile_of(contract)
    targets = contract.targets()
    start, end = contract.start_date, contract.end_date
    days = max(1, (end - start).days)
    years = days / 365
    cases, groups = targets["target_cases"], targets["target_groups"]
    sessions = max(targets["target_group_sessions"], groups)
    events = targets["target_events"]
    deliberations = round(profile.deliberations_a_year * years) if profile.deliberations else 0
    trainings = max(1, round(profile.trainings_a_year * years))

    def new() -> Person:
        return people.new(profile, communities)

    def entry(day, kind, slots, crew, topic, place, **extra) -> Entry:
        return Entry(day=day, kind=kind, slots=slots, crew=crew, topic=topic, place=place,
                     community=rng.choice(communities), **extra)

    entries: list[Entry] = []
    # Groups meet weekly (twice a week on a short term), their starts spread over the term.
    per_group = [sessions // groups + (1 if j < sessions % groups else 0) for j in range(groups)] if groups else []
    group_attendance = 0
    for j, count in enumerate(per_group):
        interval = 7 if days >= 120 else max(2, days // (3 * count))
        first = start + timedelta(days=int((j + .5) / groups * max(1, days - count * interval)))
        members = [new() for _ in range(rng.randint(6, 10))]
        name = profile.groups[j % len(profile.groups)] + (f"（{j // len(profile.groups) + 1}期）"
                                                          if j >= len(profile.groups) else "")
        for n in range(count):
            day = _weekday(first + timedelta(days=n * interval), end)
            absent = 0 if n == 0 else rng.randint(0, 2)   # everyone comes to the first session
            present = rng.sample(members, len(members) - absent)
            topic = FIRST_SESSION if n == 0 else LAST_SESSION if n == count - 1 else SESSION_TOPICS[(n - 1) % len(SESSION_TOPICS)]
            entries.append(entry(day, GROUP, 1, 2, topic, "社区活动室",
                                 group=name, session=n + 1, people=present))
            group_attendance += len(present)
    for day in _spread(rng, deliberations, start, days):
        entries.append(entry(_weekday(day, end), DELIBERATION, 1, 1, rng.choice(profile.deliberations), "居委会会议室",
                             repeats=rng.randint(5, 9)))
    for day in _spread(rng, trainings, start, days):
        entries.append(entry(_near_weekend(day, start, end), TRAINING, 2, 1, rng.choice(profile.trainings),
                             "社区党群服务中心", head=rng.randint(10, 20)))
    # Case visits fill the hours the other services leave; the people-times and people they leave
    # come to the community events.
    other_hours = SLOT_HOURS * sum(e.slots for e in entries) + SLOT_HOURS * 2 * events
    hours_left = targets["target_service_hours"] * rng.uniform(.99, 1.03) - other_hours
    visits = max(cases, round(hours_left / SLOT_HOURS)) if cases else 0
    case_people = [new() for _ in range(cases)]
    # A fifth of the cases are taken on in the first fortnight (from the needs assessment), the rest
    # spread over the term; each is followed for some months.
    early = math.ceil(cases * .2)
    openings = [start + timedelta(days=int(i / max(1, early) * min(14, days // 4))) for i in range(early)]
    openings += [start + timedelta(days=int((.1 + .8 * (i + .5) / max(1, cases - early)) * days))
                 for i in range(cases - early)]
    follow = max(28, int(days * .4))
    visit_days = sorted(_weekday(day, end) for day in _spread(rng, visits, start, days, jitter=.5))
    times = {id(p): 0 for p in case_people}
    for day in visit_days:
        due = [p for p, opened in zip(case_people, openings) if opened <= day and times[id(p)] == 0]
        active = [p for p, opened in zip(case_people, openings) if opened <= day <= opened + timedelta(days=follow)]
        pool = due[:1] or active or [p for p, opened in zip(case_people, openings) if opened <= day] or case_people[:1]
        person = min(pool, key=lambda p: (times[id(p)], rng.random()))
        times[id(person)] += 1
        entries.append(entry(day, CASE, 1, 1, rng.choice(profile.cases), "服务对象家中", people=[person]))
    # Community events take what is left of the person-times and the people.
    repeats_each = 5
    known = cases + sum(len(e.people) for e in entries if e.kind == GROUP and e.session == 1)
    new_each = max(0, (targets["target_people"] * rng.uniform(.99, 1.03) - known) / events) if events else 0
    taken = visits + group_attendance + sum(e.repeats + e.head for e in entries if e.kind in (DELIBERATION, TRAINING))
    attend_each = max(0, (targets["target_person_times"] * rng.uniform(.99, 1.03) - taken) / events) if events else 0
    carried, held = 0.0, set()
    for day in _spread(rng, events, start, days):
        carried += new_each
        fresh = int(carried)
        carried -= fresh
        attendance = max(fresh + repeats_each, round(attend_each * rng.uniform(.85, 1.15)))
        day = _near_weekend(day, start, end)
        entries.append(entry(day, EVENT, 2, 3, event_topic(rng, profile, day, held), "社区党群服务中心",
                             new=fresh, repeats=repeats_each, attendance=attendance))
    entries.sort(key=lambda e: (e.day, e.kind.value))
    # People are met in time order: events bring new people and see some already served.
    served: list[Person] = []
    for e in entries:
        if e.kind == EVENT:
            e.people = [new() for _ in range(e.new)] + rng.sample(served, min(len(served), e.repeats))
            e.head = max(0, e.attendance - len(e.people))
        elif e.kind == DELIBERATION:
            e.people = rng.sample(served, min(len(served), e.repeats))
            e.head = 0 if e.people else e.repeats
        for person in e.people:
            if person.first_day is None:
                person.first_day = e.day
                served.append(person)
    return entries


def _starts(slots: tuple[int, ...], length: int) -> list[int]:
    """First slots of `length` slots in a row among `slots`, with no break between them."""
    return [s for s in slots if all(s + k in slots and (k == 0 or SLOTS[s + k - 1][1] == SLOTS[s + k][0])
                                    for k in range(length))]


def schedule(rng: random.Random, entries: list[Entry], workers: list[SocialWorker], until: date,
             weekday_slots: tuple[int, ...], resting: set[tuple[int, date]],
             busy: set[tuple[int, date, int]]) -> list[Entry]:
    """Times and workers for the entries up to `until`: no worker in two places at once (`busy`
    holds the (worker id, day, slot) already taken, and is added to), none on a day off (`resting`:
    (worker id, day)); an entry that finds no room moves to the next day."""
    done = []
    for e in sorted((e for e in entries if e.day <= until), key=lambda e: (e.day, -e.slots)):
        day = e.day
        while day <= until:
            everything = tuple(range(len(SLOTS)))
            slots = weekday_slots if day.weekday() < 5 else everything
            starts = _starts(slots, e.slots) or _starts(everything, e.slots)
            rng.shuffle(starts)
            placed = False
            for s in starts:
                free = [w for w in workers if (w.id, day) not in resting
                        and not any((w.id, day, s + k) in busy for k in range(e.slots))]
                if not free:
                    continue
                rng.shuffle(free)
                crew = sorted(free, key=lambda w: sum((w.id, day, x) in busy for x in range(len(SLOTS))))[:e.crew]
                for w in crew:
                    busy.update((w.id, day, s + k) for k in range(e.slots))
                e.day, e.start, e.end, e.workers = day, SLOTS[s][0], SLOTS[s + e.slots - 1][1], crew
                placed = True
                break
            if placed:
                done.append(e)
                break
            day += timedelta(days=1)
    return done


def _row(e: Entry) -> list[str]:
    return [e.day.isoformat(), e.start.strftime("%H:%M"), e.end.strftime("%H:%M"), TYPE_WORD[e.kind], e.community.name,
            e.place, "、".join(w.name for w in e.workers), ";".join(p.number for p in e.people), str(e.head or ""),
            f"{e.slots * SLOT_HOURS:g}", e.group, str(e.session or ""), e.topic, "", ""]


def _csv_upload(rows: list[list], name: str) -> FileStorage:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return FileStorage(stream=io.BytesIO(("\ufeff" + buffer.getvalue()).encode("utf-8")), filename=name)


def _register(manager: User, org_id: int, person: Person) -> None:
    """The person enters the register with the consent given on the day they were first served."""
    minor = person.guardian != ""
    person.record = services.create_beneficiary(
        manager, org_id, name=person.name, gender=person.gender, id_number=person.number,
        birth_year=person.birth.year, community=person.community, categories=person.categories,
        phone=person.phone, consent_by=ConsentBy.GUARDIAN if minor else ConsentBy.SELF,
        guardian_name=person.guardian, consent_method=ConsentMethod.WRITTEN, consent_on=person.first_day,
        sensitive_consent=True, sensitive_consent_purpose="核实服务对象身份、确认救助资格并电话回访",
        sensitive_consent_on=person.first_day)


def _share_people(rng: random.Random, contract: Contract, entries: list[Entry], earlier) -> None:
    """Two people served by an earlier contract of the same organization, running at the same time,
    are also named at this contract's first community event: the same person counted by two
    contracts, as an auditor would find it."""
    events = [e for e in entries if e.kind == EVENT]
    for other, other_entries in earlier:
        if other.organization_id != contract.organization_id or other.end_date < contract.start_date or not events:
            continue
        known = list(dict.fromkeys(p for e in other_entries if e.kind == EVENT for p in e.people
                                   if p.first_day is not None and p.first_day < contract.start_date))
        if len(known) >= 2:
            for person in rng.sample(known, 2):
                events[0].people.append(person)
                events[0].head = max(0, events[0].head - 1)
            return


def delivery_flow(now: datetime, imports: tuple[datetime, ...] = ()):
    """The organizations' side of delivery as a flow for the demo runner: at each of `imports` (and
    three hours before `now`) every organization registers the people it first served since its last
    ledger and imports the ledger of those days; then a few entries are made on a phone."""
    moments = [m for m in imports if m < now - timedelta(hours=3)] + [now - timedelta(hours=3)]
    yield moments[0]
    rng = random.Random(20261121)
    manager_of = {u.organization_id: u for u in db.session.execute(
        sa.select(User).where(User.role == "org_manager").order_by(User.id)).unique().scalars()}
    last_day = clock.to_local(now - timedelta(hours=3)).date() - timedelta(days=1)
    linked = db.session.execute(sa.select(SocialWorker).where(SocialWorker.user_id.is_not(None))
                                .order_by(SocialWorker.id)).unique().scalars().first()
    # The phone entries of the last three days are that worker's only ones.
    resting = {(linked.id, last_day - timedelta(days=n)) for n in range(3)} if linked else set()
    people = People(rng, clock.to_local(now).date())
    busy: set = set()   # (worker, day, slot) across all of an organization's contracts
    ledgers: list[tuple[Contract, list[Entry]]] = []
    with force_locale("zh_CN"):  # the template's headings, as a Chinese organization's file has them
        header = ledger.headings()
    registered: set[int] = set()
    after = date.min
    for index, moment in enumerate(moments):
        if index:
            yield moment
        # A contract that has started is planned the first time its organization hands in a ledger;
        # an organization's social workers serve all of its contracts.
        planned = {c.id for c, _e in ledgers}
        for contract in db.session.execute(sa.select(Contract).where(Contract.status.in_(
                [ContractStatus.IN_PROGRESS, ContractStatus.COMPLETED, ContractStatus.CLOSED]))
                .order_by(Contract.id)).unique().scalars():
            if contract.id in planned:
                continue
            org_id = contract.organization_id
            staff = db.session.execute(sa.select(SocialWorker).where(SocialWorker.organization_id == org_id)
                                       .order_by(SocialWorker.id)).unique().scalars().all()
            services.set_contract_workers(manager_of[org_id], contract, staff)
            entries = plan_ledger(rng, contract, list(contract.tender.plan.communities), people)
            _share_people(rng, contract, entries, ledgers)
            ledgers.append((contract, schedule(rng, entries, staff, min(contract.end_date, last_day),
                                               profile_of(contract).weekday_slots, resting, busy)))
        # Each import brings the rows up to the day before it, the way organizations hand in their
        # Excel ledgers every few weeks; the people first served in those days are registered first.
        upto = clock.to_local(moment).date() - timedelta(days=1)
        for contract, entries in ledgers:
            chunk = sorted((e for e in entries if after < e.day <= upto), key=lambda e: (e.day, e.start))
            if not chunk:
                continue
            manager = manager_of[contract.organization_id]
            for e in chunk:
                for person in e.people:
                    if id(person) not in registered:
                        registered.add(id(person))
                        _register(manager, contract.organization_id, person)
            batch = ledger.create_batch(manager, contract, _csv_upload(
                [header, *map(_row, chunk)], f"{contract.number}服务台账{upto:%Y%m%d}.csv"))
            ledger.run_check(manager, batch)
            if batch.error_count:
                raise RuntimeError(f"demo ledger for {contract.number} has errors: {batch.errors[:3]}")
            ledger.run_import(manager, batch)
        after = upto
    _phone_entries(ledgers, linked, manager_of, clock.to_local(clock.now()).date())


def _phone_entries(ledgers, worker: SocialWorker | None, manager_of, today: date) -> None:
    """The social worker's entries of the last days, made on a phone: one corrected by the manager,
    one sent twice, a long day with an emergency that the manager explains, and one meeting booked
    over a visit."""
    if worker is None:
        return
    found = [(c, entries) for c, entries in ledgers if c.status == ContractStatus.IN_PROGRESS
             and any(w.id == worker.id for w in c.workers)]
    if not found:
        return
    contract, entries = found[0]
    manager = manager_of[contract.organization_id]
    user = db.session.get(User, worker.user_id)
    community = contract.tender.plan.communities[0]
    known = list(dict.fromkeys(p.record for e in entries for p in e.people if p.record is not None))
    cases = list(dict.fromkeys(e.people[0].record for e in entries if e.kind == CASE))
    if len(known) < 16 or len(cases) < 3:
        return

    def visit(actor, day, start, end, person, topic):
        return services.record_activity(actor, contract, dict(
            type=CASE, activity_date=day, start_time=start, end_time=end, community=community,
            place="服务对象家中", workers=[worker], participants=[person], head_count=0, topic=topic))

    yesterday, two_days, three_days = (today - timedelta(days=n) for n in (1, 2, 3))
    event = dict(type=EVENT, activity_date=two_days, community=community, place="社区广场", workers=[worker],
                 participants=known[:6], head_count=25,
                 topic=event_topic(random.Random(two_days.toordinal()), profile_of(contract), two_days))
    first = services.record_activity(user, contract, {**event, "start_time": time(9, 0), "end_time": time(11, 30)})
    services.correct_activity(manager, first, {**event, "start_time": time(9, 0), "end_time": time(11, 0),
                                               "head_count": 32}, "签到表复核后更正人数和结束时间。")
    # The same visit sent twice from a phone with a poor connection.
    for _ in range(2):
        visit(user, two_days, time(14, 0), time(15, 30), cases[0], "居家探访")
    visit(user, yesterday, time(9, 0), time(10, 30), cases[1], "用药提醒与健康监测")
    # A long day: an emergency kept the worker with one person into the evening, past 12 hours.
    long_day = [visit(manager, three_days, start, end, cases[2], "紧急个案处置") for start, end in
                ((time(7, 0), time(11, 30)), (time(12, 0), time(16, 30)), (time(17, 0), time(21, 30)))]
    # A residents' meeting booked over the morning's visit.
    services.record_activity(manager, contract, dict(
        type=DELIBERATION, activity_date=three_days, start_time=time(10, 0), end_time=time(11, 0),
        community=community, place="居委会会议室", workers=[worker], participants=known[10:16], head_count=0,
        topic="院落加装电梯议事"))
    hours = db.session.execute(sa.select(RedFlag).where(RedFlag.kind == RedFlagKind.WORKER_HOURS,
                                                        RedFlag.contract_id == contract.id)).scalars().first()
    if hours is not None and long_day:
        flags.explain_flag(manager, hours, "服务对象凌晨突发疾病，社工陪同送医并留院看护至晚间，已安排次日补休。")
