"""The community choices of the service pages are kept by each process under the version of the
district's areas (delivery/views/common.py): read once, then again only after an area changes, so a
new or renamed community is offered at the next page."""
from __future__ import annotations

import re

import pytest

from svcproc.core import versions
from svcproc.registry import services as registry
from svcproc.registry.models import AreaLevel


def _area_reads(statements: list[str], levels: str = "area.level =") -> int:
    """The statements reading areas' choices (the service pages' communities by default; the board's
    streets and communities with "area.level IN")."""
    return sum(s.lstrip().startswith("SELECT area.id, area.name") and levels in s for s in statements)


def _offered(html: str, select_marker: str = 'id="community_id"') -> dict[str, str]:
    """The choices of the select the marker finds: id -> name."""
    select = html[html.index(select_marker):]
    return dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', select[:select.index("</select>")]))


@pytest.mark.parametrize("change", ["created", "renamed"])
def test_the_community_choices_are_read_again_only_after_an_area_changes(client, login_as, world, count_queries,
                                                                         change):
    versions.forget_kept()  # as a server that just started
    login_as("worker")
    url = f"/contracts/{world.contract.id}/services/new"
    with count_queries() as first:
        before = _offered(client.get(url).text)
    with count_queries() as again:
        assert _offered(client.get(url).text) == before

    street = world.communities[0].parent
    if change == "created":
        area = registry.create_area(world.users["admin"], level=AreaLevel.COMMUNITY, code="510107999001",
                                    name="新建测试社区", parent=street)
    else:
        area = registry.update_area(world.users["admin"], world.communities[1], code=world.communities[1].code,
                                    name="更名测试社区", parent=street)
    with count_queries() as changed:
        after = _offered(client.get(url).text)

    assert (_area_reads(first.statements), _area_reads(again.statements),
            _area_reads(changed.statements)) == (1, 0, 1)
    assert after[str(area.id)] == area.name
    assert set(after) - set(before) == ({str(area.id)} if change == "created" else set())


def _filter_areas(html: str) -> dict[str, str]:
    return _offered(html, 'name="area"')


@pytest.mark.parametrize("who", ["visitor", "procurement"])
def test_the_notice_boards_areas_are_read_again_only_after_an_area_changes(client, login_as, world, count_queries,
                                                                           who):
    """The board's street and community filter is kept likewise, for a visitor too (whose request
    reads the versions with the board's count, having no account to read them with)."""
    versions.forget_kept()
    if who != "visitor":
        login_as(who)
    with count_queries() as first:
        before = _filter_areas(client.get("/notices").text)
    with count_queries() as again:
        assert _filter_areas(client.get("/notices").text) == before

    area = registry.update_area(world.users["admin"], world.communities[1], code=world.communities[1].code,
                                name="更名测试社区", parent=world.communities[1].parent)
    with count_queries() as changed:
        after = _filter_areas(client.get("/notices").text)

    assert [_area_reads(counted.statements, "area.level IN") for counted in (first, again, changed)] == [1, 0, 1]
    assert str(world.communities[0].parent_id) in before
    assert after[str(area.id)] == "更名测试社区" and before[str(area.id)] != "更名测试社区"
