"""Ids and filters beyond what the database or the calendar holds are bad input (400 or 404),
never a server error, on every route."""
from __future__ import annotations

import re

import pytest

from svcproc.core.permissions import Role
from tests.builders.accounts import user_for_role
from tests.helpers import login

HUGE = "99999999999999999999"
DATE_FILTERS = {"month": "9999-12", "from": "9999-12-31", "to": "9999-12-31", "year": "99999999999999999999",
                "page": HUGE, "tender": HUGE, "org": HUGE, "community": HUGE, "parent": HUGE}


def _get_rules(app):
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and rule.endpoint != "static"), key=lambda r: r.rule)


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.ORG_MANAGER, Role.AUDITOR], ids=lambda r: r.value)
def test_a_twenty_digit_id_names_nothing(app, client, role):
    login(client, user_for_role(role))
    failures = []
    for rule in _get_rules(app):
        if not rule.arguments:
            continue
        path = re.sub(r"<int:[^>]+>", HUGE, rule.rule)
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "x", path)
        status = client.get(path).status_code
        if status >= 500:
            failures.append(f"{rule.rule}: {status}")
    assert failures == []


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.ORG_MANAGER, Role.AUDITOR], ids=lambda r: r.value)
def test_filters_beyond_the_calendar_are_refused_not_failed(app, client, role):
    login(client, user_for_role(role))
    failures = []
    for rule in _get_rules(app):
        if rule.arguments:
            continue
        for name, value in DATE_FILTERS.items():
            status = client.get(rule.rule, query_string={name: value}).status_code
            if status >= 500:
                failures.append(f"{rule.rule}?{name}={value}: {status}")
    assert failures == []
