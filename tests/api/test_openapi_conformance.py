"""The API against its own OpenAPI document: schemathesis generates requests from the document
(a bounded number per operation) and every answer must have a documented status, content type and
shape, and never be a server error."""
from __future__ import annotations

from datetime import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from svcproc.delivery.models import ActivityType

pytestmark = pytest.mark.usefixtures("shared_connection")


# Every operation of the document (test_the_document_is_served_and_names_every_api_endpoint keeps
# this list and the document the same).
OPERATIONS = [("GET", "/notices/tenders"), ("GET", "/notices/tenders/{tender_id}"), ("GET", "/notices/contracts"),
              ("GET", "/notices/contracts/{contract_id}"), ("GET", "/contracts"), ("GET", "/contracts/{contract_id}"),
              ("GET", "/contracts/{contract_id}/services"), ("POST", "/contracts/{contract_id}/services"),
              ("GET", "/contracts/{contract_id}/red-flags"), ("GET", "/changes")]


@pytest.mark.parametrize("method, path", OPERATIONS)
def test_every_answer_is_the_documented_one(app, world, token_of, method, path):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    headers = token_of("manager", "read", "services:write")
    # Rows for the answers to be about: two entries of one worker that overlap (a red flag).
    world.record(start_time=time(9, 0), end_time=time(10, 30))
    world.record(type=ActivityType.DELIBERATION, start_time=time(10, 0), end_time=time(11, 0), topic="院落停车秩序议事",
                 head_count=0, place="居委会会议室")
    real = {"contract_id": world.contract.id, "tender_id": world.contract.tender_id}
    parameters = {name: real[name] for name in real if "{" + name + "}" in path}
    body = ({"type": "community_event", "activity_date": "2025-06-11", "start_time": "14:00", "end_time": "15:00",
             "community_id": world.communities[0].id, "worker_ids": [world.worker.id], "head_count": 12}
            if method == "POST" else None)
    known = operation.Case(path_parameters=parameters, body=body) if body else operation.Case(
        path_parameters=parameters)
    answer = known.call_and_validate(headers=headers)
    assert answer.status_code == (201 if method == "POST" else 200), answer.text

    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def answers(case):
        # A request the document allows need not be accepted: a cursor is valid only when the API gave
        # it out, an entry only when it keeps the entry form's rules (both answer with a documented
        # problem, which the other checks hold to the document).
        case.call_and_validate(headers={**(case.headers or {}), **headers}, excluded_checks=[positive_data_acceptance])

    answers()


def test_the_document_is_served_and_names_every_api_endpoint(app, client):
    document = client.get("/api/v1/openapi.json").get_json()

    assert document["openapi"].startswith("3.1")
    documented = {"/api/v1" + path for path in document["paths"]}
    routes = {r.rule.replace("<int:", "{").replace(">", "}") for r in app.url_map.iter_rules()
              if r.endpoint.startswith("api.") and r.endpoint != "api.openapi_document"}
    assert documented == routes
    assert {(m, "/api/v1" + p) for m, p in OPERATIONS} == {
        (m.upper(), "/api/v1" + p) for p, ops in document["paths"].items() for m in ops}
