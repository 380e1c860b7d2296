"""Every endpoint × every role (and anonymous): the status a GET, or a POST with empty data, answers.

The table is written out by hand from the rules in DOMAIN.md — not computed from
svcproc.core.permissions — so a change in the permission table that breaks a rule fails here, and
a new endpoint without a row fails `test_the_table_covers_every_endpoint`.

POSTs carry no data and CSRF is off (as in the rest of the suite): an allowed role's empty form
answers 422; button-only forms (logout, deactivate, reset password) carry nothing but the token,
so an allowed role's empty POST simply does the action (303, or 200 for the page showing the new
password). Anonymous visitors are sent to /login (302) from every page that needs a login.

Procurement URLs point at a tender in publicity, built once for the module through the real
workflow: the org manager's organization bid in it (ranked second) and has filed an objection, the
expert sits on its panel (declared no conflict, scored), a bidder's question was answered. So an
allowed person gets past the permission check and meets the tender's state: 409 where the state
refuses the action (editing a published tender, scoring after scoring ended, withdrawing a bid
after the deadline), 422 where only the empty form stands in the way. The world is built once
(`build_once`) and every test runs in a savepoint on top of it; a new domain's rows need its
objects added to `_build` and their ids to `_url`.

Contract and service-log URLs point at objects of the org manager's organization (see
`_build_contracts`): a contract in progress whose first milestone was submitted with a report, the
social worker assigned to it, a beneficiary, a group session with evidence, an overlapping entry
that raised a red flag, a checked ledger import with its background job; besides, a draft contract
(the edit form and the signing) and an award still waiting for its contract (the new-contract form).
Org staff reach only their own organization's contracts and register (`test_another_organization_…`
below); bureau staff and auditors read; procurement staff change contracts, accept and pay.
"""
from __future__ import annotations

from datetime import date

import pytest
from flask import current_app

from svcproc.accounts.models import User
from svcproc.api import tokens as api_tokens
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.core.workdays import LocalDayKind
from svcproc.procurement import experts as expert_pool
from svcproc.procurement import challenges, workflow
from svcproc.procurement.models import AffiliationKind
from svcproc.registry import calendar
from svcproc.procurement.models import Clarification, TenderStatus
from svcproc.registry.models import Area, Organization, OrgRating, SocialWorker
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.procurement import panel_with, submit_need, tender_in
from tests.builders.registry import AreaFactory, OrganizationFactory, SocialWorkerFactory
from tests.helpers import login

pytestmark = pytest.mark.usefixtures("shared_connection")

ANON = "anonymous"
COLUMNS = (ANON, "admin", "procurement", "expert", "org_manager", "social_worker", "evaluator", "auditor")

