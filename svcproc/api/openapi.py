"""The API's OpenAPI 3.1 document: what each endpoint takes and answers, checked against the
answers themselves by tests/api/test_openapi_conformance.py."""
from __future__ import annotations

from flask import current_app

from .models import SCOPES


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


STRING = {"type": "string"}
INT = {"type": "integer"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
REF = "#/components/schemas/"

SCHEMAS: dict = {
    "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {"type": STRING, "title": STRING, "status": INT, "detail": STRING, "field": STRING},
    },
    "Organization": {"type": "object", "required": ["id", "name"], "additionalProperties": False,
                     "properties": {"id": INT, "name": STRING}},
    "Award": {
        "type": "object", "additionalProperties": False,
        "required": ["organization", "price_fen", "final", "awarded_at", "publicity_ends_at"],
        "properties": {"organization": {"$ref": REF + "Organization"}, "price_fen": _nullable("integer"),
                       "final": {"type": "boolean"}, "awarded_at": _nullable("string", format="date-time"),
                       "publicity_ends_at": _nullable("string", format="date-time")},
    },
    "TenderNotice": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "number", "title", "method", "status", "ceiling_fen", "description", "publish_at",
                     "clarification_deadline", "bid_deadline", "opening_at", "status_changed_at", "award", "url"],
        "properties": {
            "id": INT, "number": STRING, "title": STRING, "method": STRING,
            "status": {"type": "string", "not": {"const": "draft"}}, "ceiling_fen": INT, "description": STRING,
            "publish_at": _nullable("string", format="date-time"), "clarification_deadline": DATETIME,
            "bid_deadline": DATETIME, "opening_at": DATETIME, "status_changed_at": DATETIME,
            "award": {"oneOf": [{"type": "null"}, {"$ref": REF + "Award"}]}, "url": STRING},
    },
    "ContractNotice": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "number", "title", "organization", "amount_fen", "start_date", "end_date", "signed_on",
                     "status", "service_content", "url"],
        "properties": {
            "id": INT, "number": STRING, "title": STRING, "organization": {"$ref": REF + "Organization"},
            "amount_fen": INT, "start_date": DATE, "end_date": DATE, "signed_on": _nullable("string", format="date"),
            "status": {"enum": ["signed", "in_progress", "completed", "closed", "terminated"]},
            "service_content": STRING, "url": STRING},
    },
    "Contract": {
        "type": "object",
        "required": ["id", "number", "title", "organization", "status", "original_amount_fen", "amount_fen",
                     "start_date", "end_date", "signed_on", "status_changed_at"],
        "properties": {
            "id": INT, "number": STRING, "title": STRING, "organization": {"$ref": REF + "Organization"},
            "status": {"enum": ["draft", "signed", "in_progress", "completed", "closed", "terminated"]},
            "original_amount_fen": INT, "amount_fen": INT, "start_date": DATE, "end_date": DATE,
            "signed_on": _nullable("string", format="date"), "status_changed_at": DATETIME},
    },
    "ContractDetail": {
        "allOf": [{"$ref": REF + "Contract"}, {
            "type": "object", "required": ["service_content", "milestones", "workers"],
            "properties": {
                "service_content": STRING,
                "milestones": {"type": "array", "items": {
                    "type": "object", "required": ["id", "title", "due_date", "tranche_percent", "status"],
                    "properties": {"id": INT, "title": STRING, "due_date": DATE,
                                   "tranche_percent": {"type": "string", "pattern": r"^\d+(\.\d+)?$"},
                                   "status": STRING}}},
                "workers": {"type": "array", "items": {"$ref": REF + "Worker"}}}}],
    },
    "Worker": {"type": "object", "required": ["id", "name"], "properties": {"id": INT, "name": STRING}},
    "Person": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "name", "id_number_masked", "phone_masked"],
        "properties": {"id": INT, "name": STRING,
                       # Masked, never whole: the middle digits are asterisks.
                       "id_number_masked": _nullable("string", pattern=r"\*"),
                       "phone_masked": _nullable("string", pattern=r"\*")},
    },
    "ServiceEntry": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "contract_id", "type", "activity_date", "start_time", "end_time", "community", "place",
                     "hours", "head_count", "participant_count", "topic", "outcome", "notes", "group_id",
                     "session_number", "workers", "participants", "revision", "created_at", "updated_at"],
        "properties": {
            "id": INT, "contract_id": INT,
            "type": {"enum": ["case_work", "group_session", "community_event", "deliberation", "volunteer_training"]},
            "activity_date": DATE, "start_time": {"type": "string", "pattern": r"^\d\d:\d\d$"},
            "end_time": {"type": "string", "pattern": r"^\d\d:\d\d$"},
            "community": {"$ref": REF + "Organization"}, "place": STRING,
            "hours": {"type": "string", "pattern": r"^\d+(\.\d+)?$"}, "head_count": INT, "participant_count": INT,
            "topic": STRING, "outcome": STRING, "notes": STRING, "group_id": _nullable("integer"),
            "session_number": _nullable("integer"), "workers": {"type": "array", "items": {"$ref": REF + "Worker"}},
            "participants": {"oneOf": [{"type": "null"},
                                       {"type": "array", "items": {"$ref": REF + "Person"}}]},
            "revision": INT, "created_at": DATETIME, "updated_at": DATETIME},
    },
    "NewServiceEntry": {
        "type": "object",
        "description": "The entry form's fields. Every rule of the form applies (the same workflow records it).",
        "properties": {
            "type": {"type": "string", "enum": ["case_work", "group_session", "community_event", "deliberation",
                                                "volunteer_training"]},
            "activity_date": {"type": "string", "format": "date"},
            "start_time": {"type": "string", "example": "09:00"}, "end_time": {"type": "string", "example": "10:30"},
            "community_id": {"type": "integer"}, "place": {"type": "string"},
            "hours": {"type": ["string", "number"],
                      "description": "Hours to two decimals, e.g. \"1.5\"; from the times when left out"},
            "worker_ids": {"type": "array", "items": {"type": "integer"}},
            "participant_ids": {"type": "array", "items": {"type": "integer"}},
            "head_count": {"type": "integer"}, "group_id": {"type": "integer"}, "session_number": {"type": "integer"},
            "topic": {"type": "string"}, "outcome": {"type": "string"}, "notes": {"type": "string"}},
    },
    "RedFlag": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "kind", "contract_id", "activity_ids", "found_at", "explanation", "explained_at"],
        "properties": {
            "id": INT, "kind": {"enum": ["worker_overlap", "worker_hours", "outside_period", "double_counted",
                                         "duplicate"]},
            "contract_id": INT, "activity_ids": {"type": "array", "items": INT}, "found_at": DATETIME,
            "explanation": _nullable("string"), "explained_at": _nullable("string", format="date-time")},
    },
    "Change": {"oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["kind", "id", "updated_at", "entry"],
         "properties": {"kind": {"const": "service_entry"}, "id": INT, "updated_at": DATETIME,
                        "entry": {"$ref": REF + "ServiceEntry"}}},
        {"type": "object", "additionalProperties": False, "required": ["kind", "id", "updated_at", "contract"],
         "properties": {"kind": {"const": "contract"}, "id": INT, "updated_at": DATETIME,
                        "contract": {"$ref": REF + "Contract"}}},
    ]},
}


