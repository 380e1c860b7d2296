"""Public notices: tenders from publication on, award proposals and results, answered questions
without who asked; never a draft.

A tender in every status is built once for the module; the tests only read.
"""
from __future__ import annotations

import pytest

from svcproc.procurement import workflow
from svcproc.procurement.models import TenderStatus
from tests.builders.files import pdf_bytes, pdf_upload
from tests.builders.procurement import TenderSetup, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import in_page, is_fragment, login

pytestmark = pytest.mark.usefixtures("shared_connection")
S = TenderStatus
PUBLIC = [s for s in S if s != S.DRAFT]
QUESTION, ANSWER, UNANSWERED = "项目负责人是否须持有中级证书？", "项目团队中持证社工比例不低于60%。", "是否接受联合体投标？"


def _build(clock) -> dict:
    built = {}
    for status in S:
        orgs = [OrganizationFactory(name=f"{status.value}提问的社会工作服务中心"), OrganizationFactory(),
                OrganizationFactory()]
        setup = tender_in(status, clock, orgs=orgs, questions=(QUESTION,) if status != S.DRAFT else ())
        if status == S.DRAFT:
            setup.tender.title = "尚未发布的草稿项目"
            workflow.add_tender_document(setup.staff, setup.tender, pdf_upload("招标文件草稿.pdf"), "招标文件草稿")
        if status == S.PUBLISHED:
            workflow.ask_question(setup.managers[1], setup.tender, UNANSWERED)
        built[status] = setup.saved(clock)
        clock.advance(days=1)
    return built


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(_build)


@pytest.fixture
def world(built, clock):
    return {status: TenderSetup.restored(saved, clock) for status, saved in built.items()}


@pytest.mark.parametrize("url", ["/notices", "/notices?kind=open", "/notices?kind=awards"])
def test_a_draft_never_appears_among_the_notices(client, world, url):
    draft = world[S.DRAFT].tender

    html = client.get(url).get_data(as_text=True)

    assert "尚未发布的草稿项目" not in html and draft.number not in html


def test_a_drafts_notice_and_documents_are_404(client, world):
    draft = world[S.DRAFT].tender

    page = client.get(f"/notices/tenders/{draft.id}")
    download = client.get(f"/notices/tenders/{draft.id}/documents/{draft.documents[0].id}")

    assert (page.status_code, download.status_code) == (404, 404)


@pytest.mark.parametrize("status", PUBLIC)
def test_every_tender_from_publication_on_has_a_public_notice(client, world, status):
    tender = world[status].tender

    listed = client.get("/notices").get_data(as_text=True)
    page = client.get(f"/notices/tenders/{tender.id}")

    assert tender.number in listed
    assert page.status_code == 200


@pytest.mark.parametrize("kind, shown", [("open", {S.PUBLISHED}), ("awards", {S.IN_PUBLICITY, S.AWARDED})])
def test_the_notice_tabs(client, world, kind, shown):
    html = client.get("/notices", query_string={"kind": kind}, headers={"HX-Request": "true"}).get_data(as_text=True)

    assert is_fragment(html)
    assert {s for s, setup in world.items() if setup.tender.number in html} == shown


def test_an_awarded_tender_shows_the_winner_and_the_price(client, world):
    setup = world[S.AWARDED]

    listed = client.get("/notices?kind=awards").get_data(as_text=True)
    page = client.get(f"/notices/tenders/{setup.tender.id}").get_data(as_text=True)

    for html in (listed, page):
        assert setup.orgs[0].name in html and "¥450,000.00" in html
    assert "89.78" in page
    # The result notice publishes every valid bid's scores and rank (the list names the winner only).
    ranking = page[page.index('class="table ranking"'):page.index("</table>", page.index('class="table ranking"'))]
    assert setup.orgs[1].name in ranking and "¥420,000.00" in ranking and "84.05" in ranking
    assert setup.orgs[1].name not in listed


