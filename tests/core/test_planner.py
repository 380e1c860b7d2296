"""PostgreSQL connections open with the planner's price of a random page read the app is
configured with (POSTGRES_RANDOM_PAGE_COST), so joins of a page's few rows use the indexes."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from svcproc import _planner_settings
from svcproc.extensions import db


def test_each_connection_prices_a_random_read_as_configured(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    assert db.session.execute(sa.text("SHOW random_page_cost")).scalar() == "1.1"


@pytest.mark.parametrize("uri, cost, expected", [
    ("postgresql+psycopg://db/x", "1.1", "-c random_page_cost=1.1"),
    ("postgresql+psycopg://db/x", "2", "-c random_page_cost=2.0"),
    ("postgresql+psycopg://db/x", "", None),
    ("sqlite:///x.db", "1.1", None),
])
def test_the_setting_goes_into_the_connection_options(uri, cost, expected):
    class App:
        config = {"SQLALCHEMY_DATABASE_URI": uri, "POSTGRES_RANDOM_PAGE_COST": cost,
                  "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}}

    _planner_settings(App)

    options = App.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options.get("connect_args", {}).get("options") == expected


def test_a_cost_that_is_not_a_number_stops_the_start():
    class App:
        config = {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/x", "POSTGRES_RANDOM_PAGE_COST": "fast"}

    with pytest.raises(RuntimeError, match="POSTGRES_RANDOM_PAGE_COST must be a number"):
        _planner_settings(App)
