"""No dead ends: every POST endpoint of the app, refused, answers on the page the person was on.

For each POST endpoint, a request the app refuses — a rule of the domain (a wrong state, an amount
over the limit), input that does not validate (empty required fields), or a permission the person
lacks although they see the page the action lives on — is sent the way a browser sends it (with a
Referer of that page) and the way htmx sends it (HX-Request and HX-Current-URL). The answer must
be a 4xx that is that page again (its <h1>), showing what went wrong (the refusal beside the form,
or the form's own errors), never the bare "could not complete" page (templates/errors/error.html
and its fragment errors/_message.html); and the database must be exactly as it was.

A form page (GET and POST on the same URL) answers for itself: the form again with its errors and
what was typed. To htmx, an action may also answer with its own fragment (the form or the part of
the page it changes) showing the error, which htmx swaps in where the request came from.
Every POST endpoint needs a row in CASES or in WITHOUT_A_PAGE_REFUSAL (with the reason), so a new
endpoint fails `test_every_post_endpoint_has_a_case` until someone writes its case.

The world is that of tests/test_access_matrix.py (a tender in publicity, the org manager's
contract in progress with a submitted milestone, service logs, a red flag, an evaluation round in
scoring, reports), built once for the module.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
import sqlalchemy as sa
from markupsafe import escape

from svcproc.audit.services import append_pending
from svcproc.extensions import db
from tests.helpers import is_fragment, login
from tests.test_access_matrix import (ACTIONS, DOCUMENTS, ON_THE_DRAFT, QUERIES, built,  # noqa: F401
                                      jobs_stay_queued, world)

pytestmark = pytest.mark.usefixtures("shared_connection")

SELF = "the form page itself"


@dataclass(frozen=True)
class Case:
    """A refused request: `who` sends `data` to the endpoint from the `source` page (an endpoint
    whose URL is built from the world — of several, the first the app has —, or SELF for a form
    page; `data` may be made from the world);
    what was typed must come back with the refusal. `url` and `source_url` override
    URL parameters; `prepare(world)` sets the scene; `status` the refusal's status."""

    who: str
    source: str | tuple[str, ...]
    data: dict | Callable[[dict], dict] = field(default_factory=dict)
    url: dict = field(default_factory=dict)
    source_url: dict = field(default_factory=dict)
    prepare: Callable[[dict], Any] | None = None
    status: int | tuple = (409, 422)
    why: str = ""


def _local_today(world) -> str:
    from svcproc.contracts.workflow import today

    return today().isoformat()


REPORT_JOB = lambda world: world["ids"]["reports"]["report_job_id"]  # noqa: E731
OWN_ACCOUNT = {"user_id": lambda world: world["users"]["admin"].id}


def _batch_with_errors(world) -> None:
    from svcproc.delivery.models import ImportBatch

    batch = db.session.get(ImportBatch, world["ids"]["contracts"]["batch_id"])
    batch.error_count = 1
    batch.errors = [{"row": 2, "message": "日期格式不正确"}]


def _token_revoked_elsewhere(world) -> None:
    """The token revoked in another tab after this page was opened."""
    from svcproc.api.models import ApiToken
    from svcproc.core import clock

    db.session.get(ApiToken, world["ids"]["token_id"]).revoked_at = clock.now()
    db.session.flush()


CONTRACT, TENDER, ROUND = "contracts.contract", "procurement.tender", "evaluations.round"
DRAFT = {"contract_id": lambda world: world["ids"]["contracts"]["draft_contract_id"]}

