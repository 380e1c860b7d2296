"""Demo service delivery: beneficiary registers, months of service ledgers imported the way
organizations bring their Excel ledgers, a few entries recorded and corrected by hand, and the red
flags an auditor would find in them.
"""
from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from ..accounts.models import User
from ..contracts.models import Contract, ContractStatus
from ..core import clock
from ..delivery import identity, ledger, services
from ..delivery.models import ActivityType, ConsentBy, ConsentMethod, Gender
from ..extensions import db
from ..registry.models import Area, SocialWorker

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ("秀英", "桂兰", "玉珍", "淑华", "建国", "志强", "德明", "国华", "秀兰", "凤英", "子涵", "欣怡", "浩然", "梓轩",
         "雨桐", "思远", "一诺", "俊杰", "美玲", "文博", "晓东", "丽华", "春梅", "金凤", "海燕", "宇航", "佳琪", "明轩")
TOPICS = {
    ActivityType.COMMUNITY_EVENT: ("防诈骗知识讲座", "重阳敬老茶话会", "健康义诊", "社区邻里节", "垃圾分类宣传"),
    ActivityType.DELIBERATION: ("院落停车秩序议事", "楼道杂物清理议事", "社区花园认养议事"),
    ActivityType.VOLUNTEER_TRAINING: ("志愿者探访技巧培训", "急救知识培训"),
    ActivityType.GROUP_SESSION: ("互助小组活动",),
    ActivityType.CASE_WORK: ("个案跟进",),
}
TYPE_WORD = {ActivityType.CASE_WORK: "个案", ActivityType.GROUP_SESSION: "小组",
             ActivityType.COMMUNITY_EVENT: "社区活动", ActivityType.DELIBERATION: "微议事",
             ActivityType.VOLUNTEER_TRAINING: "志愿者培训"}


def _person_number(rng: random.Random, birth: date, seq: int) -> str:
    return identity.make(f"510107{birth.strftime('%Y%m%d')}{seq % 1000:03d}")


def _register(rng, org_id, communities, count, young: bool, on: date, start_seq: int) -> list:
    people = []
    for i in range(count):
        if young:
            birth = date(on.year - rng.randint(6, 13), rng.randint(1, 12), rng.randint(1, 28))
        else:
            birth = date(on.year - rng.randint(62, 92), rng.randint(1, 12), rng.randint(1, 28))
        number = _person_number(rng, birth, start_seq + i)
        child = on.year - birth.year < 14
        people.append(services.create_beneficiary(
            None, org_id, name=rng.choice(SURNAMES) + rng.choice(GIVEN), gender=rng.choice(list(Gender)),
            id_number=number, birth_year=birth.year, community=rng.choice(communities),
            categories=["left_behind_child"] if young and rng.random() < .4 else
            (["elderly_alone"] if not young and rng.random() < .6 else ["low_income"]),
            phone=f"139{rng.randint(10000000, 99999999)}", consent_by=ConsentBy.GUARDIAN if child else ConsentBy.SELF,
            guardian_name=(rng.choice(SURNAMES) + rng.choice(GIVEN)) if child else "",
            consent_method=rng.choice(list(ConsentMethod)), consent_on=on))
    return people


SLOTS = ((time(8, 30), time(10, 0)), (time(10, 0), time(11, 30)), (time(12, 30), time(14, 0)),
         (time(14, 0), time(15, 30)), (time(15, 30), time(17, 0)), (time(18, 30), time(20, 0)))