def _page(item: str, next_always: bool = False) -> dict:
    return {"type": "object", "additionalProperties": False, "required": ["items", "next"],
            "properties": {"items": {"type": "array", "items": {"$ref": REF + item}},
                           "next": {"type": "string"} if next_always else _nullable("string")}}


PROBLEM = {"application/problem+json": {"schema": {"$ref": REF + "Problem"}}}


def _problems(*statuses: int) -> dict:
    words = {400: "Bad request (a malformed cursor, limit or body)", 401: "No usable token",
             403: "Not allowed (the token lacks the scope, or its owner the right)", 404: "No such record",
             409: "Refused by the state of the record", 422: "The entry breaks a rule of the form",
             429: "Too many requests with this token"}
    return {str(s): {"description": words[s], "content": PROBLEM} for s in statuses}


def _ok(schema: str | dict, description: str = "OK", status: str = "200") -> dict:
    body = {"$ref": REF + schema} if isinstance(schema, str) else schema
    return {status: {"description": description, "content": {"application/json": {"schema": body}}}}


PAGING = [
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The `next` link's cursor; opaque."},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 100}, "description": "Rows per page (default 25)."},
]
CONTRACT_ID = {"name": "contract_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
TENDER_ID = {"name": "tender_id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
READ = [{"token": ["read"]}]
PUBLIC: list = []


def _get(summary: str, responses: dict, parameters=(), security=READ, problems=(400, 401, 403, 404, 429)) -> dict:
    if security is PUBLIC:
        problems = tuple(s for s in problems if s not in (401, 403))
    return {"get": {"summary": summary, "parameters": list(parameters), "security": security,
                    "responses": {**responses, **_problems(*problems)}}}


def document() -> dict:
    paths = {
        "/notices/tenders": _get("Published tender notices, newest change first (never drafts)",
                                 _ok(_page("TenderNotice")), PAGING, PUBLIC, (400, 429)),
        "/notices/tenders/{tender_id}": _get("One published tender notice, with the award once public",
                                             _ok("TenderNotice"), [TENDER_ID], PUBLIC, (404, 429)),
        "/notices/contracts": _get("Contract notices (signed contracts), newest first",
                                   _ok(_page("ContractNotice")), PAGING, PUBLIC, (400, 429)),
        "/notices/contracts/{contract_id}": _get("One contract notice", _ok("ContractNotice"), [CONTRACT_ID],
                                                 PUBLIC, (404, 429)),
        "/contracts": _get("The contracts the token's owner may see, newest first", _ok(_page("Contract")),
                           PAGING, problems=(400, 401, 403, 429)),
        "/contracts/{contract_id}": _get("One contract", _ok("ContractDetail"), [CONTRACT_ID],
                                         problems=(401, 403, 404, 429)),
        "/contracts/{contract_id}/services": {
            **_get("The contract's service entries, latest activity first", _ok(_page("ServiceEntry")),
                   [CONTRACT_ID, *PAGING]),
            "post": {"summary": "Record a service entry (the same rules and audit as the entry form)",
                     "parameters": [CONTRACT_ID], "security": [{"token": ["services:write"]}],
                     "requestBody": {"required": False, "content": {
                         "application/json": {"schema": {"$ref": REF + "NewServiceEntry"}}}},
                     "responses": {**_ok("ServiceEntry", "Recorded", "201"),
                                   **_problems(400, 401, 403, 404, 409, 422, 429)}},
        },
        "/contracts/{contract_id}/red-flags": _get("The contract's standing red flags", _ok(_page("RedFlag")),
                                                   [CONTRACT_ID, *PAGING]),
        "/changes": _get(
            "Contracts and service entries changed after `since`, in the order they changed (for incremental sync)",
            _ok(_page("Change", next_always=True)),
            [{"name": "since", "in": "query", "required": False, "schema": {"type": "string"},
              "description": "The previous answer's cursor (from its `next` link); from the start when left out."},
             PAGING[1]], problems=(400, 401, 403, 429)),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "svcproc API", "version": current_app.config.get("VERSION", "0"),
                 "description": "Published notices for anyone; with a personal access token (created under the "
                                "account menu, /account/tokens) what its owner may read and record. Errors are "
                                "RFC 9457 problem details. Money is in fen; times are UTC."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                          "description": "Scopes: " + ", ".join(SCOPES)}},
        },
    }
