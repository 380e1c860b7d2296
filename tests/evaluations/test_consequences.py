"""What a finalized final evaluation means later: a failed one refuses the organization's bids in
the next fiscal year's tenders (and only those), with the reason; every final grade is shown to the
experts scoring the organization's bids, newest project first."""
from __future__ import annotations

import pytest
from flask import url_for
from flask_babel import gettext as _

from svcproc.core.errors import DomainError
from svcproc.core.permissions import Role
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.labels import GRADE_LABELS
from svcproc.evaluations.models import RoundKind
from svcproc.extensions import db
from svcproc.procurement import workflow as procurement
from svcproc.procurement.eligibility import eligibility_problems
from svcproc.procurement.history import PastGrade, past_grades
from svcproc.procurement.models import Bid, TenderStatus
from tests.builders.evaluations import count_of, unchanged
from tests.builders.accounts import UserFactory
from tests.builders.files import pdf_upload
from tests.builders.procurement import make_plan, new_tender, submit_bid, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import in_page, login

pytestmark = pytest.mark.usefixtures("shared_connection")
ONE = {"parties": (("第三方", "100"),), "team": {"第三方": ("tp1",)}}
# Nothing from the evaluator, 10 events of 12 (20 points) and 20 % satisfied (nothing): 20, a fail.
FAIL = {"points": {"a.x": "0", "a.y": "0"}, "survey": (50, 10), **ONE}


def tender_of(world, fiscal_year: int):
    plan = make_plan(world.staff, fiscal_year=fiscal_year, communities=[world.communities[0]],
                     title=f"{fiscal_year}年度社区长者服务项目")
    tender = new_tender(world.staff, plan)
    procurement.add_tender_document(world.staff, tender, pdf_upload("招标文件.pdf"), "招标文件")
    procurement.publish_tender(world.staff, tender)
    return tender


def bar_reason(world, round_, year: int) -> str:
    return _("%(org)s failed the final evaluation of %(project)s (%(score)s points) and cannot bid in fiscal year "
             "%(year)d.", org=world.org.name, project=world.contract.title, score="20", year=year)


def test_a_failed_final_evaluation_refuses_the_next_years_bids_with_the_reason(world):
    round_ = world.finalized(**FAIL)
    assert (round_.total, round_.grade, world.contract.tender.plan.fiscal_year) == (20, "fail", 2025)
    tender = tender_of(world, 2026)

    with unchanged(round_), pytest.raises(DomainError) as refused:
        submit_bid(world.manager, tender, 40_000_000)

    assert bar_reason(world, round_, 2026) in refused.value.message
    assert eligibility_problems(world.org, tender) == [bar_reason(world, round_, 2026)]
    assert count_of(Bid, Bid.tender_id == tender.id) == 0


@pytest.mark.parametrize("year", [2024, 2025, 2027])
def test_other_fiscal_years_are_not_barred(world, year):
    world.finalized(**FAIL)
    tender = tender_of(world, year)

    bid = submit_bid(world.manager, tender, 40_000_000)

    assert bid.id is not None and eligibility_problems(world.org, tender) == []


def test_a_failed_mid_term_evaluation_bars_nothing(world):
    round_ = world.finalized(kind=RoundKind.MIDTERM, **FAIL)
    assert round_.grade == "fail"
    tender = tender_of(world, 2026)

    assert submit_bid(world.manager, tender, 40_000_000).id is not None


def test_a_passed_final_evaluation_bars_nothing(world):
    round_ = world.finalized(**ONE)
    assert round_.grade == "good"

    assert eligibility_problems(world.org, tender_of(world, 2026)) == []


def test_a_reopened_evaluation_bars_nothing_until_it_is_finalized_again(world):
    round_ = world.finalized(**FAIL)
    tender = tender_of(world, 2026)
    ev.reopen(world.admin, round_, "满意度调查样本有误，重新评分")

    assert eligibility_problems(world.org, tender) == []

    ev.submit_scores(world.users["tp1"], world.member(round_, "tp1"))
    ev.finalize(world.staff, round_)
    assert eligibility_problems(world.org, tender) == [bar_reason(world, round_, 2026)]


def test_the_bar_is_the_failed_organizations_alone(world):
    world.finalized(**FAIL)
    tender = tender_of(world, 2026)

    bid = submit_bid(world.users["other_manager"], tender, 40_000_000)

    assert bid.organization_id == world.other_org.id