# endpoint -> the refused request. Empty forms are refused for their required fields (422); a
# state the action does not fit answers 409; a person who sees the page but may not act, 403.
CASES: dict[str, Case] = {
    # --- accounts --------------------------------------------------------------------------------
    "accounts.login": Case("anonymous", SELF, why="no user name or password (a refused login that counts is not sent)"),
    "accounts.change_password": Case("org_manager", SELF, why="nothing typed"),
    "accounts.user_new": Case("admin", SELF, why="no user name"),
    "accounts.user_edit": Case("admin", SELF, why="required fields emptied"),
    "accounts.user_set_active": Case("admin", "accounts.user_edit", {"active": "0"}, url=OWN_ACCOUNT,
                                     source_url=OWN_ACCOUNT, status=409,
                                     why="an administrator deactivating their own account"),
    # --- registry and the public need form ------------------------------------------------------
    "public.need_new": Case("anonymous", SELF, why="nothing described"),
    "registry.area_new": Case("admin", SELF, why="no name"),
    "registry.area_edit": Case("admin", SELF, why="name emptied"),
    "registry.organization_new": Case("procurement", SELF, {"name": "锦江区新星社会工作服务中心"},
                                      why="a name but no credit code"),
    "registry.organization_edit": Case("org_manager", SELF, why="required fields emptied"),
    "registry.organization_status": Case("procurement", "registry.organization", why="no status or reason"),
    "registry.worker_new": Case("org_manager", SELF, why="no name"),
    "registry.worker_edit": Case("org_manager", SELF, why="name emptied"),
    # --- needs, plans, tenders -------------------------------------------------------------------
    "procurement.need_action": Case("procurement", "procurement.need", url={"action": "decline"},
                                    why="declining a need without a reason"),
    "procurement.plan_new": Case("procurement", SELF, why="no title, year or budget"),
    "procurement.plan_edit": Case("procurement", SELF, why="required fields emptied"),
    "procurement.tender_new": Case("procurement", SELF, why="no title or dates"),
    "procurement.tender_edit": Case("procurement", TENDER, status=409, why="the tender is published"),
    "procurement.tender_document_add": Case("procurement", TENDER, why="no file"),
    "procurement.tender_transition": Case("procurement", TENDER, status=409,
                                          why="confirming the award before the publicity period ends"),
    "procurement.tender_cancel": Case("procurement", TENDER, why="no reason"),
    "procurement.question_ask": Case("org_manager", TENDER, {"question": "  "}, why="a blank question"),
    "procurement.question_answer": Case("procurement", TENDER, why="no answer"),
    "procurement.expert_assign": Case("procurement", TENDER, why="no number of experts to draw"),
    "procurement.expert_categories": Case("procurement", "procurement.expert", {"categories": "bogus"},
                                          why="a category not in the list"),
    "procurement.expert_tie_add": Case("procurement", "procurement.expert", why="no organization or tie"),
    "registry.working_day_add": Case("admin", "registry.working_days", why="no date or name"),
    "procurement.expert_remove": Case("procurement", TENDER, status=409, why="the tender is in publicity"),
    "procurement.declare": Case("expert", SELF, status=409, why="already declared (sent again from a second tab)"),
    "procurement.score_cell": Case("expert", "procurement.score", status=409, why="scoring ended (publicity)"),
    "procurement.score_submit": Case("expert", "procurement.score", status=409, why="scoring ended (publicity)"),
    "procurement.bid_invalid": Case("procurement", TENDER, status=409, why="not while the tender is in publicity"),
    "procurement.bid_form": Case("org_manager", SELF, why="no price or documents"),
    "procurement.bid_withdraw": Case("org_manager", TENDER, status=409, why="not while the tender is in publicity"),
    "procurement.objection_new": Case("org_manager", SELF, why="no grounds"),
    "procurement.objection_answer": Case("procurement", TENDER, why="no answer"),
    "procurement.objection_rescore": Case("procurement", TENDER, status=409,
                                          why="only an upheld objection not yet handled is rescored"),
    "procurement.objection_amend": Case("procurement", TENDER, why="no amended document"),
    "procurement.complaint_new": Case("org_manager", SELF, why="no reasons"),
    "procurement.complaint_outcome": Case("procurement", TENDER, why="no decision or date"),
    "procurement.deposit_record": Case("procurement", TENDER, why="no amount, date or form of the deposit"),
    "procurement.deposit_return": Case("procurement", TENDER, why="no date of return"),
    "procurement.low_price_explain": Case("org_manager", TENDER, why="no written explanation"),
    "procurement.low_price_accept": Case("procurement", TENDER, status=409,
                                         why="the bid's price is not abnormally low"),
    "procurement.low_price_reject": Case("procurement", TENDER, why="no reason"),
    # --- contracts -------------------------------------------------------------------------------
    "contracts.contract_new": Case("procurement", SELF, why="no dates or contents"),
    "contracts.contract_edit": Case("procurement", SELF, why="required fields emptied"),
    "contracts.contract_sign": Case("procurement", CONTRACT, source_url=DRAFT, why="no signing date"),
    "contracts.contract_transition": Case("procurement", CONTRACT, status=409,
                                          why="completing a contract whose milestones are not accepted"),
    "contracts.contract_terminate": Case("procurement", CONTRACT, {"terminated_on": "2025-03-20"},
                                         why="a date but no reason"),
    "contracts.contract_amend": Case("procurement", SELF, why="nothing changed, no reason"),
    "contracts.deliverable_add": Case("org_manager", CONTRACT, why="no kind or file"),
    "contracts.bond_record": Case("procurement", CONTRACT, why="no amount, form or date of the bond"),
    "contracts.bond_return": Case("procurement", CONTRACT, why="no date of return"),
    "contracts.milestone_submit": Case("org_manager", CONTRACT, status=409, why="the milestone is already submitted"),
    "contracts.milestone_review": Case("procurement", CONTRACT, why="no decision"),
    "contracts.payment_add": Case("procurement", CONTRACT, lambda world: {
        "amount": "40500.00", "voucher_number": "PZ-2025-031", "paid_on": _local_today(world)}, status=409,
        why="paying a milestone that is submitted but not accepted"),
    "contracts.milestone_period_reopen": Case("procurement", CONTRACT, {"reason": "更正服务日期"}, status=409,
                                              why="the milestone is not paid, so its entries are not locked"),
    "contracts.milestone_period_close": Case("procurement", CONTRACT, status=409,
                                             why="the entries were never reopened"),
    # --- the beneficiary register and service logs ---------------------------------------------
    "delivery.beneficiary_new": Case("org_manager", SELF, {"name": "李桂兰", "phone": "13800001111"},
                                     why="a name but no consent"),
    "delivery.beneficiary_edit": Case("org_manager", SELF, why="required fields emptied"),
    "delivery.beneficiary_reveal": Case("social_worker", "delivery.beneficiary", status=403,
                                        why="only the organization's manager reveals an identity number"),
    "delivery.beneficiary_withdraw": Case("org_manager", SELF, {"withdrawn_on": "2025-06-16"},
                                          why="a date but no word of how consent was withdrawn"),
    "delivery.beneficiary_export": Case("social_worker", "delivery.beneficiary", status=403,
                                        why="only the organization's manager exports a person's data"),
    "delivery.activity_new": Case("org_manager", SELF, why="no date, times or type"),
    "delivery.activity_edit": Case("org_manager", SELF, why="required fields emptied"),
    "delivery.activity_delete": Case("org_manager", SELF, why="no reason"),
    "delivery.participant_quick_add": Case("org_manager", "delivery.activity_new", why="no name"),
    "delivery.group_new": Case("org_manager", "delivery.activity_new", why="no group name"),
    "delivery.contract_workers": Case("org_manager", SELF, {"workers": "999999"},
                                      why="a social worker who is not the organization's"),
    "delivery.imports": Case("org_manager", SELF, why="no file"),
    "delivery.import_confirm": Case("org_manager", "delivery.import_batch", prepare=_batch_with_errors,
                                    why="a checked file with errors cannot be imported"),
    "delivery.red_flag_explain": Case("procurement", "delivery.contract_flags", why="no explanation"),
    # --- evaluations -----------------------------------------------------------------------------
    "evaluations.round_new": Case("procurement", SELF, why="no title, dates or evaluator organization"),
    "evaluations.round_schedule": Case("procurement", ROUND, why="no dates"),
    "evaluations.round_parties": Case("procurement", ROUND, status=409, why="the parties are fixed once scoring opens"),
    "evaluations.evaluator_add": Case("procurement", ROUND, why="no evaluator chosen"),
    "evaluations.evaluator_remove": Case("org_manager", ROUND, status=403,
                                         why="an evaluated organization does not choose its evaluators"),
    "evaluations.round_transition": Case("procurement", ROUND, status=409,
                                         why="finalizing while evaluators have not declared"),
    "evaluations.round_reason_transition": Case("admin", ROUND, status=409,
                                                why="reopening a round in scoring (only a finalized one reopens)"),
    "evaluations.evidence_add": Case("org_manager", ROUND, why="no file"),
    "evaluations.survey_add": Case("procurement", ROUND, why="no counts"),
    "evaluations.survey_import": Case("procurement", ROUND, why="no file"),
    "evaluations.survey_remove": Case("procurement", ROUND, status=409, why="surveys are fixed once scoring opens"),
    "evaluations.declare": Case("evaluator", SELF, status=409, why="already declared"),
    "evaluations.score_cell": Case("evaluator", "evaluations.score", why="no score"),
    "evaluations.score_submit": Case("evaluator", "evaluations.score", status=409, why="scores are missing"),
    "evaluations.finding_add": Case("procurement", ROUND, {"text": ""}, why="no finding"),
    "evaluations.item_add": Case("procurement", ROUND, why="no action, owner or deadline"),
    "evaluations.item_respond": Case("org_manager", ROUND, why="no response"),
    "evaluations.item_review": Case("org_manager", ROUND, status=403,
                                    why="the organization does not close its own rectification items"),
    "evaluations.template_new": Case("admin", SELF, why="no name"),
    "evaluations.template_edit": Case("admin", "evaluations.template", why="name emptied"),
    "evaluations.template_new_version": Case("admin", "evaluations.template", status=409,
                                             why="a draft version exists already"),
    "evaluations.version_edit": Case("admin", SELF, why="an incomplete indicator tree"),
    "evaluations.version_publish": Case("procurement", "evaluations.version", status=403,
                                        why="only administrators publish indicator templates"),
    "evaluations.version_retire": Case("admin", "evaluations.version", status=409,
                                       why="only a published version is retired"),
    # --- reports ---------------------------------------------------------------------------------
    "reports.generate": Case("procurement", "reports.subject", {"format": "xlsx"}, status=422,
                             why="a spreadsheet of a report kind that has none (the only input the button sends)"),
    "reports.build_audit_package": Case("procurement", "reports.subject", status=403,
                                        why="audit packages are for those who read the audit trail"),
    # The job's page: one for every kind of job (jobs.status) once the domains' jobs share it.
    "reports.verify_upload": Case("anonymous", "reports.verify_form", status=422,
                                  why="no file chosen on the public verification page"),
    "api_tokens.tokens_page": Case("org_manager", SELF, why="no name and no scope"),
    "api_tokens.token_revoke": Case("org_manager", "api_tokens.tokens_page", prepare=_token_revoked_elsewhere,
                                    why="the token was already revoked"),
    "reports.retry": Case("admin", ("jobs.status", "reports.job"), status=409, source_url={"job_id": REPORT_JOB},
                          why="the job finished"),
    # --- monitoring (the world's case waits for the bureau's answer to its findings) ---------------
    "monitoring.case_new": Case("auditor", SELF, why="nothing said of what the case looks into"),
    "monitoring.case_issue": Case("auditor", "monitoring.case", {"findings": "补充发现：签约前已开展服务。"}, status=409,
                                  why="findings already issued: the bureau's answer is due"),
    "monitoring.case_answer": Case("procurement", "monitoring.case", why="no answer"),
    "monitoring.case_return": Case("auditor", "monitoring.case", {"reason": "未说明超期原因。"}, status=409,
                                   why="no answer to return yet"),
    "monitoring.case_conclude": Case("auditor", "monitoring.case", {"conclusion": "问题属实。"}, status=409,
                                     why="concluding while the bureau's answer is due"),
    "monitoring.case_document_add": Case("procurement", "monitoring.case", why="no file"),
}

