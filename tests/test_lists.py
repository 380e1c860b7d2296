"""The list pages: htmx fragments, search (Chinese too), pagination, and a bounded number of queries."""
from __future__ import annotations

import html
import re

import pytest

from svcproc.audit.services import record
from svcproc.core.permissions import Role
from svcproc.registry.models import AreaLevel
from tests.builders.accounts import UserFactory
from tests.builders.registry import AreaFactory, OrganizationFactory, SocialWorkerFactory
from tests.helpers import is_fragment, login

PAGE_SIZE = 25
QUERY_BOUND = 6


# Each list: its URL, who may see it, how to make n rows (numbered from `start`), and a search
# that finds exactly one of them.
def _areas(n, start=0):
    district = AreaFactory(level=AreaLevel.DISTRICT, name="武侯区")
    street = AreaFactory(level=AreaLevel.STREET, name="玉林街道", parent=district)
    for i in range(start, start + n):
        community = AreaFactory(level=AreaLevel.COMMUNITY, name=f"社区{i:03d}", parent=street)
        AreaFactory(level=AreaLevel.GRID, name=f"网格{i:03d}", parent=community)


def _organizations(n, start=0):
    street = AreaFactory(level=AreaLevel.STREET, parent=AreaFactory(), name="浆洗街道")
    for i in range(start, start + n):
        org = OrganizationFactory(name=f"机构{i:03d}社会工作服务中心", area=street)
        SocialWorkerFactory(organization=org)


def _workers(n, start=0):
    orgs = [OrganizationFactory(), OrganizationFactory()]
    for i in range(start, start + n):
        SocialWorkerFactory(name=f"社工{i:03d}", organization=orgs[i % 2])


def _users(n, start=0):
    org = OrganizationFactory()
    for i in range(start, start + n):
        UserFactory(username=f"member{i:03d}", full_name=f"成员{i:03d}", role=Role.ORG_MANAGER, organization=org)


def _audit(n, start=0):
    actor = UserFactory(role=Role.PROCUREMENT)
    for i in range(start, start + n):
        record("area.updated", actor=actor, object_type="area", object_id=i, changes={"name": [None, f"区域{i:03d}"]})


LISTS = {
    "areas": ("/registry/areas", Role.EXPERT, _areas, "社区007", "社区007"),
    "organizations": ("/registry/organizations", Role.EVALUATOR, _organizations, "机构007", "机构007社会工作服务中心"),
    "workers": ("/registry/workers", Role.PROCUREMENT, _workers, "社工007", "社工007"),
    "users": ("/admin/users", Role.ADMIN, _users, "成员007", "member007"),
    "audit": ("/audit", Role.AUDITOR, _audit, None, None),
}


def _rows(html: str) -> int:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return len(re.findall(r"<tr>", body)) - len(re.findall(r'class="empty"', body))


SEARCHABLE = [name for name, spec in LISTS.items() if spec[3] is not None]  # the audit list has its own filters


@pytest.fixture(params=list(LISTS))
def listing(request, client):
    url, role, make, search, shown = LISTS[request.param]
    login(client, UserFactory(role=role, username=f"viewer-{request.param}"))
    return {"name": request.param, "url": url, "make": make, "search": search, "shown": shown}