def test_a_failed_project_of_an_earlier_year_bars_the_year_after_it(world, clock):
    earlier = world.another_contract(clock, fiscal_year=2024)
    round_ = world.finalized(contract=earlier, **FAIL)      # no logs on this contract: 0 points
    assert round_.grade == "fail"

    assert len(eligibility_problems(world.org, tender_of(world, 2025))) == 1
    assert eligibility_problems(world.org, tender_of(world, 2026)) == []


# --- grades shown to experts --------------------------------------------------------------------


def test_past_grades_list_final_evaluations_newest_project_first(world, clock):
    current = world.finalized(**ONE)                           # fiscal 2025: 82, finalized first
    world.finalized(kind=RoundKind.MIDTERM, **ONE)             # mid-term: not a grade of record
    earlier = world.another_contract(clock, fiscal_year=2024)
    cancelled = world.prepared(contract=earlier, **ONE)
    ev.cancel(world.staff, cancelled, "重新安排")
    clock.advance(days=1)
    world.finalized(contract=earlier, points={"a.x": "20", "a.y": "20"}, **ONE)   # fiscal 2024: 40 + 0 + 30

    grades = past_grades(world.org)

    assert grades == [PastGrade(2025, current.contract.title, "82", str(GRADE_LABELS["good"])),
                      PastGrade(2024, earlier.title, "70", str(GRADE_LABELS["pass"]))]
    assert past_grades(world.other_org) == []


def test_the_experts_scoring_page_shows_the_bidders_past_grades(world, clock, client):
    world.finalized(**ONE)
    others = [OrganizationFactory() for _ in range(2)]
    setup = tender_in(TenderStatus.OPENED, clock, orgs=[world.org, *others],
                      managers=[world.manager, *[UserFactory(role=Role.ORG_MANAGER, organization=o) for o in others]],
                      staff=world.staff, plan=make_plan(world.staff, fiscal_year=2026, communities=[world.communities[0]]))
    expert = setup.experts[0]
    procurement.declare_conflicts(expert, setup.member_of(expert), [], "")
    assert login(client, expert).status_code == 303
    with client.application.test_request_context():
        url = url_for("procurement.score", tender_id=setup.tender.id)

    page = client.get(url)

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"2025 · {in_page(world.contract.title)} · 82 ({in_page(lambda: str(GRADE_LABELS['good']))})" in html


def test_a_final_evaluation_failed_after_the_bid_rules_the_bid_out_at_the_opening(world, clock):
    """The bid went in while the organization was eligible; the failed final evaluation finalized
    before the opening rules it out there, so it is never ranked, proposed or awarded."""
    from datetime import timedelta

    from svcproc.core.permissions import Role as R

    tender = tender_of(world, 2026)
    others = [OrganizationFactory() for _ in range(3)]
    bid = submit_bid(world.manager, tender, 40_000_000)
    for n, org in enumerate(others):
        submit_bid(UserFactory(role=R.ORG_MANAGER, organization=org), tender, 41_000_000 + n)
    round_ = world.finalized(**FAIL)
    clock.set(tender.opening_at + timedelta(minutes=5))

    procurement.open_bids(world.staff, tender)

    assert (tender.status, bid.valid) == (TenderStatus.OPENED, False)
    assert bar_reason(world, round_, 2026) in bid.invalid_reason
    assert bid not in procurement.scorable_bids(tender)


# --- the organization's page ----------------------------------------------------------------------


def test_the_organization_page_shows_the_newest_grades_their_number_and_every_bar(world, clock, client,
                                                                                  monkeypatch):
    """Its newest grades (here one), how many there are, and the bar of a failed grade not among
    those shown: ranked once, whatever the organization's history."""
    from svcproc.registry.views import organizations

    monkeypatch.setattr(organizations, "GRADES_SHOWN", 1)
    earlier = world.another_contract(clock, fiscal_year=2024)
    failed = world.finalized(contract=earlier, **FAIL)         # fiscal 2024: no logs, a fail
    clock.advance(days=1)
    current = world.finalized(**ONE)                           # fiscal 2025: 82
    world.finalized(kind=RoundKind.MIDTERM, **ONE)             # mid-term: not a grade of record
    assert (failed.grade, current.grade) == ("fail", "good")
    assert login(client, world.staff).status_code == 303

    html = client.get(f"/registry/organizations/{world.org.id}").get_data(as_text=True)

    grades = html[html.index('id="grades-h"'):html.index("</table>", html.index('id="grades-h"'))]
    assert in_page(current.contract.title) in grades and in_page(earlier.title) not in grades
    assert in_page(lambda: _("The newest %(shown)d of %(total)d final evaluations.", shown=1, total=2)) in html
    assert in_page(lambda: _("Bids in fiscal year %(year)d are refused: the final evaluation of %(project)s was "
                             "graded fail (%(score)s points).", year=2025, project=earlier.title, score="0")) in html