def _ledger_rows(rng, contract: Contract, people, workers, communities, until: date, numbers: dict) -> list[list]:
    """Months of a ledger: every slot of the day, up to three teams at once, never one worker twice."""
    rows = [[zh for _k, zh, _en, _h in ledger.COLUMNS]]
    groups = [(f"互助小组{i + 1}", rng.sample(people, min(9, len(people)))) for i in range(12)]
    sessions = {name: 0 for name, _m in groups}
    cases = rng.sample(people, min(30, len(people)))
    day = contract.start_date
    while day <= until:
        busy = .95 if day.weekday() < 5 else .8
        for start, end in SLOTS:
            free = list(workers)
            rng.shuffle(free)
            for _team in range(3):
                if rng.random() > busy or not free:
                    continue
                kind = rng.choices(list(TYPE_WORD), weights=(30, 30, 15, 8, 5))[0]
                size = 1 if kind == ActivityType.CASE_WORK or len(free) < 2 else 2
                crew, free = free[:size], free[size:]
                named, head, group, session = [], 0, "", ""
                if kind == ActivityType.CASE_WORK:
                    named = [rng.choice(cases)]
                elif kind == ActivityType.GROUP_SESSION:
                    group, members = rng.choice(groups)
                    if sessions[group] >= 8:
                        continue
                    sessions[group] += 1
                    session = str(sessions[group])
                    named = rng.sample(members, max(1, len(members) - rng.randint(0, 2)))
                elif kind == ActivityType.COMMUNITY_EVENT:
                    named, head = rng.sample(people, rng.randint(5, 15)), rng.randint(10, 40)
                elif kind == ActivityType.DELIBERATION:
                    named = rng.sample(people, rng.randint(5, 9))
                else:
                    head = rng.randint(8, 20)
                hours = (datetime.combine(day, end) - datetime.combine(day, start)).seconds / 3600
                rows.append([day.isoformat(), start.strftime("%H:%M"), end.strftime("%H:%M"), TYPE_WORD[kind],
                             rng.choice(communities).name, "服务对象家中" if kind == ActivityType.CASE_WORK else "社区活动室",
                             "、".join(w.name for w in crew), ";".join(numbers[p.id] for p in named), str(head or ""),
                             f"{hours:g}", group, session, rng.choice(TOPICS[kind]), "", ""])
        day += timedelta(days=1)
    return rows


def _csv_upload(rows: list[list], name: str) -> FileStorage:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return FileStorage(stream=io.BytesIO(("\ufeff" + buffer.getvalue()).encode("utf-8")), filename=name)


def delivery_flow(now: datetime, imports: tuple[datetime, ...] = ()):
    """The organizations' side of delivery as a flow for the demo runner: registers and the first
    ledgers at the first of `imports`, the ledgers since then at each later one (so evaluations in
    between see the logs up to then), and the rest with a few phone entries three hours before `now`."""
    moments = [m for m in imports if m < now - timedelta(hours=3)] + [now - timedelta(hours=3)]
    yield moments[0]
    rng = random.Random(20261121)
    manager_of = {u.organization_id: u for u in db.session.execute(
        sa.select(User).where(User.role == "org_manager").order_by(User.id)).unique().scalars()}
    contracts = db.session.execute(sa.select(Contract).where(Contract.status.in_(
        [ContractStatus.IN_PROGRESS, ContractStatus.CLOSED])).order_by(Contract.id)).unique().scalars().all()
    registers: dict[int, list] = {}
    numbers: dict[int, str] = {}
    seq = 100
    today = clock.to_local(clock.now()).date()
    last_day = clock.to_local(now - timedelta(hours=3)).date() - timedelta(days=1)
    for contract in contracts:
        org_id = contract.organization_id
        communities = [a for a in contract.tender.plan.communities] or list(
            db.session.execute(sa.select(Area).where(Area.level == "community")).unique().scalars())
        if org_id not in registers:
            young = contract.tender.plan.category.value == "children"
            people = _register(rng, org_id, communities, 150 if not young else 180, young, today, seq)
            for p in people:
                numbers[p.id] = services.identity.unseal_number(p.id_number_sealed)
            seq += 400
            registers[org_id] = people
        staff = db.session.execute(sa.select(SocialWorker).where(SocialWorker.organization_id == org_id)
                                   .order_by(SocialWorker.id)).unique().scalars().all()
        services.set_contract_workers(manager_of[org_id], contract, staff)
    # Three people served by both organizations' contracts: the same person counted twice.
    orgs = list(registers)
    if len(orgs) >= 2:
        for person in registers[orgs[0]][:3]:
            twin = services.create_beneficiary(
                None, orgs[1], name=person.name, gender=person.gender, id_number=numbers[person.id],
                birth_year=person.birth_year, community=person.community, categories=person.categories, phone="",
                consent_by=person.consent_by, guardian_name=person.guardian_name,
                consent_method=person.consent_method, consent_on=today)
            numbers[twin.id] = numbers[person.id]
            registers[orgs[1]].insert(0, twin)
    served = {}
    for contract in contracts:
        served.setdefault(contract.organization_id, []).append(contract.id)
    ledgers = []
    for contract in contracts:
        org_id = contract.organization_id
        until = min(contract.end_date, last_day)
        communities = list(contract.tender.plan.communities)
        # Two contracts of one organization serve different people: the same person in both would
        # rightly be flagged as counted twice.
        share = served[org_id]
        people = registers[org_id][share.index(contract.id)::len(share)]
        crew = list(contract.workers)[share.index(contract.id)::len(share)] or list(contract.workers)
        ledgers.append((contract, _ledger_rows(rng, contract, people, crew, communities, until, numbers)))
    # Each import brings the rows up to the day before it, the way organizations hand in their
    # Excel ledgers every few weeks.
    done = date.min
    for index, moment in enumerate(moments):
        if index:
            yield moment
        upto = clock.to_local(moment).date() - timedelta(days=1)
        for contract, (header, *rows) in ledgers:
            chunk = [row for row in rows if done < date.fromisoformat(row[0]) <= upto]
            if not chunk:
                continue
            manager = manager_of[contract.organization_id]
            batch = ledger.create_batch(manager, contract, _csv_upload([header, *chunk],
                                                                       f"{contract.number}服务台账{upto:%Y%m%d}.csv"))
            ledger.run_check(manager, batch)
            if batch.error_count:
                raise RuntimeError(f"demo ledger for {contract.number} has errors: {batch.errors[:3]}")
            ledger.run_import(manager, batch)
        done = upto
    _hand_entries(contracts, registers, manager_of, clock.to_local(clock.now()).date())


