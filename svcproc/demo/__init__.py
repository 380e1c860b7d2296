"""A deterministic demo dataset built through the services and workflows: this module loads the
district (areas, organizations, social workers, users) and is the entry point (`load_demo`);
procurement.py, delivery.py and evaluations.py play the months of work forward."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..accounts import passwords
from ..accounts.services import create_user
from ..core import clock
from ..core.permissions import Role
from ..extensions import db
from ..registry import creditcode
from ..registry.models import (Area, AreaLevel, CertificationLevel, Organization, OrgKind, OrgRating, OrgStatus,
                              RegistrationType)
from ..registry.services import create_area, create_organization, create_worker
from ..registry.workflow import set_organization_status

SSA = RegistrationType.SOCIAL_SERVICE_AGENCY
UNCERTIFIED, ASSISTANT, INTERMEDIATE, SENIOR = (CertificationLevel.NONE, CertificationLevel.ASSISTANT,
                                                CertificationLevel.INTERMEDIATE, CertificationLevel.SENIOR)

DISTRICT = ("510107", "武侯区")

# (street code, street name, ((community code, community name), ...))
STREETS = (
    ("510107001", "玉林街道", (
        ("510107001001", "玉林北路社区"),
        ("510107001002", "玉林东路社区"),
        ("510107001003", "玉林西路社区"),
        ("510107001004", "黉门街社区"),
    )),
    ("510107002", "浆洗街道", (
        ("510107002001", "洗面桥社区"),
        ("510107002002", "锦里社区"),
        ("510107002003", "高升桥社区"),
        ("510107002004", "南浦西路社区"),
    )),
    ("510107003", "红牌楼街道", (
        ("510107003001", "红牌楼社区"),
        ("510107003002", "佳灵路社区"),
        ("510107003003", "太平园社区"),
        ("510107003004", "棕树社区"),
    )),
)

# (community code, ((grid code, grid name), ...))
GRIDS = (
    ("510107001001", (
        ("510107001001001", "玉林北路社区第一网格"),
        ("510107001001002", "玉林北路社区第二网格"),
        ("510107001001003", "玉林北路社区第三网格"),
    )),
    ("510107003001", (
        ("510107003001001", "红牌楼社区第一网格"),
        ("510107003001002", "红牌楼社区第二网格"),
    )),
)

# Credit-code registration prefix (GB 32100: 5 = civil affairs; 1 social group, 2 social service agency).
CREDIT_PREFIX = {SSA: "52", RegistrationType.SOCIAL_GROUP: "51", RegistrationType.FOUNDATION: "53"}

# (org code, name, registration type, rating, street code, address, contact, mobile, email)
SERVICE_ORGS = (
    ("MJ0K1A2B", "成都市武侯区阳光社会工作服务中心", SSA, OrgRating.A5, "510107001",
     "成都市武侯区玉林北路18号2楼", "李晓梅", "13880010001", "yangguang@example.org"),
    ("MJ0K3C4D", "成都市武侯区同心社会工作服务中心", SSA, OrgRating.A4, "510107002",
     "成都市武侯区洗面桥街26号", "张伟", "13880010002", "tongxin@example.org"),
    ("MJ0K5E6F", "成都市武侯区锦绣社会工作服务中心", SSA, OrgRating.A4, "510107003",
     "成都市武侯区佳灵路9号附3号", "王芳", "13980010003", "jinxiu@example.org"),
    ("MJ0K7G8H", "成都市武侯区和谐家园社会工作服务中心", SSA, OrgRating.A3, "510107001",
     "成都市武侯区黉门街55号", "刘洋", "15080010004", "hexie@example.org"),
    ("MJ0K9J1K", "成都市武侯区社会工作协会", RegistrationType.SOCIAL_GROUP, OrgRating.A3, "510107002",
     "成都市武侯区高升桥东路3号", "陈静", "18180010005", "xiehui@example.org"),
    ("MJ0L2L3M", "成都市武侯区启明社会工作服务社", SSA, OrgRating.NONE, "510107003",
     "成都市武侯区太平园中二路7号", "杨帆", "17780010006", "qiming@example.org"),
)

# (index into SERVICE_ORGS, reason): the one organization that is suspended.
SUSPENDED = (3, "2024年度检查结论为不合格，责令限期整改；整改期间暂停承接政府购买服务项目。")

EVALUATION_ORG = ("MJ0M4N5P", "四川省社会工作评估中心", "510000", SSA, OrgRating.A5,
                  "成都市青羊区人民中路一段16号", "赵明", "13880020001", "pinggu@example.org")

# (index into SERVICE_ORGS, name, certification level, certificate number, mobile)
WORKERS = (
    (0, "周婷", INTERMEDIATE, "ZS20180510001", "13881010101"),
    (0, "吴昊", SENIOR, "ZS20150520002", "13881010102"),
    (0, "郑丽娟", ASSISTANT, "ZS20210630003", "13881010103"),
    (0, "黄宇航", ASSISTANT, "ZS20220620004", "13881010104"),
    (0, "何雪", UNCERTIFIED, "", "13881010105"),
    (1, "罗建华", INTERMEDIATE, "ZS20170610005", "13982020201"),
    (1, "谢敏", ASSISTANT, "ZS20200620006", "13982020202"),
    (1, "唐晓东", ASSISTANT, "ZS20230620007", "13982020203"),
    (1, "冯倩", UNCERTIFIED, "", "13982020204"),
    (2, "邓超", SENIOR, "ZS20160520008", "15183030301"),
    (2, "曾琳", INTERMEDIATE, "ZS20190610009", "15183030302"),
    (2, "彭小燕", ASSISTANT, "ZS20210620010", "15183030303"),
    (3, "苏永强", INTERMEDIATE, "ZS20180620011", "18084040401"),
    (3, "蒋丹", ASSISTANT, "ZS20220610012", "18084040402"),
    (3, "韩磊", UNCERTIFIED, "", "18084040403"),
    (4, "余佳", INTERMEDIATE, "ZS20190620013", "17785050501"),
    (4, "潘志刚", ASSISTANT, "ZS20200610014", "17785050502"),
    (4, "袁梦", UNCERTIFIED, "", "17785050503"),
    (5, "邱天宇", ASSISTANT, "ZS20230610015", "13586060601"),
    (5, "钟雨欣", UNCERTIFIED, "", "13586060602"),
)

# The worker (index into WORKERS) whose login account is the `socialworker` user.
LINKED_WORKER = 0

# (username, role, full name, email, organization: None, "evaluation" or index into SERVICE_ORGS)
USERS = (
    ("admin", Role.ADMIN, "刘志强", "admin@example.org", None),
    ("procurement", Role.PROCUREMENT, "陈晓燕", "procurement@example.org", None),
    ("expert", Role.EXPERT, "张明华", "expert@example.org", None),
    ("expert2", Role.EXPERT, "李文静", "expert2@example.org", None),
    ("expert3", Role.EXPERT, "赵立新", "expert3@example.org", None),
    ("orgmanager", Role.ORG_MANAGER, SERVICE_ORGS[0][6], SERVICE_ORGS[0][8], 0),
    ("orgmanager2", Role.ORG_MANAGER, SERVICE_ORGS[1][6], SERVICE_ORGS[1][8], 1),
    ("orgmanager3", Role.ORG_MANAGER, SERVICE_ORGS[2][6], SERVICE_ORGS[2][8], 2),
    ("orgmanager4", Role.ORG_MANAGER, SERVICE_ORGS[4][6], SERVICE_ORGS[4][8], 4),
    ("socialworker", Role.SOCIAL_WORKER, WORKERS[LINKED_WORKER][1], "socialworker@example.org",
     WORKERS[LINKED_WORKER][0]),
    ("evaluator", Role.EVALUATOR, "周慧敏", "evaluator@example.org", "evaluation"),
    ("evaluator2", Role.EVALUATOR, "王建国", "evaluator2@example.org", "evaluation"),
    ("evaluator3", Role.EVALUATOR, "陈思雨", "evaluator3@example.org", "evaluation"),
    # The bureau's own evaluator and two community representatives (居委会) who score as parties.
    ("bureaueval", Role.EVALUATOR, "林海涛", "bureaueval@example.org", None),
    ("communityeval", Role.EVALUATOR, "何淑芬", "communityeval@example.org", None),
    ("communityeval2", Role.EVALUATOR, "杜建平", "communityeval2@example.org", None),
    ("auditor", Role.AUDITOR, "孙卫东", "auditor@example.org", None),
)


def demo_is_loaded() -> bool:
    """True when the database already holds any organization."""
    return db.session.execute(sa.select(Organization.id).limit(1)).first() is not None


def _load_areas() -> dict[str, Area]:
    """Create the district, streets, communities and grids; return them by code."""
    areas: dict[str, Area] = {}

    def add(level: AreaLevel, code: str, name: str, parent: Area | None) -> Area:
        areas[code] = create_area(None, level=level, code=code, name=name, parent=parent)
        return areas[code]

    district = add(AreaLevel.DISTRICT, *DISTRICT, None)
    for street_code, street_name, communities in STREETS:
        street = add(AreaLevel.STREET, street_code, street_name, district)
        for code, name in communities:
            add(AreaLevel.COMMUNITY, code, name, street)
    for community_code, grids in GRIDS:
        for code, name in grids:
            add(AreaLevel.GRID, code, name, areas[community_code])
    return areas


def _credit_code(reg_type: RegistrationType, division: str, org_code8: str) -> str:
    code = creditcode.make(CREDIT_PREFIX[reg_type], division, org_code8)
    return creditcode.validate(code)


def _load_organizations(areas: dict[str, Area]) -> tuple[list[Organization], Organization]:
    """Create the service organizations (one suspended) and the evaluation organization."""
    orgs = []
    for org_code8, name, reg_type, rating, street, address, contact, phone, email in SERVICE_ORGS:
        orgs.append(create_organization(
            None, name=name, credit_code=_credit_code(reg_type, DISTRICT[0], org_code8), kind=OrgKind.SERVICE,
            registration_type=reg_type, rating=rating, area=areas[street], address=address,
            contact_name=contact, contact_phone=phone, contact_email=email,
        ))
    index, reason = SUSPENDED
    set_organization_status(None, orgs[index], OrgStatus.SUSPENDED, reason)
    org_code8, name, division, reg_type, rating, address, contact, phone, email = EVALUATION_ORG
    evaluation = create_organization(
        None, name=name, credit_code=_credit_code(reg_type, division, org_code8), kind=OrgKind.EVALUATION,
        registration_type=reg_type, rating=rating, area=None, address=address,
        contact_name=contact, contact_phone=phone, contact_email=email,
    )
    return orgs, evaluation


def _load_users(orgs: list[Organization], evaluation: Organization,
                password: str | None) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """Create one account per USERS row; return (username, role, password) rows and ids by username."""
    credentials, ids = [], {}
    for username, role, full_name, email, org_ref in USERS:
        organization = evaluation if org_ref == "evaluation" else (None if org_ref is None else orgs[org_ref])
        secret = password if password is not None else passwords.generate_password()
        user = create_user(None, username=username, role=role, password=secret, full_name=full_name,
                           email=email, organization=organization, must_change_password=False)
        credentials.append((username, role.value, secret))
        ids[username] = user.id
    return credentials, ids


def _load_workers(orgs: list[Organization], linked_user_id: int) -> None:
    for i, (org_index, name, level, certificate, phone) in enumerate(WORKERS):
        create_worker(None, orgs[org_index], name=name, certification_level=level, certificate_number=certificate,
                      phone=phone, user_id=linked_user_id if i == LINKED_WORKER else None)


def load_demo(password: str | None = None) -> list[tuple[str, str, str]]:
    """Create the demo dataset in the current session (flushes, never commits); return the logins.

    With `password` every demo user gets it (it must pass the password rules for every user name,
    else ValidationError before anything is created); without, each gets a generated one.
    """
    if password is not None:
        for username, *_rest in USERS:
            passwords.check_strength(password, username)
    from .procurement import START_DAYS_AGO, load_procurement_demo

    now = clock.now()
    # The demo's history starts months ago and is played forward to the present, so dates,
    # deadlines and the audit trail read as they would in a real district.
    previous = clock.frozen()
    clock.freeze(now - timedelta(days=START_DAYS_AGO + 1))
    try:
        areas = _load_areas()
        orgs, evaluation = _load_organizations(areas)
        credentials, user_ids = _load_users(orgs, evaluation, password)
        _load_workers(orgs, user_ids["socialworker"])
        from .delivery import delivery_flow
        from .evaluations import evaluation_flows, ledger_imports

        # Delivery and evaluations play forward with the tenders: each evaluation opens after the
        # ledgers it measures were imported.
        load_procurement_demo(orgs, now, [delivery_flow(now, ledger_imports(now)), *evaluation_flows(now)])
    finally:
        clock.freeze(previous)
    # The procurement red flags as the daily job would have left them (the auditor's desk shows them).
    from ..monitoring import flags

    flags.refresh()
    return credentials
