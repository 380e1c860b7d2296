"""JSON answers are written by orjson (core/jsonio.py) and hold what Flask's own encoder writes."""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum

import pytest
from flask import jsonify
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from svcproc.core.jsonio import OrjsonProvider


class Kind(str, Enum):
    TENDER = "tender"


@dataclasses.dataclass
class Pair:
    left: int
    right: str


VALUES = {"b": 1, "a": "社区服务", "day": date(2026, 3, 9), "moment": datetime(2026, 3, 9, 8, 30, tzinfo=timezone.utc),
          "fen": Decimal("12.50"), "pair": Pair(1, "二"), "markup": Markup("<b>x</b>"), "kind": Kind.TENDER,
          "none": None, "list": [1.5, True, {"z": 0, "y": [None]}]}


def test_a_json_answer_holds_what_flasks_encoder_writes(app):
    with app.test_request_context():
        assert isinstance(app.json, OrjsonProvider)
        response = jsonify(VALUES)
        standard = DefaultJSONProvider(app).dumps(VALUES, separators=(",", ":"))

    body = response.get_data()
    assert response.mimetype == "application/json" and body.endswith(b"\n")
    assert json.loads(body) == json.loads(standard)
    assert list(json.loads(body)) == sorted(VALUES)  # keys sorted, as before
    assert "社区服务".encode() in body  # UTF-8, not \\u escapes


@pytest.mark.parametrize("value", [2**70, {1: "a key that is not a string"}])
def test_what_orjson_refuses_is_written_by_the_standard_encoder(app, value):
    with app.test_request_context():
        response = jsonify(value=value)

    assert response.status_code == 200
    assert json.loads(response.get_data()) == json.loads(json.dumps({"value": value}))


def test_an_app_in_debug_writes_indented_json(app):
    app.debug = True
    try:
        with app.test_request_context():
            body = jsonify(a=1).get_data(as_text=True)
    finally:
        app.debug = False
    assert body == '{\n  "a": 1\n}\n'


@pytest.mark.parametrize("debug", [False, True], ids=["orjson", "standard encoder"])
def test_a_value_given_as_json_text_is_placed_as_it_is(app, debug):
    # api/entry_json.py: entries written by PostgreSQL pass through the answer unchanged.
    from svcproc.core.jsonio import RawJSON

    app.debug = debug
    try:
        with app.test_request_context():
            body = jsonify(items=[RawJSON('{"b" : [1, "二"], "a" : null}')], next=None).get_data()
    finally:
        app.debug = False
    assert json.loads(body) == {"items": [{"b": [1, "二"], "a": None}], "next": None}
    if not debug:
        assert b'{"b" : [1, "' in body  # the text itself, not written again