# endpoint, method:                                 anon  admin proc  expert orgmgr socwkr eval  auditor
MATRIX = {
    ("main.home", "GET"):                            (200, 200, 200, 200, 200, 200, 200, 200),
    ("main.healthz", "GET"):                         (200, 200, 200, 200, 200, 200, 200, 200),
    ("main.set_language", "POST"):                   (303, 303, 303, 303, 303, 303, 303, 303),
    ("accounts.login", "GET"):                       (200, 302, 302, 302, 302, 302, 302, 302),
    ("accounts.login", "POST"):                      (422, 302, 302, 302, 302, 302, 302, 302),
    ("accounts.logout", "POST"):                     (302, 303, 303, 303, 303, 303, 303, 303),
    ("accounts.change_password", "GET"):             (302, 200, 200, 200, 200, 200, 200, 200),
    ("accounts.change_password", "POST"):            (302, 422, 422, 422, 422, 422, 422, 422),
    ("accounts.users", "GET"):                       (302, 200, 403, 403, 403, 403, 403, 403),
    ("accounts.user_new", "GET"):                    (302, 200, 403, 403, 403, 403, 403, 403),
    ("accounts.user_new", "POST"):                   (302, 422, 403, 403, 403, 403, 403, 403),
    ("accounts.user_edit", "GET"):                   (302, 200, 403, 403, 403, 403, 403, 403),
    ("accounts.user_edit", "POST"):                  (302, 422, 403, 403, 403, 403, 403, 403),
    ("accounts.user_set_active", "POST"):            (302, 303, 403, 403, 403, 403, 403, 403),
    ("accounts.user_reset_password", "POST"):        (302, 200, 403, 403, 403, 403, 403, 403),
    ("registry.areas", "GET"):                       (302, 200, 200, 200, 200, 200, 200, 200),
    ("registry.area_new", "GET"):                    (302, 200, 403, 403, 403, 403, 403, 403),
    ("registry.area_new", "POST"):                   (302, 422, 403, 403, 403, 403, 403, 403),
    ("registry.area_edit", "GET"):                   (302, 200, 403, 403, 403, 403, 403, 403),
    ("registry.area_edit", "POST"):                  (302, 422, 403, 403, 403, 403, 403, 403),
    ("registry.organizations", "GET"):               (302, 200, 200, 200, 200, 200, 200, 200),
    ("registry.organization", "GET"):                (302, 200, 200, 200, 200, 200, 200, 200),
    ("registry.organization_new", "GET"):            (302, 200, 200, 403, 403, 403, 403, 403),
    ("registry.organization_new", "POST"):           (302, 422, 422, 403, 403, 403, 403, 403),
    ("registry.organization_edit", "GET"):           (302, 200, 200, 403, 200, 403, 403, 403),
    ("registry.organization_edit", "POST"):          (302, 422, 422, 403, 422, 403, 403, 403),
    ("registry.organization_status", "POST"):        (302, 422, 422, 403, 403, 403, 403, 403),
    ("registry.workers", "GET"):                     (302, 200, 200, 403, 200, 200, 403, 200),
    ("registry.worker_new", "GET"):                  (302, 200, 200, 403, 200, 403, 403, 403),
    ("registry.worker_new", "POST"):                 (302, 422, 422, 403, 422, 403, 403, 403),
    ("registry.worker_edit", "GET"):                 (302, 200, 200, 403, 200, 403, 403, 403),
    ("registry.worker_edit", "POST"):                (302, 422, 422, 403, 422, 403, 403, 403),
    ("audit.events", "GET"):                         (302, 200, 403, 403, 403, 403, 403, 200),
    ("audit.export_csv", "GET"):                     (302, 200, 403, 403, 403, 403, 403, 200),
    ("audit.verify", "GET"):                         (302, 200, 403, 403, 403, 403, 403, 200),
    # Starting a check of the chain is a button (its job runs in the background).
    ("audit.verify_start", "POST"):                  (302, 303, 403, 403, 403, 403, 403, 303),
    # --- public pages: no account needed --------------------------------------------------------
    ("public.need_new", "GET"):                      (200, 200, 200, 200, 200, 200, 200, 200),
    ("public.need_new", "POST"):                     (422, 422, 422, 422, 422, 422, 422, 422),
    ("public.need_track", "GET"):                    (200, 200, 200, 200, 200, 200, 200, 200),
    ("public.notices", "GET"):                       (200, 200, 200, 200, 200, 200, 200, 200),
    ("public.tender_notice", "GET"):                 (200, 200, 200, 200, 200, 200, 200, 200),
    ("public.tender_document", "GET"):               (200, 200, 200, 200, 200, 200, 200, 200),
    # --- open contracting data (OCDS): published information only, for anyone -------------------
    ("ocds.index", "GET"):                           (200, 200, 200, 200, 200, 200, 200, 200),
    ("ocds.releases", "GET"):                        (200, 200, 200, 200, 200, 200, 200, 200),
    ("ocds.release_package", "GET"):                 (200, 200, 200, 200, 200, 200, 200, 200),
    ("ocds.record_package", "GET"):                  (200, 200, 200, 200, 200, 200, 200, 200),
    ("ocds.bulk", "GET"):                            (200, 200, 200, 200, 200, 200, 200, 200),
    ("public.notices_feed", "GET"):                  (200, 200, 200, 200, 200, 200, 200, 200),
    ("public.areas", "GET"):                         (200, 200, 200, 200, 200, 200, 200, 200),
    ("public.area_results", "GET"):                  (200, 200, 200, 200, 200, 200, 200, 200),
    # --- needs and plans: bureau staff and auditors read; procurement staff decide --------------
    ("procurement.needs", "GET"):                    (302, 200, 200, 403, 403, 403, 403, 200),
    ("procurement.needs_export", "GET"):             (302, 200, 200, 403, 403, 403, 403, 200),
    ("procurement.need", "GET"):                     (302, 200, 200, 403, 403, 403, 403, 200),
    ("procurement.need_action", "POST"):             (302, 403, 303, 403, 403, 403, 403, 403),
    ("procurement.plans", "GET"):                    (302, 200, 200, 403, 403, 403, 403, 200),
    ("procurement.plan", "GET"):                     (302, 200, 200, 403, 403, 403, 403, 200),
    ("procurement.plan_new", "GET"):                 (302, 403, 200, 403, 403, 403, 403, 403),
    ("procurement.plan_new", "POST"):                (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.plan_edit", "GET"):                (302, 403, 200, 403, 403, 403, 403, 403),
    ("procurement.plan_edit", "POST"):               (302, 403, 422, 403, 403, 403, 403, 403),
    # --- tenders: staff and auditors see all; bidders the public ones; experts their panel's ----
    ("procurement.tenders", "GET"):                  (302, 200, 200, 200, 200, 403, 403, 200),
    ("procurement.tenders_export", "GET"):           (302, 200, 200, 403, 403, 403, 403, 200),
    ("procurement.tender", "GET"):                   (302, 200, 200, 200, 200, 403, 403, 200),
    ("procurement.tender_new", "GET"):               (302, 403, 200, 403, 403, 403, 403, 403),
    ("procurement.tender_new", "POST"):              (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.tender_edit", "GET"):              (302, 403, 409, 403, 403, 403, 403, 403),
    ("procurement.tender_edit", "POST"):             (302, 403, 409, 403, 403, 403, 403, 403),
    ("procurement.criterion_row", "GET"):            (302, 403, 200, 403, 403, 403, 403, 403),
    ("procurement.tender_document_add", "POST"):     (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.tender_transition", "POST"):       (302, 403, 409, 403, 403, 403, 403, 403),
    ("procurement.tender_cancel", "POST"):           (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.opening_record", "GET"):           (302, 200, 200, 200, 403, 403, 403, 200),
    ("procurement.question_ask", "POST"):            (302, 403, 403, 403, 422, 403, 403, 403),
    ("procurement.question_answer", "POST"):         (302, 403, 422, 403, 403, 403, 403, 403),
    # --- the panel: staff assign; only the panel's own expert declares and scores ---------------
    ("procurement.expert_assign", "POST"):           (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.experts", "GET"):                  (302, 200, 200, 403, 403, 403, 403, 200),
    ("procurement.expert", "GET"):                   (302, 200, 200, 403, 403, 403, 403, 200),
    ("procurement.expert_categories", "POST"):       (302, 403, 303, 403, 403, 403, 403, 403),
    ("procurement.expert_tie_add", "POST"):          (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.expert_tie_remove", "POST"):       (302, 403, 303, 403, 403, 403, 403, 403),
    ("registry.working_days", "GET"):                (302, 200, 200, 403, 403, 403, 403, 200),
    ("registry.working_day_add", "POST"):            (302, 422, 422, 403, 403, 403, 403, 403),
    ("registry.working_day_remove", "POST"):         (302, 303, 303, 403, 403, 403, 403, 403),
    ("procurement.expert_remove", "POST"):           (302, 403, 409, 403, 403, 403, 403, 403),
    ("procurement.declare", "GET"):                  (302, 403, 403, 200, 403, 403, 403, 403),
    ("procurement.declare", "POST"):                 (302, 403, 403, 409, 403, 403, 403, 403),
    ("procurement.score", "GET"):                    (302, 403, 403, 200, 403, 403, 403, 403),
    ("procurement.score_cell", "POST"):              (302, 403, 403, 409, 403, 403, 403, 403),
    ("procurement.score_submit", "POST"):            (302, 403, 403, 409, 403, 403, 403, 403),
    ("procurement.bid_invalid", "POST"):             (302, 403, 409, 409, 403, 403, 403, 403),
    # --- money guarantees: staff record deposits; the bidder explains a low price, the panel rules ---
    ("procurement.deposit_record", "POST"):          (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.deposit_return", "POST"):          (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.low_price_explain", "POST"):       (302, 403, 403, 403, 422, 403, 403, 403),
    ("procurement.low_price_accept", "POST"):        (302, 403, 409, 409, 403, 403, 403, 403),
    ("procurement.low_price_reject", "POST"):        (302, 403, 409, 409, 403, 403, 403, 403),
    ("procurement.low_price_file", "GET"):           (302, 404, 404, 404, 404, 403, 403, 404),
    # --- bids: only the bidding organization's manager; after the opening the bureau, auditors
    # and the declared panel read the documents ------------------------------------------------
    ("procurement.bid_form", "GET"):                 (302, 403, 403, 403, 200, 403, 403, 403),
    ("procurement.bid_form", "POST"):                (302, 403, 403, 403, 422, 403, 403, 403),
    ("procurement.bid_receipt", "GET"):              (302, 403, 403, 403, 200, 403, 403, 403),
    ("procurement.bid_withdraw", "POST"):            (302, 403, 403, 403, 409, 403, 403, 403),
    ("procurement.bid_document", "GET"):             (302, 200, 200, 200, 200, 403, 403, 200),
    ("procurement.my_bids", "GET"):                  (302, 403, 403, 403, 200, 403, 403, 403),
    # --- objections: a bidder files during publicity; staff answer ------------------------------
    ("procurement.objection_new", "GET"):            (302, 403, 403, 403, 200, 403, 403, 403),
    ("procurement.objection_new", "POST"):           (302, 403, 403, 403, 422, 403, 403, 403),
    ("procurement.objection_answer", "POST"):        (302, 403, 422, 403, 403, 403, 403, 403),
    ("procurement.objection_rescore", "POST"):       (302, 403, 409, 403, 403, 403, 403, 403),
    ("procurement.objection_amend", "POST"):         (302, 403, 422, 403, 403, 403, 403, 403),
    # --- complaints: the objector records one; staff record the finance department's decision ----
    ("procurement.complaint_new", "GET"):            (302, 403, 403, 403, 200, 403, 403, 403),
    ("procurement.complaint_new", "POST"):           (302, 403, 403, 403, 422, 403, 403, 403),
    ("procurement.complaint_outcome", "POST"):       (302, 403, 422, 403, 403, 403, 403, 403),
    # --- contracts: bureau staff and auditors read every contract, org staff their own; only
    # procurement staff draw up, sign, amend, accept and pay; the organization's manager delivers ---
    ("contracts.contracts", "GET"):                  (302, 200, 200, 403, 200, 200, 403, 200),
    ("contracts.contracts_export", "GET"):           (302, 200, 200, 403, 200, 200, 403, 200),
    ("contracts.payments", "GET"):                   (302, 200, 200, 403, 200, 200, 403, 200),
    ("contracts.payments_export", "GET"):            (302, 200, 200, 403, 200, 200, 403, 200),
    ("contracts.reminders", "GET"):                  (302, 200, 200, 403, 200, 200, 403, 200),
    ("contracts.contract", "GET"):                   (302, 200, 200, 403, 200, 200, 403, 200),
    ("contracts.contract_new", "GET"):               (302, 403, 200, 403, 403, 403, 403, 403),
    ("contracts.contract_new", "POST"):              (302, 403, 422, 403, 403, 403, 403, 403),
    ("contracts.contract_edit", "GET"):              (302, 403, 200, 403, 403, 403, 403, 403),
    ("contracts.contract_edit", "POST"):             (302, 403, 422, 403, 403, 403, 403, 403),
    ("contracts.milestone_row", "GET"):              (302, 403, 200, 403, 403, 403, 403, 403),
    ("contracts.contract_sign", "POST"):             (302, 403, 422, 403, 403, 403, 403, 403),
    ("contracts.contract_transition", "POST"):       (302, 403, 409, 403, 403, 403, 403, 403),
    ("contracts.contract_terminate", "POST"):        (302, 403, 422, 403, 403, 403, 403, 403),
    ("contracts.contract_amend", "GET"):             (302, 403, 200, 403, 403, 403, 403, 403),
    ("contracts.contract_amend", "POST"):            (302, 403, 422, 403, 403, 403, 403, 403),
    ("contracts.deliverable_add", "POST"):           (302, 403, 403, 403, 422, 403, 403, 403),
    ("contracts.deliverable_download", "GET"):       (302, 200, 200, 403, 200, 200, 403, 200),
    ("contracts.milestone_submit", "POST"):          (302, 403, 403, 403, 409, 403, 403, 403),
    ("contracts.milestone_review", "POST"):          (302, 403, 422, 403, 403, 403, 403, 403),
    ("contracts.payment_add", "POST"):               (302, 403, 422, 403, 403, 403, 403, 403),
    ("contracts.bond_record", "POST"):               (302, 403, 422, 403, 403, 403, 403, 403),
    ("contracts.bond_return", "POST"):               (302, 403, 422, 403, 403, 403, 403, 403),
    # the entries behind a paid milestone: procurement staff reopen and close them (this one is not paid)
    ("contracts.milestone_period_reopen", "POST"):   (302, 403, 409, 403, 403, 403, 403, 403),
    ("contracts.milestone_period_close", "POST"):    (302, 403, 409, 403, 403, 403, 403, 403),
    ("contracts.contract_notices", "GET"):           (200, 200, 200, 200, 200, 200, 200, 200),
    ("contracts.contract_notice", "GET"):            (200, 200, 200, 200, 200, 200, 200, 200),
    # --- the beneficiary register: the organization's own staff keep it, bureau staff and auditors
    # read it; only the organization's manager reveals a full identity number (audited) ----------
    ("delivery.beneficiaries", "GET"):               (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.beneficiaries_export", "GET"):        (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.beneficiary", "GET"):                 (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.beneficiary_new", "GET"):             (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.beneficiary_new", "POST"):            (302, 403, 403, 403, 422, 422, 403, 403),
    ("delivery.beneficiary_edit", "GET"):            (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.beneficiary_edit", "POST"):           (302, 403, 403, 403, 422, 422, 403, 403),
    ("delivery.beneficiary_reveal", "POST"):         (302, 403, 403, 403, 200, 403, 403, 403),
    # Withdrawing consent: whoever of the organization's staff the person told. Who read a record: its
    # organization's manager and the auditors, not social workers. A person's own data: the manager.
    ("delivery.beneficiary_withdraw", "GET"):        (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.beneficiary_withdraw", "POST"):       (302, 403, 403, 403, 422, 422, 403, 403),
    ("delivery.beneficiary_views", "GET"):           (302, 403, 403, 403, 200, 403, 403, 200),
    ("delivery.beneficiary_export", "POST"):         (302, 403, 403, 403, 200, 403, 403, 403),
    # --- service logs: whoever sees the contract reads them; its manager and assigned social
    # workers record; the manager assigns workers and imports ledgers -----------------------------
    ("delivery.activities", "GET"):                  (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.activities_export", "GET"):           (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.activity", "GET"):                    (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.evidence_download", "GET"):           (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.contract_progress", "GET"):           (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.activity_new", "GET"):                (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.activity_new", "POST"):               (302, 403, 403, 403, 422, 422, 403, 403),
    ("delivery.activity_edit", "GET"):               (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.activity_edit", "POST"):              (302, 403, 403, 403, 422, 422, 403, 403),
    ("delivery.activity_delete", "GET"):             (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.activity_delete", "POST"):            (302, 403, 403, 403, 422, 422, 403, 403),
    ("delivery.participant_search", "GET"):          (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.participant_chip", "GET"):            (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.participant_quick_form", "GET"):      (302, 403, 403, 403, 200, 200, 403, 403),
    ("delivery.participant_quick_add", "POST"):      (302, 403, 403, 403, 422, 422, 403, 403),
    ("delivery.group_new", "POST"):                  (302, 403, 403, 403, 422, 422, 403, 403),
    ("delivery.contract_workers", "GET"):            (302, 403, 403, 403, 200, 403, 403, 403),
    ("delivery.contract_workers", "POST"):           (302, 403, 403, 403, 303, 403, 403, 403),
    ("delivery.imports", "GET"):                     (302, 403, 403, 403, 200, 403, 403, 403),
    ("delivery.imports", "POST"):                    (302, 403, 403, 403, 422, 403, 403, 403),
    ("delivery.import_template", "GET"):             (302, 403, 403, 403, 200, 403, 403, 403),
    ("delivery.import_batch", "GET"):                (302, 403, 403, 403, 200, 403, 403, 403),
    ("delivery.import_confirm", "POST"):             (302, 403, 403, 403, 303, 403, 403, 403),
    # A background job: the person who started it, and bureau staff and auditors.
    # --- red flags: the district list for bureau staff and auditors; a contract's own flags for
    # whoever sees the contract; procurement staff and the organization's manager explain -------
    ("delivery.red_flags", "GET"):                   (302, 200, 200, 403, 403, 403, 403, 200),
    ("delivery.red_flags_export", "GET"):            (302, 200, 200, 403, 403, 403, 403, 200),
    ("delivery.contract_flags", "GET"):              (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.contract_flags_export", "GET"):       (302, 200, 200, 403, 200, 200, 403, 200),
    ("delivery.red_flag_explain", "POST"):           (302, 403, 422, 403, 422, 403, 403, 403),
    # --- evaluations: bureau, auditors read; staff run rounds; evaluators score theirs; orgs respond -
    # (the round is scoring and its item answered: surveys and a second response are refused for the
    # state, 409, before the empty form is looked at)
    ("evaluations.rounds", "GET"):                   (302, 200, 200, 403, 200, 403, 200, 200),
    ("evaluations.rectification", "GET"):            (302, 200, 200, 403, 200, 403, 403, 200),
    ("evaluations.rectification_export", "GET"):     (302, 200, 200, 403, 200, 403, 403, 200),
    ("evaluations.round_new", "GET"):                (302, 403, 200, 403, 403, 403, 403, 403),
    ("evaluations.round_new", "POST"):               (302, 403, 422, 403, 403, 403, 403, 403),
    ("evaluations.round", "GET"):                    (302, 200, 200, 403, 200, 403, 200, 200),
    ("evaluations.round_schedule", "POST"):          (302, 403, 422, 403, 403, 403, 403, 403),
    ("evaluations.round_parties", "POST"):           (302, 403, 409, 403, 403, 403, 403, 403),
    ("evaluations.evaluator_add", "POST"):           (302, 403, 422, 403, 403, 403, 403, 403),
    ("evaluations.evaluator_remove", "POST"):        (302, 403, 303, 403, 403, 403, 403, 403),
    ("evaluations.round_transition", "POST"):        (302, 403, 409, 403, 403, 403, 403, 403),
    ("evaluations.round_reason_transition", "POST"): (302, 409, 403, 403, 403, 403, 403, 403),
    ("evaluations.evidence_add", "POST"):            (302, 403, 403, 403, 422, 403, 403, 403),
    ("evaluations.evidence_file", "GET"):            (302, 200, 200, 403, 200, 403, 200, 200),
    ("evaluations.survey_add", "POST"):              (302, 403, 409, 403, 403, 403, 403, 403),
    ("evaluations.survey_import", "POST"):           (302, 403, 409, 403, 403, 403, 403, 403),
    ("evaluations.survey_template", "GET"):          (302, 403, 200, 403, 403, 403, 403, 403),
    ("evaluations.survey_remove", "POST"):           (302, 403, 409, 403, 403, 403, 403, 403),
    ("evaluations.survey_file", "GET"):              (302, 200, 200, 403, 200, 403, 200, 200),
    ("evaluations.declare", "GET"):                  (302, 403, 403, 403, 403, 403, 200, 403),
    ("evaluations.declare", "POST"):                 (302, 403, 403, 403, 403, 403, 409, 403),
    ("evaluations.score", "GET"):                    (302, 403, 403, 403, 403, 403, 200, 403),
    ("evaluations.score_cell", "POST"):              (302, 403, 403, 403, 403, 403, 422, 403),
    ("evaluations.score_submit", "POST"):            (302, 403, 403, 403, 403, 403, 409, 403),
    ("evaluations.summary", "GET"):                  (302, 409, 409, 403, 409, 403, 409, 409),
    ("evaluations.scores_csv", "GET"):               (302, 409, 409, 403, 409, 403, 409, 409),
    ("evaluations.finding_add", "POST"):             (302, 403, 422, 403, 403, 403, 422, 403),
    ("evaluations.item_add", "POST"):                (302, 403, 422, 403, 403, 403, 422, 403),
    ("evaluations.item_respond", "POST"):            (302, 403, 403, 403, 409, 403, 403, 403),
    ("evaluations.item_review", "POST"):             (302, 403, 303, 403, 403, 403, 403, 403),
    ("evaluations.response_file", "GET"):            (302, 200, 200, 403, 200, 403, 200, 200),
    # --- indicator templates: administrators keep them; the bureau, evaluators and auditors read -
    ("evaluations.templates", "GET"):                (302, 200, 200, 403, 403, 403, 200, 200),
    ("evaluations.template_new", "GET"):             (302, 200, 403, 403, 403, 403, 403, 403),
    ("evaluations.template_new", "POST"):            (302, 422, 403, 403, 403, 403, 403, 403),
    ("evaluations.template", "GET"):                 (302, 200, 200, 403, 403, 403, 200, 200),
    ("evaluations.template_edit", "POST"):           (302, 422, 403, 403, 403, 403, 403, 403),
    ("evaluations.template_new_version", "POST"):    (302, 409, 403, 403, 403, 403, 403, 403),
    ("evaluations.version", "GET"):                  (302, 200, 200, 403, 403, 403, 200, 200),
    ("evaluations.version_edit", "GET"):             (302, 200, 403, 403, 403, 403, 403, 403),
    ("evaluations.version_edit", "POST"):            (302, 422, 403, 403, 403, 403, 403, 403),
    ("evaluations.version_row", "GET"):              (302, 200, 403, 403, 403, 403, 403, 403),
    ("evaluations.version_check", "POST"):           (302, 200, 403, 403, 403, 403, 403, 403),
    ("evaluations.version_publish", "POST"):         (302, 303, 403, 403, 403, 403, 403, 403),
    ("evaluations.version_retire", "POST"):          (302, 409, 403, 403, 403, 403, 403, 403),
    # --- reports: bureau staff and auditors read and generate them (rendering changes no record);
    # the auditor's desk and audit packages are for those who read the audit trail; anyone verifies a code
    ("reports.subject", "GET"):                      (302, 200, 200, 403, 403, 403, 403, 200),
    ("reports.generate", "POST"):                    (302, 303, 303, 403, 403, 403, 403, 303),
    # the one job-status page: a report job (started by procurement staff) is followed by those who read reports
    ("jobs.status", "GET"):                          (302, 200, 200, 403, 403, 403, 403, 200),
    ("reports.retry", "POST"):                       (302, 409, 409, 403, 403, 403, 403, 409),
    ("reports.download", "GET"):                     (302, 200, 200, 403, 403, 403, 403, 200),
    ("reports.verify_form", "GET"):                  (200, 200, 200, 200, 200, 200, 200, 200),
    ("reports.verify", "GET"):                       (200, 200, 200, 200, 200, 200, 200, 200),
    # a report's PDF handed in for verification, by anyone; an empty form names no file
    ("reports.verify_upload", "POST"):               (422, 422, 422, 422, 422, 422, 422, 422),
    ("reports.desk", "GET"):                         (302, 200, 403, 403, 403, 403, 403, 200),
    ("reports.audit_package", "GET"):                (302, 200, 403, 403, 403, 403, 403, 200),
    ("reports.build_audit_package", "POST"):         (302, 303, 403, 403, 403, 403, 403, 303),
    # --- monitoring: auditors open cases, issue findings, return answers and conclude; procurement staff
    # answer and attach while their answer is due (the case waits for it); both read; the flags'
    # recomputation is asked for by those who open cases
    ("monitoring.cases", "GET"):                     (302, 403, 200, 403, 403, 403, 403, 200),
    ("monitoring.case_new", "GET"):                  (302, 403, 403, 403, 403, 403, 403, 200),
    ("monitoring.case_new", "POST"):                 (302, 403, 403, 403, 403, 403, 403, 422),
    ("monitoring.case", "GET"):                      (302, 403, 200, 403, 403, 403, 403, 200),
    ("monitoring.case_issue", "POST"):               (302, 403, 403, 403, 403, 403, 403, 422),
    ("monitoring.case_answer", "POST"):              (302, 403, 422, 403, 403, 403, 403, 403),
    ("monitoring.case_return", "POST"):              (302, 403, 403, 403, 403, 403, 403, 422),
    ("monitoring.case_conclude", "POST"):            (302, 403, 403, 403, 403, 403, 403, 422),
    ("monitoring.case_document_add", "POST"):        (302, 403, 422, 403, 403, 403, 403, 422),
    ("monitoring.case_document", "GET"):             (302, 403, 200, 403, 403, 403, 403, 200),
    ("monitoring.flags_refresh", "POST"):            (302, 403, 403, 403, 403, 403, 403, 303),
    # --- the JSON API (tests/api): anyone reads the public notices; the rest needs a personal access
    # token (sent here with every scope, one per role: see `test_access`), 401 without one, and answers
    # as the pages do. An empty POST of a service entry breaks the form's rules (422) for those who
    # record; the account's tokens page is every logged-in person's own.
    ("api.openapi_document", "GET"):                 (200, 200, 200, 200, 200, 200, 200, 200),
    ("api.tender_notices", "GET"):                   (200, 200, 200, 200, 200, 200, 200, 200),
    ("api.tender_notice", "GET"):                    (200, 200, 200, 200, 200, 200, 200, 200),
    ("api.contract_notices", "GET"):                 (200, 200, 200, 200, 200, 200, 200, 200),
    ("api.contract_notice", "GET"):                  (200, 200, 200, 200, 200, 200, 200, 200),
    ("api.contracts", "GET"):                        (401, 200, 200, 403, 200, 200, 403, 200),
    ("api.contract", "GET"):                         (401, 200, 200, 403, 200, 200, 403, 200),
    ("api.services", "GET"):                         (401, 200, 200, 403, 200, 200, 403, 200),
    ("api.service_record", "POST"):                  (401, 403, 403, 403, 422, 422, 403, 403),
    ("api.contract_flags", "GET"):                   (401, 200, 200, 403, 200, 200, 403, 200),
    ("api.changes", "GET"):                          (401, 200, 200, 403, 200, 200, 403, 200),
    ("api_tokens.tokens_page", "GET"):               (302, 200, 200, 200, 200, 200, 200, 200),
    ("api_tokens.tokens_page", "POST"):              (302, 422, 422, 422, 422, 422, 422, 422),
    # the org manager's own token: only its owner revokes it; to anyone else it does not exist
    ("api_tokens.token_revoke", "POST"):             (302, 404, 404, 404, 303, 404, 404, 404),
}

IGNORED_ENDPOINTS = {"static"}
CASES = [
    pytest.param(endpoint, method, who, status, id=f"{endpoint}-{method}-{who}")
    for (endpoint, method), statuses in MATRIX.items()
    for who, status in zip(COLUMNS, statuses, strict=True)
]


ROLE_USERS = ("admin", "procurement", "expert", "org_manager", "social_worker", "evaluator", "auditor")


def _build(clock) -> dict:
    """Everything the URLs point at, built once; returns ids (each test loads its own objects)."""
    org = OrganizationFactory(rating=OrgRating.A4)
    users = {who: user_for_role(Role(who), organization=org if who in ("org_manager", "social_worker") else None)
             for who in ROLE_USERS}
    orgs = [OrganizationFactory(rating=OrgRating.A4), org, OrganizationFactory(rating=OrgRating.A4)]
    managers = [users["org_manager"] if o is org else UserFactory(role=Role.ORG_MANAGER, organization=o) for o in orgs]
    setup = tender_in(TenderStatus.IN_PUBLICITY, clock, orgs=orgs, managers=managers,
                      experts=panel_with(users["expert"]),
                      staff=users["procurement"], questions=("服务人员是否要求全部持有社会工作者职业资格证书？",))
    clock.advance(hours=1)
    objection = workflow.file_objection(users["org_manager"], setup.tender,
                                        "我单位认为中标候选人的项目团队持证比例不满足招标文件要求。", [])
    answered = workflow.file_objection(users["org_manager"], setup.tender, "我单位认为评审专家对我单位方案评分有误。", [])
    workflow.answer_objection(users["procurement"], answered, upheld=False, answer="经复核，评分无误。")
    complaint = challenges.file_complaint(users["org_manager"], answered, "对质疑答复不满意，向财政部门投诉。", [])
    bid = setup.bids[1]
    expert = UserFactory(role=Role.EXPERT)
    tie = expert_pool.add_affiliation(users["procurement"], expert, orgs[0], AffiliationKind.FORMER_STAFF, "2024年离职")
    local_day = calendar.add_local_day(users["admin"], date(2025, 4, 7), LocalDayKind.DAY_OFF, "区级调休")
    return {
        "now": clock.now,
        "users": {who: user.id for who, user in users.items()},
        "org_id": org.id, "worker_id": SocialWorkerFactory(organization=org).id, "area_id": AreaFactory().id,
        "user_id": expert.id, "tie_id": tie.id, "day_id": local_day.id,
        "need_id": submit_need().id, "plan_id": setup.plan.id, "tender_id": setup.tender.id, "bid_id": bid.id,
        "bid_document_id": bid.documents[0].id, "tender_document_id": setup.tender.documents[0].id,
        "member_id": setup.member_of(users["expert"]).id, "criterion_id": setup.tender.criteria[0].id,
        "question_id": db.session.execute(db.select(Clarification.id)).scalar_one(),
        "objection_id": objection.id, "complaint_id": complaint.id,
        "ocid": current_app.config["OCDS_PREFIX"] + setup.tender.number, "year": setup.plan.fiscal_year,
        "token_id": api_tokens.create_token(users["org_manager"], "街道平台", ["read"], None)[0].id,
        "contracts": _build_contracts(clock, users, org),
    } | {"evaluations": _build_evaluations(clock, users, org)} | {"reports": _build_reports(users)} \
      | _build_monitoring(users)


def _build_monitoring(users: dict) -> dict:
    """A monitoring case on the org manager's contract, its findings issued to the bureau (whose
    answer is due), with the auditor's working paper attached."""
    from svcproc.contracts.models import Contract
    from svcproc.monitoring import workflow as monitoring
    from tests.builders.files import pdf_upload

    auditor = users["auditor"]
    contract = db.session.execute(db.select(Contract).where(Contract.organization_id == users["org_manager"]
                                                            .organization_id).order_by(Contract.id)).scalars().first()
    case = monitoring.open_case(auditor, subject="签约时限核查", number=contract.number)
    document = monitoring.attach_document(auditor, case, pdf_upload("核查底稿.pdf", "monitoring"), "核查底稿")
    monitoring.issue_findings(auditor, case, "合同签订超过中标通知后30日。")
    return {"monitoring": {"case_id": case.id}, "monitoring_document_id": document.id}


def _build_reports(users: dict) -> dict:
    """The contract's assessment report, rendered last, with its audit package, and a finished
    report job."""
    from svcproc.contracts.models import Contract
    from svcproc.core import jobs
    from svcproc.reports import services as reports
    from svcproc.reports.models import ReportKind

    contract = db.session.execute(db.select(Contract).where(Contract.organization_id == users["org_manager"]
                                                            .organization_id).order_by(Contract.id)).scalars().first()
    report = reports.generate(None, ReportKind.ASSESSMENT, contract.id, "zh_CN")
    reports.build_package(None, contract, report)
    job = jobs.create_job(reports.JOB_KIND, {"kind": "assessment", "subject_id": contract.id, "locale": "zh_CN"},
                          users["procurement"])
    job.status, job.result = jobs.JobStatus.DONE, {"report_id": report.id}
    return {"report_id": report.id, "report_job_id": job.id, "code": report.code, "subject_id": contract.id}


CONTRACT_CONTENTS = dict(
    service_content="为玉林街道独居老人提供探访、个案、小组和社区活动服务。", quantity="个案30个、小组10个共60节。",
    quality="服务符合《社会工作服务指南》。", settlement="按付款计划分期支付。",
    rights_obligations="采购人监督、验收与付款；服务机构如实记录服务台账。", breach_liability="未达绩效目标的按比例扣减服务费。")


def _build_contracts(clock, users: dict, org: Organization) -> dict:
    """The org manager's organization's contracts and service logs, through the real workflows;
    returns the URL parameters. Its history ends months before the tender above is in publicity
    (the clock is put back where it was), so at request time the contract is well under way."""
    from datetime import time, timedelta
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from svcproc.contracts import workflow as contracts
    from svcproc.contracts.models import DeliverableKind
    from svcproc.core import jobs
    from svcproc.delivery import identity, ledger, services
    from svcproc.delivery.models import ActivityType, ConsentBy, ConsentMethod, Gender, RedFlag
    from svcproc.procurement.models import TenderMethod
    from tests.builders.files import pdf_upload

    resume = clock.now
    clock.set(resume - timedelta(days=150))
    staff, manager = users["procurement"], users["org_manager"]

    def award():
        # Single source: one bid (this organization's), one expert; the quickest real way to an award.
        return tender_in(TenderStatus.AWARDED, clock, method=TenderMethod.SINGLE_SOURCE, orgs=[org],
                         managers=[manager], experts=[UserFactory(role=Role.EXPERT)], staff=staff).tender

    def draw_up(tender):
        start = contracts.today()
        contract = contracts.create_contract(staff, tender, start_date=start, end_date=start + timedelta(days=364),
                                             **CONTRACT_CONTENTS)
        contracts.set_milestones(staff, contract, [
            {"title": title, "due_date": start + timedelta(days=days), "required_deliverables": "阶段报告、签到表",
             "tranche_percent": percent} for title, days, percent in (("项目启动", 30, "30"), ("中期", 180, "30"),
                                                                       ("末期", 364, "40"))])
        return contract

    contract = draw_up(award())
    contracts.sign_contract(staff, contract, contracts.today())
    contracts.start_contract(staff, contract)
    worker = SocialWorkerFactory(organization=org, user_id=users["social_worker"].id)
    services.set_contract_workers(manager, contract, [worker])
    community = contract.tender.plan.communities[0]

    clock.advance(days=20)
    milestone = contract.milestones[0]
    contracts.add_deliverable(manager, milestone, pdf_upload("启动报告.pdf"), DeliverableKind.REPORT)
    contracts.submit_milestone(manager, milestone)
    person = services.create_beneficiary(
        manager, org.id, name="王秀英", gender=Gender.FEMALE, id_number=identity.make("51010719480312012"),
        birth_year=None, community=community, categories=["elderly_alone"], phone="13900001234",
        consent_by=ConsentBy.SELF, guardian_name="", consent_method=ConsentMethod.WRITTEN,
        consent_on=contracts.today(), sensitive_consent=True, sensitive_consent_purpose="核实身份并电话回访",
        sensitive_consent_on=contracts.today())
    group = services.create_group(users["social_worker"], contract, "互助小组", 6, [person])
    session = dict(type=ActivityType.GROUP_SESSION, activity_date=contracts.today() - timedelta(days=1),
                   start_time=time(9, 0), end_time=time(10, 30), community=community, place="社区活动室",
                   workers=[worker], participants=[person], head_count=0, group=group, session_number=1,
                   topic="互助小组第一节")
    activity = services.record_activity(users["social_worker"], contract, session, [pdf_upload("签到表.pdf")])
    # The same worker booked elsewhere at the same time: a red flag.
    services.record_activity(manager, contract, {**session, "type": ActivityType.COMMUNITY_EVENT, "group": None,
                                                 "session_number": None, "head_count": 20,
                                                 "start_time": time(10, 0), "end_time": time(11, 0)})
    flag = db.session.execute(db.select(RedFlag).where(RedFlag.contract_id == contract.id)).scalars().first()
    header = ["日期", "开始时间", "结束时间", "服务类型", "社区", "地点", "社工", "参与人员", "其他参与人数", "服务时长（小时）", "小组",
              "节次", "主题", "成果", "备注"]
    row = {"日期": (contracts.today() - timedelta(days=2)).isoformat(), "开始时间": "14:00", "结束时间": "15:30",
           "服务类型": "社区活动", "社区": community.name, "地点": "社区广场", "社工": worker.name,
           "其他参与人数": "30", "主题": "防诈骗知识讲座"}
    text = ",".join(header) + "\n" + ",".join(row.get(h, "") for h in header) + "\n"
    batch = ledger.create_batch(manager, contract, FileStorage(BytesIO(text.encode("utf-8")), filename="台账.csv"))
    ledger.run_check(manager, batch)
    assert batch.error_count == 0, batch.errors
    job = jobs.create_job("ledger_check", {"batch_id": batch.id}, manager)  # never run: stays queued
    draft = draw_up(award())
    waiting = award()
    clock.set(resume)
    return {
        "contract_id": contract.id, "milestone_id": milestone.id, "deliverable_id": milestone.deliverables[0].id,
        "beneficiary_id": person.id, "activity_id": activity.id, "evidence_id": activity.evidence[0].id,
        "batch_id": batch.id, "job_id": job.id, "flag_id": flag.id, "kind": "csv",
        "draft_contract_id": draft.id, "waiting_tender_id": waiting.id,
    }


def _build_evaluations(clock, users: dict, org: Organization) -> dict:
    """A mid-term evaluation of the org manager's contract in progress, in scoring: the evaluator
    assigned (declared no conflict, nothing submitted), a survey imported from a file, evidence,
    a finding whose rectification item the organization has answered with a file; and an
    administrator's draft template."""
    from datetime import timedelta
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from svcproc.contracts.models import Contract, ContractStatus
    from svcproc.evaluations import indicators, surveys
    from svcproc.evaluations import workflow as evaluations
    from svcproc.evaluations.models import RoundKind
    from svcproc.registry.models import OrgKind
    from tests.builders.files import pdf_upload

    staff, manager, evaluator = users["procurement"], users["org_manager"], users["evaluator"]
    contract = db.session.execute(db.select(Contract).where(Contract.organization_id == org.id,
                                                            Contract.status == ContractStatus.IN_PROGRESS)).scalar_one()
    from svcproc.contracts.workflow import today as local_today

    today = local_today()
    round_ = evaluations.create_round(
        staff, contract, kind=RoundKind.MIDTERM, title="中期评估", template_version=indicators.default_version(),
        evaluation_org=OrganizationFactory(kind=OrgKind.EVALUATION), scheduled_start=today,
        scheduled_end=today + timedelta(days=7))
    evaluations.set_parties(staff, round_, [("第三方", "70"), ("区民政局", "30")])
    member = evaluations.assign_evaluator(staff, round_, evaluator, round_.parties[0])
    evaluations.assign_evaluator(staff, round_, UserFactory(role=Role.EVALUATOR), round_.parties[1])
    responses = "受访群体,是否满意\n服务对象,满意\n服务对象,不满意\n".encode("utf-8")
    survey = surveys.import_responses(staff, round_, leaf_key="satisfaction.beneficiaries",
                                      upload=FileStorage(BytesIO(responses), filename="满意度.csv"))[0]
    exhibit = evaluations.add_evidence(manager, round_, pdf_upload("中期报告.pdf"), "中期自评报告")
    evaluations.open_scoring(staff, round_)
    evaluations.declare(evaluator, member, related=False)
    finding = evaluations.add_finding(staff, round_, "服务台账签到表缺少服务对象签名。")
    item = evaluations.add_item(staff, finding, action="补齐签到表签名", owner="项目主管",
                                deadline=today + timedelta(days=30))
    response = evaluations.respond(manager, item, "已补齐签名并复核台账。", [pdf_upload("签到表.pdf")])
    template = indicators.create_template(users["admin"], name="居家养老服务评估指标")
    return {"round_id": round_.id, "evaluator_id": member.id, "exhibit_id": exhibit.id, "survey_id": survey.id,
            "finding_id": finding.id, "item_id": item.id, "response_id": response.id,
            "file_id": response.files[0].file_id, "leaf_key": "management.plan",
            "template_id": template.id, "version_id": template.versions[0].id}


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(_build)


@pytest.fixture(autouse=True)
def jobs_stay_queued(monkeypatch):
    """A POST that starts a background job leaves it queued: run in a thread, it would share the
    module's one connection with the test (and a verification of the audit chain commits)."""
    from svcproc.core import jobs

    monkeypatch.setattr(jobs, "dispatch", lambda job: None)


@pytest.fixture
def world(built, clock):
    """The objects the URLs point at (loaded in the test's session), with the clock in publicity."""
    clock.set(built["now"])
    return {
        "org": db.session.get(Organization, built["org_id"]),
        "worker": db.session.get(SocialWorker, built["worker_id"]),
        "area": db.session.get(Area, built["area_id"]),
        "target_user": db.session.get(User, built["user_id"]),
        "users": {who: db.session.get(User, uid) for who, uid in built["users"].items()},
        "ids": built,
    }


# The action a URL with an <action> part names: adopting the (new) need, confirming the award,
# completing the contract (refused: its milestones are not accepted yet).
ACTIONS = {"procurement.need_action": "adopt", "procurement.tender_transition": "confirm",
           "contracts.contract_transition": "complete", "evaluations.round_transition": "finalize",
           "evaluations.round_reason_transition": "reopen", "evaluations.item_review": "close"}
DOCUMENTS = {"procurement.bid_document": "bid_document_id", "public.tender_document": "tender_document_id",
             "monitoring.case_document": "monitoring_document_id"}
# Pages of the draft contract (the others are of the contract in progress), and query strings.
ON_THE_DRAFT = {"contracts.contract_edit", "contracts.contract_sign"}
QUERIES = {"contracts.contract_new": lambda ids: {"tender": ids["contracts"]["waiting_tender_id"]}}


def _url(app, endpoint: str, world: dict) -> str:
    ids = world["ids"]
    values = {"org_id": world["org"].id, "worker_id": world["worker"].id, "area_id": world["area"].id,
              "user_id": world["target_user"].id, "locale": "en", "action": ACTIONS.get(endpoint),
              "ocid": ids["ocid"], "year": ids["year"], "fmt": "json" if endpoint.startswith("ocds.") else "xlsx",
              "document_id": ids[DOCUMENTS[endpoint]] if endpoint in DOCUMENTS else None,
              **{k: ids[k] for k in ("need_id", "plan_id", "tender_id", "bid_id", "member_id", "criterion_id",
                                     "question_id", "objection_id", "complaint_id", "tie_id", "day_id", "token_id")},
              **ids["contracts"], **ids["evaluations"], **ids["reports"], **ids["monitoring"]}
    if endpoint.startswith("reports."):  # the contract's assessment report ("kind" above is a ledger's)
        values["kind"] = "assessment"
    if endpoint in ON_THE_DRAFT:
        values["contract_id"] = ids["contracts"]["draft_contract_id"]
    if endpoint == "jobs.status":  # the finished report job ("job_id" above is a ledger check's)
        values["job_id"] = ids["reports"]["report_job_id"]
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{name: values[name] for name in rule.arguments},
                       **QUERIES.get(endpoint, lambda ids: {})(ids))


def api_headers(endpoint: str, user) -> dict:
    """The API knows people by their personal access tokens (a token with every scope), not by the
    session: its endpoints are sent one instead of logging in."""
    if user is None or not endpoint.startswith("api."):
        return {}
    from svcproc.api.models import SCOPES

    return {"Authorization": "Bearer " + api_tokens.create_token(user, "matrix", list(SCOPES), None)[1]}


def open_as(client, endpoint: str, url: str, method: str, user):
    """The request as `user` (None: anonymous) makes it: logged in for the pages, with a token for the API."""
    if user is not None and not endpoint.startswith("api."):
        assert login(client, user).status_code == 303
    return client.open(url, method=method, data={} if method == "POST" else None, headers=api_headers(endpoint, user))


@pytest.mark.parametrize("endpoint, method, who, expected", CASES)
def test_access(app, client, world, endpoint, method, who, expected):
    user = world["users"][who] if who != ANON else None
    url = _url(app, endpoint, world)

    response = open_as(client, endpoint, url, method, user)

    assert response.status_code == expected, f"{method} {url} as {who}"
    if expected == 302 and who == ANON:
        assert response.headers["Location"].startswith("/login")


def test_the_table_covers_every_endpoint(app):
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        routes.setdefault(rule.endpoint, set()).update(rule.methods & {"GET", "POST", "PUT", "PATCH", "DELETE"})

    in_table = {}
    for endpoint, method in MATRIX:
        in_table.setdefault(endpoint, set()).add(method)

    assert set(in_table) == set(routes), "endpoints without a row (or rows without an endpoint)"
    assert in_table == routes, "each method an endpoint accepts needs its own row"


# --- an org manager of another organization ------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["registry.organization_edit", "registry.worker_edit"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_org_manager_of_another_organization_is_refused(app, client, world, endpoint, method):
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory()))

    response = client.open(_url(app, endpoint, world), method=method, data={} if method == "POST" else None)

    assert response.status_code == 403


def test_org_manager_of_another_organization_cannot_add_workers_there(app, client, world):
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory()))

    response = client.post("/registry/workers/new", data={
        "name": "某社工", "organization_id": str(world["org"].id), "certification_level": "none"})

    assert response.status_code in (403, 422)
    assert response.status_code != 303


# --- org staff of another organization: nothing of this organization's contracts or register -------

# Contract and service-log endpoints that point at no object of the organization: lists (scoped
# elsewhere), new forms, the district's red flags and the public notices.
NOT_OF_THE_ORGANIZATION = {
    "contracts.contracts", "contracts.reminders", "contracts.contract_new", "contracts.milestone_row",
    "contracts.contracts_export", "contracts.payments", "contracts.payments_export", "delivery.beneficiaries_export",
    "delivery.red_flags_export", "evaluations.rectification_export",
    "contracts.contract_notices", "contracts.contract_notice", "delivery.beneficiaries", "delivery.beneficiary_new",
    "delivery.red_flags", "evaluations.rounds", "evaluations.rectification", "evaluations.survey_template",
    "evaluations.templates", "evaluations.template_new", "evaluations.template", "evaluations.template_edit",
    "evaluations.template_new_version", "evaluations.version", "evaluations.version_edit", "evaluations.version_row",
    "evaluations.version_check", "evaluations.version_publish", "evaluations.version_retire",
}
# Report URLs naming one of the organization's objects (the others name a report, a job or a code),
# and the job-status page, here of a job that made the assessment report of the organization's contract.
REPORTS_OF_THE_ORGANIZATION = {"reports.audit_package", "reports.build_audit_package", "jobs.status"}
# The API's endpoints naming one of the organization's contracts (with a token of the outsider's).
API_OF_THE_ORGANIZATION = {"api.contract", "api.services", "api.service_record", "api.contract_flags"}
OF_THE_ORGANIZATION = [
    pytest.param(endpoint, method, id=f"{endpoint}-{method}") for endpoint, method in MATRIX
    if endpoint.split(".")[0] in ("contracts", "delivery", "evaluations") and endpoint not in NOT_OF_THE_ORGANIZATION
    or endpoint in REPORTS_OF_THE_ORGANIZATION or endpoint in API_OF_THE_ORGANIZATION
]
OWN_OBJECTS = {"contract_id", "milestone_id", "deliverable_id", "activity_id", "evidence_id", "beneficiary_id",
               "batch_id", "flag_id", "job_id", "round_id", "evaluator_id", "exhibit_id", "survey_id", "finding_id",
               "item_id", "response_id"}


def test_every_url_of_an_organizations_objects_is_walked_by_outsiders(app):
    """Only the public notices (the page's and the API's) name a contract without being walked below."""
    walked = {endpoint for endpoint, _method in (p.values for p in OF_THE_ORGANIZATION)}
    pointing = {r.endpoint for r in app.url_map.iter_rules() if set(r.arguments) & OWN_OBJECTS}

    assert pointing - walked == {"contracts.contract_notice", "api.contract_notice"}
    assert all(set(r.arguments) & OWN_OBJECTS for r in app.url_map.iter_rules() if r.endpoint in walked)


def _outsider(who: str) -> User:
    other = OrganizationFactory(rating=OrgRating.A4)
    user = user_for_role(Role(who), organization=other)
    if who == "social_worker":
        SocialWorkerFactory(organization=other, user_id=user.id)
    return user


@pytest.mark.parametrize("who", ["org_manager", "social_worker"])
@pytest.mark.parametrize("endpoint, method", OF_THE_ORGANIZATION)
def test_staff_of_another_organization_reach_nothing_of_this_one(app, client, world, endpoint, method, who):
    """Every contract, milestone, deliverable, activity, beneficiary, import and flag URL of the
    organization answers another organization's manager or social worker with 403 or 404, and
    shows nothing of it."""
    from svcproc.contracts.models import Contract
    from svcproc.delivery.models import Beneficiary

    ids = world["ids"]["contracts"]
    contract = db.session.get(Contract, ids["contract_id"])
    person = db.session.get(Beneficiary, ids["beneficiary_id"])
    response = open_as(client, endpoint, _url(app, endpoint, world), method, _outsider(who))

    assert response.status_code in (403, 404)
    body = response.get_data(as_text=True)
    assert contract.number not in body and contract.title not in body and person.name not in body