# POST endpoints with no page-level refusal to test, and why.
WITHOUT_A_PAGE_REFUSAL = {
    "api.service_record": "the JSON API has no pages: its refusals are problem details, checked against the "
                          "page's in tests/api/test_api.py",
    "accounts.logout": "logging out is always possible; a button with nothing to refuse",
    "main.set_language": "choosing a language is always possible (an unknown one falls back to the default)",
    "accounts.user_reset_password": "a button with no rule to break, on pages only administrators (who may "
                                    "reset any password) see",
    "audit.verify_start": "a button with no rule to break (a check already under way is simply followed), on a "
                          "page only those who may start a check see",
    "monitoring.flags_refresh": "a button with no rule to break (the flags are recomputed from the record), on the "
                                "desk only those who may ask for it see",
    "procurement.expert_tie_remove": "a button with no rule to break, shown only to procurement staff, who may "
                                     "remove any recorded tie",
    "registry.working_day_remove": "a button with no rule to break, shown only to those who keep the calendar",
    "evaluations.version_check": "checks the draft and shows the findings (200) without changing anything, on a "
                                 "page only administrators (who may check) see",
}


# --- the world's URLs ------------------------------------------------------------------------------


def _values(world: dict, endpoint: str, overrides: dict) -> dict:
    ids = world["ids"]
    values = {"org_id": world["org"].id, "worker_id": world["worker"].id, "area_id": world["area"].id,
              "user_id": world["target_user"].id, "locale": "en", "action": ACTIONS.get(endpoint),
              "document_id": ids[DOCUMENTS[endpoint]] if endpoint in DOCUMENTS else None,
              **{k: ids[k] for k in ("need_id", "plan_id", "tender_id", "bid_id", "member_id", "criterion_id",
                                     "question_id", "objection_id", "complaint_id", "tie_id", "day_id", "token_id")},
              **ids["contracts"], **ids["evaluations"], **ids["reports"], **ids["monitoring"]}
    if endpoint.startswith("reports."):
        values["kind"] = "assessment"
    if endpoint in ON_THE_DRAFT:
        values["contract_id"] = ids["contracts"]["draft_contract_id"]
    values.update({name: value(world) if callable(value) else value for name, value in overrides.items()})
    return values