def test_htmx_request_gets_only_the_table(client, listing):
    listing["make"](3)

    response = client.get(listing["url"], headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert is_fragment(html)
    assert html.lstrip().startswith('<div class="table-wrap">')
    assert "HX-Request" in response.headers["Vary"]


def test_a_boosted_htmx_request_gets_the_whole_page(client, listing):
    listing["make"](1)

    response = client.get(listing["url"], headers={"HX-Request": "true", "HX-Boosted": "true"})

    assert "<html" in response.get_data(as_text=True)


def test_the_full_page_wraps_the_same_table(client, listing):
    listing["make"](3)

    html = client.get(listing["url"]).get_data(as_text=True)

    assert "<html" in html and '<div id="results">' in html and '<div class="table-wrap">' in html


@pytest.mark.parametrize("listing", SEARCHABLE, indirect=True)
def test_search_finds_chinese_text(client, listing):
    listing["make"](12)

    html = client.get(listing["url"], query_string={"q": listing["search"]},
                      headers={"HX-Request": "true"}).get_data(as_text=True)

    assert listing["shown"] in html
    assert _rows(html) == 1


@pytest.mark.parametrize("listing", SEARCHABLE, indirect=True)
def test_search_treats_like_wildcards_literally(client, listing):
    listing["make"](3)

    html = client.get(listing["url"], query_string={"q": "%"}, headers={"HX-Request": "true"}).get_data(as_text=True)

    assert _rows(html) == 0


def test_pagination(client, listing):
    listing["make"](60)
    per_page = 50 if listing["name"] == "audit" else PAGE_SIZE

    first = client.get(listing["url"], headers={"HX-Request": "true"}).get_data(as_text=True)
    if listing["name"] == "audit":  # paged by sequence number: the older page's link, not a page number
        older = html.unescape(re.search(r'href="([^"]+)"[^>]*rel="next"', first).group(1))
        last = client.get(older, headers={"HX-Request": "true"}).get_data(as_text=True)
    else:
        last = client.get(listing["url"], query_string={"page": 999},
                          headers={"HX-Request": "true"}).get_data(as_text=True)

    assert _rows(first) == per_page
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert 0 < _rows(last) <= per_page
    assert 'rel="prev"' in last and 'rel="next"' not in last


def test_a_bad_page_number_shows_the_first_page(client, listing):
    listing["make"](3)

    response = client.get(listing["url"], query_string={"page": "abc"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert _rows(response.get_data(as_text=True)) >= 3


def test_queries_do_not_grow_with_the_rows(client, listing, count_queries):
    listing["make"](5)
    with count_queries() as few:
        client.get(listing["url"])
    listing["make"](60, start=100)

    with count_queries() as many:
        client.get(listing["url"])

    # Never more for more rows (the audit page looks up each kind of object it names once, so a page
    # naming fewer kinds may cost less).
    assert many.count <= few.count, "\n".join(many.statements)
    assert many.count <= QUERY_BOUND, "\n".join(many.statements)


# --- the filters next to the search box ----------------------------------------------------------


def _names(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    cells = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", body, re.S)
    return sorted(re.sub(r"<[^>]+>", "", a).strip() + "|" + re.sub(r"<[^>]+>", "", b).strip() for a, b in cells)


def _filter_world():
    from svcproc.registry.models import CertificationLevel, OrgKind, OrgRating, OrgStatus

    district = AreaFactory(level=AreaLevel.DISTRICT, code="5101", name="武侯区")
    AreaFactory(level=AreaLevel.STREET, code="5101001", name="玉林街道", parent=district)
    active = OrganizationFactory(name="甲机构", rating=OrgRating.A5)
    OrganizationFactory(name="乙机构", status=OrgStatus.SUSPENDED, status_reason="整改")
    OrganizationFactory(name="丙评估中心", kind=OrgKind.EVALUATION)
    SocialWorkerFactory(name="高级社工", organization=active, certification_level=CertificationLevel.SENIOR,
                        certificate_number="ZS1")
    SocialWorkerFactory(name="离职社工", organization=active, active=False)
    UserFactory(username="audit-one", role=Role.AUDITOR)
    UserFactory(username="gone", role=Role.EXPERT, active=False)


@pytest.mark.parametrize("url, expected", [
    ("/registry/areas?level=street", ["5101001|玉林街道"]),
    ("/registry/areas?level=bogus", ["5101001|玉林街道", "5101|武侯区"]),
    ("/registry/organizations?status=suspended", ["乙机构"]),
    ("/registry/organizations?rating=5A", ["甲机构"]),
    ("/registry/organizations?kind=evaluation", ["丙评估中心"]),
    ("/registry/workers?certification=senior", ["高级社工"]),
    ("/registry/workers?active=0", ["离职社工"]),
    ("/admin/users?role=auditor", ["audit-one"]),
    ("/admin/users?status=inactive", ["gone"]),
])
def test_filters(client, url, expected):
    _filter_world()
    login(client, UserFactory(role=Role.ADMIN, username="filter-admin"))

    html = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)

    shown = [row.split("|")[0] if not url.startswith("/registry/areas") else row for row in _names(html)]
    assert shown == sorted(expected)