@pytest.mark.parametrize("name", ["admin", "procurement", "auditor", "expert", "manager", "worker", "evaluator", "tp1"])
def test_the_organization_page_links_each_grade_for_whoever_may_open_its_round(world, clock, client, count_queries,
                                                                             name):
    """A grade links to its round for whoever may open that round (`can_view_round`: the bureau and
    auditors, the organization's manager, an evaluator assigned to it), its title alone for anyone
    else; which rounds is read once for the page, not round by round."""
    from svcproc.evaluations.permissions import can_view_round
    from svcproc.registry.permissions import can_view_organization

    rounds = [world.finalized(**ONE)]
    clock.advance(days=1)
    rounds.append(world.finalized(contract=world.another_contract(clock, fiscal_year=2024), **ONE))
    user = world.users[name]
    assert login(client, user).status_code == 303
    url = f"/registry/organizations/{world.org.id}"
    client.get(url)

    with count_queries() as counted:
        response = client.get(url)

    if not can_view_organization(user, world.org):
        assert response.status_code == 403
        return
    html = response.get_data(as_text=True)
    grades = html[html.index('id="grades-h"'):html.index("</table>", html.index('id="grades-h"'))]
    for round_ in rounds:
        assert in_page(round_.contract.title) in grades
        assert (f'href="/evaluations/rounds/{round_.id}"' in grades) == can_view_round(user, round_)
    assert sum("round_evaluator" in statement for statement in counted.statements) <= 1


def test_the_organization_pages_ranking_is_kept_until_a_final_round_changes(world, clock, client, count_queries):
    """Ranked once per version of the final rounds (core/versions.py): a second visit ranks nothing,
    reopening the failed round takes its bar off the next page at once, finalizing it puts it back."""
    failed = world.finalized(**FAIL)
    assert login(client, world.staff).status_code == 303
    url = f"/registry/organizations/{world.org.id}"
    year = failed.contract.tender.plan.fiscal_year + 1
    bar = in_page(lambda: _("Bids in fiscal year %(year)d are refused: the final evaluation of %(project)s was "
                            "graded fail (%(score)s points).", year=year, project=failed.contract.title, score="20"))

    assert bar in client.get(url).get_data(as_text=True)
    with count_queries() as counted:
        assert bar in client.get(url).get_data(as_text=True)
    assert not [s for s in counted.statements if "row_number()" in s]

    ev.reopen(world.admin, failed, "满意度调查样本有误，重新评分")
    assert 'class="flash flash-error" role="note"' not in client.get(url).get_data(as_text=True)

    ev.submit_scores(world.users["tp1"], world.member(failed, "tp1"))
    ev.finalize(world.staff, failed)
    assert bar in client.get(url).get_data(as_text=True)


def test_a_bar_names_the_project_as_it_is_titled_now(world, client):
    """The bars are read with the kept ranking: a contract's new title is a new version of it."""
    failed = world.finalized(**FAIL)
    assert login(client, world.staff).status_code == 303
    url = f"/registry/organizations/{world.org.id}"
    year = failed.contract.tender.plan.fiscal_year + 1

    def bar(title):
        return in_page(lambda: _("Bids in fiscal year %(year)d are refused: the final evaluation of %(project)s was "
                                 "graded fail (%(score)s points).", year=year, project=title, score="20"))

    old_title = failed.contract.title
    assert bar(old_title) in client.get(url).get_data(as_text=True)
    failed.contract.title = "社区长者关爱项目（更名）"
    db.session.commit()

    html = client.get(url).get_data(as_text=True)
    assert bar("社区长者关爱项目（更名）") in html and bar(old_title) not in html