def test_a_proposal_in_publicity_is_public_with_its_deadline(client, world):
    setup = world[S.IN_PUBLICITY]

    page = client.get(f"/notices/tenders/{setup.tender.id}").get_data(as_text=True)

    assert setup.orgs[0].name in page and "¥450,000.00" in page
    assert setup.tender.publicity_ends_at.isoformat() in page


@pytest.mark.parametrize("status", [S.PUBLISHED, S.BIDDING_CLOSED, S.OPENED, S.SCORED, S.AWARD_PROPOSED])
def test_no_bidder_or_price_before_the_publicity(client, world, status):
    setup = world[status]

    page = client.get(f"/notices/tenders/{setup.tender.id}").get_data(as_text=True)

    for org, price in zip(setup.orgs, ("¥450,000.00", "¥420,000.00", "¥400,000.00")):
        assert org.name not in page and price not in page


@pytest.mark.parametrize("status", [S.CANCELLED, S.FAILED])
def test_a_cancelled_or_failed_tender_shows_why(client, world, status):
    tender = world[status].tender

    page = client.get(f"/notices/tenders/{tender.id}").get_data(as_text=True)

    assert tender.status_reason and in_page(tender.status_reason) in page


def test_answered_questions_are_public_without_who_asked(client, world):
    setup = world[S.PUBLISHED]

    page = client.get(f"/notices/tenders/{setup.tender.id}").get_data(as_text=True)

    assert QUESTION in page and ANSWER in page
    assert UNANSWERED not in page
    assert setup.orgs[0].name not in page and setup.managers[0].username not in page


def test_other_bidders_see_the_answer_but_not_who_asked(client, world):
    setup = world[S.PUBLISHED]
    login(client, setup.managers[2])

    page = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)

    assert QUESTION in page and ANSWER in page
    assert UNANSWERED not in page  # another bidder's, not yet answered
    assert setup.orgs[0].name not in page and setup.managers[0].username not in page


def test_the_tender_documents_download_from_the_notice(client, world):
    tender = world[S.PUBLISHED].tender

    response = client.get(f"/notices/tenders/{tender.id}/documents/{tender.documents[0].id}")

    assert response.status_code == 200
    assert response.get_data() == pdf_bytes("tender-document")
    assert response.mimetype == "application/pdf"


def test_a_document_of_another_tender_is_404(client, world):
    one, other = world[S.PUBLISHED].tender, world[S.AWARDED].tender

    response = client.get(f"/notices/tenders/{one.id}/documents/{other.documents[0].id}")

    assert response.status_code == 404


@pytest.mark.parametrize("locale, setting", [("zh_CN", "BUREAU_NAME"), ("en", "BUREAU_NAME_EN")])
def test_a_tender_notice_names_the_purchaser_in_the_readers_language(app, client, world, locale, setting):
    tender = world[S.PUBLISHED].tender
    client.post(f"/lang/{locale}", data={"next": "/notices"})

    html = client.get(f"/notices/tenders/{tender.id}").get_data(as_text=True)

    facts = html[html.index('<dl class="facts">', html.index("<h1>")):]
    assert app.config[setting] in facts[:facts.index("</dl>")]


@pytest.mark.parametrize("status", [S.PUBLISHED, S.IN_PUBLICITY])
def test_a_visitors_tender_notice_counts_its_deadlines_from_the_calendar_as_kept(client, world, count_queries,
                                                                               status):
    """A visitor has no account to read the versions with: the notice reads them with the tender, so
    the second visitor's deadlines come from the bureau's calendar as kept, not read again."""
    url = f"/notices/tenders/{world[status].tender.id}"
    first = client.get(url).get_data(as_text=True)
    with count_queries() as counted:
        again = client.get(url).get_data(as_text=True)

    assert _without_nonces(again) == _without_nonces(first)
    if status == S.IN_PUBLICITY:
        assert "objection-howto" in again  # its deadline worked out from the calendar
    assert not [s for s in counted.statements if "local_calendar_day" in s]
    assert "data_version" in counted.statements[0] and "FROM tender" in counted.statements[0]


def _without_nonces(html: str) -> str:
    import re

    return re.sub(r'nonce="[^"]*"', "", html)