def url_of(app, endpoint: str, world: dict, overrides: dict | None = None) -> str:
    from flask import url_for

    values = _values(world, endpoint, overrides or {})
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        return url_for(endpoint, **{name: values[name] for name in rule.arguments},
                       **QUERIES.get(endpoint, lambda ids: {})(world["ids"]))


def post_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}


def get_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}


# --- what the database holds ---------------------------------------------------------------------


def database_state() -> dict[str, list]:
    """Every row of every table (the audit events recorded so far placed in the chain first)."""
    append_pending(db.session)
    db.session.flush()
    state = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        state[table.name] = [tuple(row) for row in db.session.execute(sa.select(table).order_by(*order))]
    return state


def _differences(before: dict, after: dict) -> list[str]:
    changed = []
    for name in before:
        if before[name] != after[name]:
            added = len(after[name]) - len(before[name])
            changed.append(f"{name}: {added:+d} rows" if added else f"{name}: rows changed")
    return changed


# --- what the answer shows -----------------------------------------------------------------------

_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_VALUES = re.compile(r'<script type="application/json" id="refusal-values">(.*?)</script>', re.S)
_REFUSAL = re.compile(r'<p class="flash flash-error refusal"[^>]*data-action="([^"]*)"', re.S)
BARE_ERROR_PAGE = 'data-status="'  # errors/_message.html, which errors/error.html includes
# The refusal beside the form, a field's error (not an empty placeholder), or a message on the page.
_SHOWS_AN_ERROR = re.compile(r'id="refusal"|class="error"[^>]*>\s*[^<\s]|class="flash flash-error', re.S)


