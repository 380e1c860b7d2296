"""The menu: each role's bar holds at most seven entries (home and the stages), every page the role
may use sits under one of them, and the stage holding the current page is marked."""
from __future__ import annotations

import re

import pytest

from svcproc.core import nav
from svcproc.core.permissions import Role
from tests.builders.accounts import user_for_role
from tests.helpers import login


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_roles_menu_bar_holds_at_most_seven_entries(app, role):
    user = user_for_role(role)
    with app.test_request_context():
        groups = nav.grouped_navigation(user)
        flat = nav.navigation(user)

    assert len(groups) <= 7
    assert sorted(e[0] for g in groups for e in g.entries) == sorted(e[0] for e in flat)


def test_the_stage_of_the_current_page_is_marked(client):
    user = user_for_role(Role.PROCUREMENT)
    login(client, user)

    html = client.get("/contracts").get_data(as_text=True)

    stage = re.search(r'<details class="menu-stage" data-current>\s*<summary class="current">(.*?)</summary>', html, re.S)
    assert stage and "/contracts" in html[stage.start():html.index("</details>", stage.start())]
    assert html.count("data-current") == 1


def test_the_bureau_is_named_in_the_header_and_footer(client, app):
    html = client.get("/login").get_data(as_text=True)

    assert html.count(app.config["BUREAU_NAME"]) >= 3  # title, header, footer
    client.post("/lang/en", data={"next": "/login"})
    english = client.get("/login").get_data(as_text=True)
    assert english.count(app.config["BUREAU_NAME_EN"]) >= 3 and app.config["BUREAU_NAME"] not in english