def _hand_entries(contracts, registers, manager_of, today: date) -> None:
    """Entries made on a phone: one corrected, one entered twice, and a long day that is flagged."""
    running = [c for c in contracts if c.status == ContractStatus.IN_PROGRESS]
    if not running:
        return
    contract = running[0]
    manager = manager_of[contract.organization_id]
    worker = contract.workers[0]
    community = contract.tender.plan.communities[0]
    people = registers[contract.organization_id]
    day = today - timedelta(days=2)
    base = dict(type=ActivityType.COMMUNITY_EVENT, activity_date=day, community=community, place="社区广场",
                workers=[worker], participants=people[:6], head_count=25, topic="冬季防火安全宣传")
    first = services.record_activity(manager, contract, {**base, "start_time": time(9, 0), "end_time": time(11, 30)})
    services.correct_activity(manager, first, {**base, "start_time": time(9, 0), "end_time": time(11, 0),
                                               "head_count": 32}, "签到表复核后更正人数和结束时间。")
    # The same entry submitted twice from a phone with a poor connection.
    services.record_activity(manager, contract, {**base, "start_time": time(14, 0), "end_time": time(15, 0),
                                                 "topic": "入户走访"})
    services.record_activity(manager, contract, {**base, "start_time": time(14, 0), "end_time": time(15, 0),
                                                 "topic": "入户走访"})
    # A long day: home visits late into the evening push one worker past 12 hours.
    long_day = today - timedelta(days=3)
    for start, end in ((time(7, 0), time(11, 30)), (time(12, 0), time(16, 30)), (time(17, 0), time(21, 30))):
        services.record_activity(manager, contract, dict(
            type=ActivityType.CASE_WORK, activity_date=long_day, start_time=start, end_time=end, community=community,
            place="服务对象家中", workers=[worker], participants=[people[7]], head_count=0, topic="紧急个案处置"))
    # One worker booked in two places at once.
    services.record_activity(manager, contract, dict(
        type=ActivityType.DELIBERATION, activity_date=long_day, start_time=time(10, 0), end_time=time(11, 0),
        community=community, place="居委会会议室", workers=[worker], participants=people[10:16], head_count=0,
        topic="院落加装电梯议事"))