def shows_an_error(html: str) -> bool:
    return bool(_SHOWS_AN_ERROR.search(html))


def _h1(html: str) -> str | None:
    match = _H1.search(html)
    return match.group(1).strip() if match else None


# --- the tests -----------------------------------------------------------------------------------


def test_every_post_endpoint_has_a_case(app):
    endpoints = post_endpoints(app)
    listed = set(CASES) | set(WITHOUT_A_PAGE_REFUSAL)

    assert not endpoints - listed, "POST endpoints without a refused-request case (add one to CASES)"
    assert not listed - endpoints, "cases for endpoints the app no longer has"
    assert not set(CASES) & set(WITHOUT_A_PAGE_REFUSAL)


def _source(app, case: Case) -> str:
    """The endpoint of the page the action is sent from (the first of the case's that the app has)."""
    candidates = case.source if isinstance(case.source, tuple) else (case.source,)
    pages = get_endpoints(app)
    return next((endpoint for endpoint in candidates if endpoint in pages), candidates[-1])


def test_every_source_page_is_a_page(app):
    pages = get_endpoints(app)

    assert {_source(app, case) for case in CASES.values() if case.source != SELF} <= pages
    assert all(endpoint in pages for endpoint, case in CASES.items() if case.source == SELF)


def _params():
    for endpoint in sorted(CASES):
        for htmx in (False, True):
            yield pytest.param(endpoint, htmx, id=f"{endpoint}-{'htmx' if htmx else 'form post'}")


