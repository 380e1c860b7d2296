"""Each role's home page holds what waits for that person: their own rows and not others' (scope),
every link leading to a page that answers them, and a number of SQL statements that does not grow
with the number of rows."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from html import unescape

import pytest

from svcproc.contracts import workflow as contracts
from svcproc.contracts.models import DeliverableKind
from svcproc.core.permissions import Role
from svcproc.delivery.models import RedFlag, RedFlagKind
from svcproc.evaluations import indicators
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import RoundKind, RoundStatus
from svcproc.extensions import db
from svcproc.procurement.models import TenderStatus
from svcproc.procurement import workflow as procurement
from tests.builders.accounts import UserFactory
from tests.builders.contracts import draft_contract
from tests.builders.files import pdf_upload
from tests.builders.procurement import make_plan, new_tender, panel_with, submit_need, tender_in
from tests.evaluations.conftest import SMALL_ROWS, TODAY, EvalWorld, build_eval_world
from tests.helpers import login

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture(scope="module")
def built(build_once):
    """The evaluation tests' world: two organizations with running contracts, their staff, the
    bureau, evaluators, an expert, an administrator and an auditor."""
    return build_once(build_eval_world)


@pytest.fixture
def world(built, clock) -> EvalWorld:
    clock.set(built["now"])
    return EvalWorld(built)


# --- reading the home page -------------------------------------------------------------------


def _panels(html: str) -> str:
    """The part of the page the panels fill (the auditor's: the risk overview on the desk)."""
    if '<div class="home-panels">' in html:
        return html.split('<div class="home-panels">', 1)[1].split('<section class="where-to-go"', 1)[0]
    return html.split('aria-labelledby="panel-risk-h"', 1)[1].split('aria-labelledby="search-h"', 1)[0]


def _links(part: str) -> list[str]:
    return sorted({unescape(h).split("#", 1)[0] for h in re.findall(r'href="([^"]+)"', part)})


def _home(client, user) -> str:
    assert login(client, user).status_code == 303
    response = client.get("/")
    assert response.status_code == 200
    return _panels(response.get_data(as_text=True))


def _every_link_answers(client, part: str) -> None:
    links = _links(part)
    assert links
    for url in links:
        assert client.get(url).status_code == 200, url


def _flag(contract, kind=RedFlagKind.DUPLICATE, worker_id=None, n=0) -> RedFlag:
    """A finding as the checks file it (the checks themselves are tested in tests/delivery)."""
    flag = RedFlag(kind=kind, key=f"test:{contract.id}:{kind.value}:{worker_id}:{n}", contract_id=contract.id,
                   activity_ids=[], detail={"worker_id": worker_id} if worker_id else {"count": 2},
                   found_at=datetime(2025, 6, 1 + n % 28, 2, tzinfo=timezone.utc), active=True)
    db.session.add(flag)
    db.session.flush()
    return flag


def _item(world, round_, action: str, deadline: date = TODAY + timedelta(days=10)):
    finding = ev.add_finding(world.staff, round_, "服务台账不完整")
    return ev.add_item(world.staff, finding, action=action, owner="张三", deadline=deadline)


# --- what each role sees -----------------------------------------------------------------------


def test_the_evaluator_sees_only_rounds_assigned_to_them(client, make_client, world):
    mine = world.round_in(RoundStatus.PLANNED, title="我的中期评估")
    world.round_in(RoundStatus.PLANNED, title="别人的评估", team={"第三方": ("tp2",)}, kind=RoundKind.SPECIAL)

    part = _home(client, world.users["tp1"])

    assert "我的中期评估" in part and "别人的评估" not in part
    assert f"/evaluations/rounds/{mine.id}/declare" in part
    _every_link_answers(client, part)
    other = make_client()
    assert "我的中期评估" not in _home(other, world.users["cm1"])


def test_the_evaluator_scores_after_declaring(client, world):
    round_ = world.round_in(RoundStatus.SCORING, title="待评分的评估")
    ev.declare(world.users["tp1"], world.member(round_, "tp1"), related=False)

    part = _home(client, world.users["tp1"])

    assert f"/evaluations/rounds/{round_.id}/score" in part
    _every_link_answers(client, part)


def test_the_expert_sees_the_tenders_on_whose_panel_they_sit(client, make_client, world, clock):
    expert = world.users["expert"]
    on_panel = tender_in(TenderStatus.OPENED, clock, staff=world.staff,
                         experts=panel_with(expert),
                         plan=make_plan(world.staff, title="专家在评审组的项目")).tender
    others = panel_with()
    tender_in(TenderStatus.OPENED, clock, staff=world.staff, experts=others,
              plan=make_plan(world.staff, title="专家不在评审组的项目"))

    part = _home(client, expert)

    assert f"/procurement/tenders/{on_panel.id}/declare" in part
    assert "专家不在评审组的项目" not in part
    _every_link_answers(client, part)


def test_the_org_manager_sees_their_organizations_work_only(client, world):
    _flag(world.contract)
    _flag(world.contract, n=2)
    _flag(world.contract, n=3)
    _flag(world.other_contract, n=1)
    round_ = world.round_in(RoundStatus.FINALIZED)
    _item(world, round_, "补齐本机构服务台账")
    _item(world, world.round_in(RoundStatus.SCORING, contract=world.other_contract, title="乙的评估"), "乙机构的整改")

    part = _home(client, world.manager)

    flags = part.split('id="queue-flags-explain-h"', 1)[1].split("</section>", 1)[0]
    assert flags.count("<li") == 1                 # the contract's three duplicates, explained on one page
    assert f"/contracts/{world.contract.id}/red-flags" in flags and "3" in flags
    assert f"/contracts/{world.other_contract.id}/red-flags" not in part
    assert "补齐本机构服务台账" in part and "乙机构的整改" not in part
    assert world.contract.milestones[0].title in part          # due on 1 July: within the month ahead
    assert world.other_contract.number not in part
    assert f"/contracts/{world.contract.id}/progress" in part   # outputs against targets
    _every_link_answers(client, part)


def test_the_org_manager_sees_a_returned_milestone(client, world):
    milestone = world.contract.milestones[0]
    contracts.add_deliverable(world.manager, milestone, pdf_upload("报告.pdf"), DeliverableKind.REPORT)
    contracts.submit_milestone(world.manager, milestone)
    contracts.return_milestone(world.staff, milestone, "签到表缺少签名，请补充。")

    part = _home(client, world.manager)

    returned = part.split('id="queue-returned-h"', 1)[1].split("</section>", 1)[0]
    assert f"/contracts/{world.contract.id}#m{milestone.id}" in returned
    _every_link_answers(client, part)


def test_the_social_worker_records_on_their_contracts_and_sees_their_entries(client, make_client, world):
    worker = world.users["worker"]
    mine = world.record(actor=worker, topic="我记录的活动")
    world.record(topic="经理记录的活动", start_time=datetime(2025, 1, 1, 14).time(),
                 end_time=datetime(2025, 1, 1, 15).time())
    _flag(world.contract, RedFlagKind.WORKER_HOURS, worker_id=world.worker.id)
    _flag(world.contract, RedFlagKind.WORKER_HOURS, worker_id=world.workers["second_worker"].id, n=1)

    part = _home(client, worker)

    assert f"/contracts/{world.contract.id}/services/new" in part
    assert f"/contracts/{world.other_contract.id}/services/new" not in part
    assert f"/services/{mine.id}" in part and "经理记录的活动" not in part
    assert part.count(f"/contracts/{world.contract.id}/red-flags") == 1   # about them, not a colleague
    _every_link_answers(client, part)
    idle = make_client()
    assert "/services/new" not in _home(idle, world.users["idle_worker"])


def test_procurement_staff_see_the_bureaus_steps(client, world, clock):
    need = submit_need(world.communities[0], description="希望为社区儿童开设课后服务。")
    draft = new_tender(world.staff, make_plan(world.staff, title="待发布的项目"))
    milestone = world.contract.milestones[0]
    contracts.add_deliverable(world.manager, milestone, pdf_upload("报告.pdf"), DeliverableKind.REPORT)
    contracts.submit_milestone(world.manager, milestone)
    item = _item(world, world.round_in(RoundStatus.FINALIZED), "补充督导记录")
    ev.respond(world.manager, item, "已补充督导记录。", [])

    part = _home(client, world.staff)

    assert f"/procurement/needs/{need.id}" in part
    assert f"/procurement/tenders/{draft.id}" in part
    assert f"/contracts/{world.contract.id}#m{milestone.id}" in part
    assert f"#item-{item.id}" in part
    assert "<svg" in part                                       # budget, awarded and paid
    _every_link_answers(client, part)


def test_procurement_staff_see_publicity_objections_payments_and_contracts_to_sign(client, world, clock):
    milestone = world.contract.milestones[0]
    contracts.add_deliverable(world.manager, milestone, pdf_upload("报告.pdf"), DeliverableKind.REPORT)
    contracts.submit_milestone(world.manager, milestone)
    contracts.accept_milestone(world.staff, milestone, "验收合格。")
    publicity = tender_in(TenderStatus.IN_PUBLICITY, clock, staff=world.staff,
                          plan=make_plan(world.staff, title="公示中的项目"))
    objection = procurement.file_objection(publicity.managers[1], publicity.tender, "我单位认为评分存在明显错误，请予复核。", [])
    draft = draft_contract(clock)

    part = _home(client, world.staff)

    def queue(key: str) -> str:
        return part.split(f'id="queue-{key}-h"', 1)[1].split("</section>", 1)[0]

    assert f"/procurement/tenders/{publicity.tender.id}" in queue("publicity")
    assert f"/procurement/tenders/{objection.tender_id}" in queue("objections")
    assert f"/contracts/{world.contract.id}#m{milestone.id}" in queue("pay")
    assert f"/contracts/{draft.contract.id}" in queue("sign")
    _every_link_answers(client, part)


def test_an_organization_sees_tenders_open_for_bids_and_its_own_bid(client, make_client, world, clock):
    # Two bidders (the world's two organizations); the tender stays open for bids.
    setup = tender_in(TenderStatus.PUBLISHED, clock, staff=world.staff, orgs=[world.org], managers=[world.manager],
                      prices=[40_000_000], plan=make_plan(world.staff, title="正在招标的项目"))
    [bid] = setup.bids

    part = _home(client, world.manager)
    other = _home(make_client(), world.users["other_manager"])

    assert f"/procurement/bids/{bid.id}/receipt" in part
    assert f"/procurement/tenders/{setup.tender.id}/bid" in other and "/receipt" not in other
    _every_link_answers(client, part)


def test_the_admin_sees_locked_accounts_and_draft_templates(client, world, clock):
    locked = UserFactory(role=Role.SOCIAL_WORKER, organization=world.org, username="locked-out",
                         locked_until=clock.now + timedelta(minutes=10))
    template = indicators.create_template(world.admin, name="新的评估指标（草稿）",
                                          rows=indicators.clean_rows(SMALL_ROWS), bands=indicators.default_bands_rows())

    part = _home(client, world.admin)

    assert f"/admin/users/{locked.id}/edit" in part
    assert f"/evaluations/template-versions/{template.latest.id}/edit" in part
    _every_link_answers(client, part)


def test_the_auditor_desk_opens_with_the_risk_overview(client, world):
    _flag(world.contract)
    _flag(world.other_contract, RedFlagKind.OUTSIDE_PERIOD, n=1)

    assert login(client, world.users["auditor"]).status_code == 303
    html = client.get("/").get_data(as_text=True)

    assert html.index('id="panel-risk-h"') < html.index('id="search-h"')      # under the desk's heading
    part = _panels(html)
    assert "kind=duplicate" in part and "kind=outside_period" in part
    _every_link_answers(client, part)


# --- a bounded number of statements ------------------------------------------------------------


def _grow(world, role, n: int, start: int) -> None:
    """n more rows of what the role's panels list."""
    for i in range(start, start + n):
        _flag(world.contract, worker_id=world.worker.id, kind=RedFlagKind.WORKER_HOURS, n=i)
        _flag(world.contract, kind=RedFlagKind.DUPLICATE, n=i)
        if role == Role.ADMIN:
            UserFactory(role=Role.EXPERT, username=f"locked{i}", locked_until=world.ids["now"] + timedelta(hours=1))
        if role == Role.PROCUREMENT:
            submit_need(world.communities[0], description=f"社区居民希望得到更多上门服务（第{i}条）。")
        if role == Role.SOCIAL_WORKER:
            world.record(actor=world.users["worker"], activity_date=date(2025, 6, 2) + timedelta(days=i % 10),
                         start_time=datetime(2025, 1, 1, 8 + i // 10).time(),
                         end_time=datetime(2025, 1, 1, 8 + i // 10, 30).time(), topic=f"活动{i}")


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.ORG_MANAGER, Role.SOCIAL_WORKER, Role.ADMIN, Role.AUDITOR,
                                  Role.EXPERT, Role.EVALUATOR])
def test_the_home_page_runs_the_same_statements_for_few_rows_and_many(client, world, count_queries, role):
    user = {Role.PROCUREMENT: world.staff, Role.ORG_MANAGER: world.manager, Role.SOCIAL_WORKER: world.users["worker"],
            Role.ADMIN: world.admin, Role.AUDITOR: world.users["auditor"], Role.EXPERT: world.users["expert"],
            Role.EVALUATOR: world.users["tp1"]}[role]
    assert login(client, user).status_code == 303
    _grow(world, role, 2, 0)
    client.get("/")                     # progress figures kept for the next reader
    with count_queries() as few:
        assert client.get("/").status_code == 200
    _grow(world, role, 20, 2)
    client.get("/")
    with count_queries() as many:
        assert client.get("/").status_code == 200

    assert many.count == few.count, (few.count, many.count)
    assert few.count <= 24


def test_the_spending_panel_adds_the_years_budget_awards_and_payments(app, world, clock):
    """Its one statement gives what adding up the year's plans, contracts and payments gives."""
    from collections import Counter

    import sqlalchemy as sa

    from svcproc.contracts.models import Contract, Payment
    from svcproc.contracts.panels import spending
    from svcproc.procurement.models import ProjectPlan

    milestone = world.contract.milestones[0]
    contracts.add_deliverable(world.manager, milestone, pdf_upload("报告.pdf"), DeliverableKind.REPORT)
    contracts.submit_milestone(world.manager, milestone)
    contracts.accept_milestone(world.staff, milestone, "验收合格。")
    contracts.record_payment(world.staff, milestone, amount_fen=100_000, voucher_number="PZ-001",
                             paid_on=TODAY)
    with app.test_request_context():
        figures = spending(world.staff)

    year = figures["year"]
    plans = db.session.execute(sa.select(ProjectPlan).where(ProjectPlan.fiscal_year == year)).scalars().all()
    budget, awarded, paid = Counter(), Counter(), Counter()
    for plan in plans:
        budget[plan.category] += plan.budget_fen
    for contract in db.session.execute(sa.select(Contract)).scalars():
        if contract.tender.plan.fiscal_year == year and contract.signed_on is not None:
            awarded[contract.tender.plan.category] += contract.amount_fen
    for payment in db.session.execute(sa.select(Payment)).scalars():
        if payment.contract.tender.plan.fiscal_year == year:
            paid[payment.contract.tender.plan.category] += payment.amount_fen
    assert plans and sum(awarded.values())
    assert {row["category"]: (row["budget"], row["awarded"], row["paid"]) for row in figures["by_category"]} == {
        c: (budget[c], awarded[c], paid[c]) for c in set(budget) | set(awarded) | set(paid)
        if budget[c] or awarded[c] or paid[c]}
    assert figures["totals"] == {"budget": sum(budget.values()), "awarded": sum(awarded.values()),
                                 "paid": sum(paid.values())}


def test_the_spending_panel_is_kept_until_a_payment_changes_it(client, world, count_queries):
    """Worked out once per version of plans, contracts and payments (core/versions.py): a second
    page reads no spending figures, a payment recorded makes the next page add them up again."""
    def spending_statements(counted):
        return [s for s in counted.statements if "budget_fen" in s and "UNION ALL" in s.upper()]

    def paid_sentence(html):
        return re.search(r"<h2 id=\"panel-spending-h\">.*?</h2>\s*<p>(.*?)</p>", html, re.S).group(1)

    login(client, world.staff)
    before = paid_sentence(client.get("/").get_data(as_text=True))
    with count_queries() as counted:
        again = paid_sentence(client.get("/").get_data(as_text=True))
    assert again == before and not spending_statements(counted)

    milestone = world.contract.milestones[0]
    contracts.add_deliverable(world.manager, milestone, pdf_upload("报告.pdf"), DeliverableKind.REPORT)
    contracts.submit_milestone(world.manager, milestone)
    contracts.accept_milestone(world.staff, milestone, "验收合格。")
    contracts.record_payment(world.staff, milestone, amount_fen=100_000, voucher_number="PZ-001", paid_on=TODAY)
    with count_queries() as counted:
        after = paid_sentence(client.get("/").get_data(as_text=True))
    assert spending_statements(counted) and after != before


# --- queues kept until what they are read from changes (core/nav.py, core/versions.py) ------------


def _queue_statements(counted) -> list[str]:
    return [s for s in counted.statements if "queue_total" in s]


def _queue(part: str, key: str) -> str:
    """The queue's box ("" when the page shows none)."""
    if f'id="queue-{key}-h"' not in part:
        return ""
    return part.split(f'id="queue-{key}-h"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.ORG_MANAGER])
def test_a_second_home_page_reads_no_queue_again(client, world, count_queries, role):
    user = world.staff if role == Role.PROCUREMENT else world.manager
    first = _home(client, user)
    with count_queries() as counted:
        again = _panels(client.get("/").get_data(as_text=True))

    assert again == first
    assert not _queue_statements(counted), counted.statements


def test_a_kept_queue_follows_each_change_of_what_it_lists(client, world, clock):
    """Rows added (a need, a draft tender) and columns changed (a milestone submitted, an objection
    answered, a rectification item answered) show on the next page."""
    item = _item(world, world.round_in(RoundStatus.FINALIZED), "补充督导记录")
    publicity = tender_in(TenderStatus.IN_PUBLICITY, clock, staff=world.staff,
                          plan=make_plan(world.staff, title="公示中的项目"))
    objection = procurement.file_objection(publicity.managers[1], publicity.tender,
                                           "我单位认为评分存在明显错误，请予复核。", [])
    part = _home(client, world.staff)
    assert f"/procurement/tenders/{publicity.tender.id}" in _queue(part, "objections")

    need = submit_need(world.communities[0], description="希望为社区儿童开设课后服务。")
    draft = new_tender(world.staff, make_plan(world.staff, title="待发布的项目"))
    part = _panels(client.get("/").get_data(as_text=True))
    assert f"/procurement/needs/{need.id}" in _queue(part, "needs")
    assert f"/procurement/tenders/{draft.id}" in _queue(part, "publish")

    milestone = world.contract.milestones[0]
    contracts.add_deliverable(world.manager, milestone, pdf_upload("报告.pdf"), DeliverableKind.REPORT)
    contracts.submit_milestone(world.manager, milestone)
    part = _panels(client.get("/").get_data(as_text=True))
    assert f"/contracts/{world.contract.id}#m{milestone.id}" in _queue(part, "accept")

    procurement.answer_objection(world.staff, objection, upheld=False, answer="经复核，评分无误，维持原结果。")
    ev.respond(world.manager, item, "已补充督导记录。", [])
    part = _panels(client.get("/").get_data(as_text=True))
    assert f"/procurement/tenders/{publicity.tender.id}" not in _queue(part, "objections")
    assert f"#item-{item.id}" in _queue(part, "items-review")


def test_a_kept_queue_follows_the_clock_past_a_deadline(client, make_client, world, clock):
    """A tender open for bids joins "to close and open" once its deadline has passed, though nothing
    in the database changed: the queue is worked out again each minute."""
    setup = tender_in(TenderStatus.PUBLISHED, clock, staff=world.staff, orgs=[world.org], managers=[world.manager],
                      prices=[40_000_000], plan=make_plan(world.staff, title="正在招标的项目"))
    tender = setup.tender
    part = _home(client, world.staff)
    assert f"/procurement/tenders/{tender.id}" not in _queue(part, "open")
    manager = make_client()
    bidder = _home(manager, world.manager)
    assert f"/procurement/bids/{setup.bids[0].id}/receipt" in _queue(bidder, "tenders-open")

    clock.set(tender.bid_deadline + timedelta(minutes=1))
    assert f"/procurement/tenders/{tender.id}" in _queue(_panels(client.get("/").get_data(as_text=True)), "open")
    assert f"/procurement/bids/{setup.bids[0].id}" not in _panels(manager.get("/").get_data(as_text=True))


def test_an_organizations_kept_queues_follow_a_returned_milestone_and_the_day(client, world, clock):
    milestone = world.contract.milestones[0]
    contracts.add_deliverable(world.manager, milestone, pdf_upload("报告.pdf"), DeliverableKind.REPORT)
    contracts.submit_milestone(world.manager, milestone)
    part = _home(client, world.manager)
    assert f"#m{milestone.id}" not in _queue(part, "returned")

    contracts.return_milestone(world.staff, milestone, "签到表缺少签名，请补充。")
    part = _panels(client.get("/").get_data(as_text=True))
    assert f"/contracts/{world.contract.id}#m{milestone.id}" in _queue(part, "returned")

    # The deliverables due within the month ahead: a later milestone enters once its day is near.
    later = max(world.contract.milestones, key=lambda m: m.due_date)
    assert f"#m{later.id}" not in _queue(part, "due")
    clock.set(datetime.combine(later.due_date - timedelta(days=10), datetime.min.time(), tzinfo=timezone.utc))
    part = _panels(client.get("/").get_data(as_text=True))
    assert f"#m{later.id}" in _queue(part, "due")


def test_the_kept_flag_boxes_follow_a_flag_found_and_one_explained(client, make_client, world):
    """The organization's flags to explain and the auditor's risk overview are kept until a red
    flag changes (core/versions.py)."""
    from svcproc.delivery.flags import explain_flag

    first = _flag(world.contract)
    manager = _home(client, world.manager)
    auditor = make_client()
    risk = _home(auditor, world.users["auditor"])
    assert f"/contracts/{world.contract.id}/red-flags" in _queue(manager, "flags-explain")
    assert "kind=outside_period" not in risk

    _flag(world.contract, RedFlagKind.OUTSIDE_PERIOD, n=1)
    assert "kind=outside_period" in _panels(auditor.get("/").get_data(as_text=True))

    explain_flag(world.manager, first, "两条记录是同一次活动的上午和下午场，已核实。")
    manager = _panels(client.get("/").get_data(as_text=True))
    assert "kind=duplicate" not in _panels(auditor.get("/").get_data(as_text=True))
    flags = _queue(manager, "flags-explain")
    assert flags.count("<li") == 1 and "1" in flags   # the outside-period flag alone waits now


def test_a_workers_home_follows_their_record_made_inactive(client, world, count_queries):
    """The worker's box finds their worker record by their login inside its statements (it is not
    read apart), and kept flags follow the record: made inactive, they have no contract to record on
    and no flag about their work on the next page."""
    from svcproc.registry import services as registry

    _flag(world.contract, RedFlagKind.WORKER_HOURS, worker_id=world.worker.id)
    part = _home(client, world.users["worker"])
    assert f"/contracts/{world.contract.id}/services/new" in part
    assert _queue(part, "my-flags").count("<li") == 1
    with count_queries() as counted:
        client.get("/")
    assert not [s for s in counted.statements if s.lstrip().startswith("SELECT social_worker.id, social_worker.name")]

    w = world.worker
    registry.update_worker(world.manager, w, name=w.name, certification_level=w.certification_level,
                           certificate_number=w.certificate_number, phone=w.phone, active=False)
    db.session.flush()
    after = _panels(client.get("/").get_data(as_text=True))
    assert f"/contracts/{world.contract.id}/services/new" not in after
    assert "<li" not in _queue(after, "my-flags")


def test_a_workers_kept_flags_follow_a_flag_found_and_their_assignment(client, world, count_queries):
    """A social worker's red flags about their work are kept until a flag or an assignment changes:
    a second page reads no flags, a flag found on their contract shows on the next page, and taken
    off the contract they no longer see its entries' flags (the one about them stays)."""
    from svcproc.delivery import services

    _flag(world.contract, RedFlagKind.WORKER_HOURS, worker_id=world.worker.id)
    part = _home(client, world.users["worker"])
    assert _queue(part, "my-flags").count("<li") == 1
    with count_queries() as counted:
        again = _panels(client.get("/").get_data(as_text=True))
    assert _queue(again, "my-flags") == _queue(part, "my-flags")
    assert not [s for s in counted.statements if "FROM red_flag" in s], counted.statements

    _flag(world.contract, RedFlagKind.DUPLICATE)   # about the contract's entries, not a worker
    assert _queue(_panels(client.get("/").get_data(as_text=True)), "my-flags").count("<li") == 2

    services.set_contract_workers(world.manager, world.contract, [world.workers["second_worker"]])
    mine = _queue(_panels(client.get("/").get_data(as_text=True)), "my-flags")
    assert mine.count("<li") == 1