@pytest.mark.parametrize("endpoint, htmx", list(_params()))
def test_a_refused_post_answers_on_the_page_it_came_from(app, client, world, endpoint, htmx):
    case = CASES[endpoint]
    if case.who != "anonymous":
        assert login(client, world["users"][case.who]).status_code == 303
    if case.prepare:
        case.prepare(world)
    action = url_of(app, endpoint, world, case.url)
    page = action if case.source == SELF else url_of(app, _source(app, case), world, case.source_url)
    shown = client.get(page)
    assert shown.status_code == 200, f"{case.who} cannot open {page}, where the action lives"
    heading = _h1(shown.get_data(as_text=True))
    assert heading, f"{page} has no <h1> to recognise it by"
    headers = ({"HX-Request": "true", "HX-Current-URL": f"http://localhost{page}"} if htmx
               else {"Referer": f"http://localhost{page}"})
    data = case.data(world) if callable(case.data) else case.data
    before = database_state()

    response = client.post(action, data=data, headers=headers)

    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    html = response.get_data(as_text=True)
    assert response.status_code in expected, f"POST {action} as {case.who} ({case.why}): {response.status_code}"
    assert BARE_ERROR_PAGE not in html, f"POST {action} answered with the bare error page"
    assert shows_an_error(html), "the answer does not say what went wrong"
    refusal = _REFUSAL.search(html)
    if refusal:  # the page-level refusal: beside the form that was sent, with what was typed
        assert refusal.group(1) == action.split("?")[0]
        kept = json.loads(_VALUES.search(html).group(1))
        assert {k: kept.get(k) for k in data} == {k: [v] for k, v in data.items()}, "what was typed is lost"
        if htmx:
            assert response.headers.get("HX-Retarget") == "#main"
    else:  # the form again, filled in
        assert all(str(escape(v)) in html for v in data.values() if v.strip()), "what was typed is lost"
    if not (htmx and is_fragment(html)):  # htmx may swap in the form's or the action's own fragment
        assert _h1(html) == heading, f"the answer is not {page} ({heading!r}) but {_h1(html)!r}"
    assert _differences(before, database_state()) == []
