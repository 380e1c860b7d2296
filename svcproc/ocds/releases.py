"""The OCDS releases of one contracting process (a tender and its contract), built from what is published.

One release per published event, each with an id and a date that stay the same however often it is
built: the tender notice, each document added to it after publication (a tender amendment), the
opening of bids, the proposed award of each publicity round, the award (or the cancellation or
failure), the contract signed, each contract amendment, each milestone accepted, each payment, each
ended month's services in figures, the services accepted as completed, and the contract's closing
or termination. A release carries what the event published (OCDS merges them into the record);
dates are taken from the rows the event wrote (the completion from its audit event), never from the
time of the export.

Only what the public notices show goes out: no bid before the opening, no expert, no contact
person or phone, nothing from the service logs (beneficiaries, service entries, social workers)
but monthly totals. Deliverables are listed by kind, never by file or title,
and sign-in sheets and photos (which name or show people) are left out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Iterable

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..contracts.labels import DELIVERABLE_KIND_LABELS
from ..contracts.models import Contract, ContractStatus, DeliverableKind, MilestoneStatus
from ..core.clock import LOCAL_TZ
from ..core.targets import TARGET_FIELDS
from ..procurement.labels import CATEGORY_LABELS, METHOD_LABELS, TARGET_LABELS
from ..procurement.models import Bid, BidStatus, Tender, TenderMethod, TenderStatus
from ..registry.forms import REGISTRATION_TYPE_LABELS
from ..registry.models import Organization, OrgScale

# Parties are identified by their unified social credit code (统一社会信用代码, GB 32100-2015).
IDENTIFIER_SCHEME = "CN-USCC"
REGISTRATION_SCHEME = "CN-ORGANIZATION-REGISTRATION-TYPE"
LAW_SCHEME = "CN-LAW"
LOT_ID = "1"

# OCDS procurementMethod: who may take part. Consultation and inquiry invite qualified suppliers,
# negotiation talks with a few, single source with one.
METHODS = {
    TenderMethod.PUBLIC_TENDER: "open",
    TenderMethod.COMPETITIVE_CONSULTATION: "selective",
    TenderMethod.COMPETITIVE_NEGOTIATION: "limited",
    TenderMethod.INQUIRY: "selective",
    TenderMethod.SINGLE_SOURCE: "direct",
}
# Inquiry and negotiation award the lowest compliant price; the others score quality and price.
PRICE_ONLY = frozenset({TenderMethod.INQUIRY, TenderMethod.COMPETITIVE_NEGOTIATION})

LEGAL_BASIS = {
    TenderMethod.PUBLIC_TENDER: ("政府采购法", _l("Government Procurement Law of the People's Republic of China")),
    TenderMethod.COMPETITIVE_CONSULTATION: ("财库〔2014〕214号", _l(
        "Interim Measures for the Administration of Competitive Consultation in Government Procurement")),
    TenderMethod.COMPETITIVE_NEGOTIATION: ("财政部令第74号", _l(
        "Measures for the Administration of Non-Tendering Government Procurement Methods")),
    TenderMethod.INQUIRY: ("财政部令第74号", _l(
        "Measures for the Administration of Non-Tendering Government Procurement Methods")),
    TenderMethod.SINGLE_SOURCE: ("财政部令第74号", _l(
        "Measures for the Administration of Non-Tendering Government Procurement Methods")),
}
TEXTS = {
    "price": _l("Price"),
    "price_rule": _l("Comprehensive scoring: the price score is the lowest valid bid price divided by the bid's "
                     "price, times the price weight; the bid with the highest total wins."),
    "price_only_rule": _l("The lowest price among the compliant responses wins."),
    "document_added": _l("A document was added to the tender documents."),
    "contract_completed": _l("The services were accepted as delivered."),
    "contract_terminated": _l("The contract was terminated before its end."),
    "reason_cancelled": _l("Reason for the cancellation"),
    "reason_unsuccessful": _l("Reason the tender failed"),
    "progress_activities": _l("Service entries recorded"),
    "progress_person_times": _l("Person-times served"),
    "progress_hours": _l("Service hours"),
    "final_value": _l("The total of the payments made under the contract."),
    "budget": _l("Budget of the project plan for the fiscal year"),
    "min_rating": _l("Minimum organization rating: %(rating)s; organizations on the list of seriously dishonest "
                     "entities may not bid."),
    "no_dishonest": _l("Organizations on the list of seriously dishonest entities may not bid."),
}
# Deliverables that describe the work; sign-in sheets and photos name or show the people served.
PUBLISHED_DELIVERABLES = {DeliverableKind.PLAN: "projectPlan", DeliverableKind.REPORT: "physicalProgressReport"}
TENDER_STATUS = {TenderStatus.AWARDED: "complete", TenderStatus.CANCELLED: "cancelled",
                 TenderStatus.FAILED: "unsuccessful"}


@dataclass
class Labels:
    """Each translatable text rendered once per export, in Chinese and in English (`_en` fields)."""

    zh: dict = field(default_factory=dict)
    en: dict = field(default_factory=dict)

    @classmethod
    def render(cls) -> Labels:
        tables = {"method": METHOD_LABELS, "category": CATEGORY_LABELS, "target": TARGET_LABELS,
                  "registration": REGISTRATION_TYPE_LABELS, "deliverable": DELIVERABLE_KIND_LABELS,
                  "text": TEXTS, "law": {k: v[1] for k, v in LEGAL_BASIS.items()}}
        labels = cls()
        for locale, into in (("zh_CN", labels.zh), ("en", labels.en)):
            with force_locale(locale):
                for name, table in tables.items():
                    into[name] = {key: str(value) for key, value in table.items()}
        return labels

    def pair(self, table: str, key, field_name: str) -> dict:
        """{field: Chinese, field_en: English} (the OCDS language variation of a text field)."""
        return {field_name: self.zh[table][key], f"{field_name}_en": self.en[table][key]}


@dataclass
class Publisher:
    """The bureau that buys and publishes, with the settings of its OCDS publication."""

    prefix: str
    name: str
    name_en: str
    credit_code: str = ""
    document_url: object = None   # callable(tender, document) -> public URL of a tender document

    @property
    def party_id(self) -> str:
        return f"{IDENTIFIER_SCHEME}-{self.credit_code}" if self.credit_code else "buyer"

    def reference(self) -> dict:
        return {"id": self.party_id, "name": self.name}

    def party(self) -> dict:
        party = {"id": self.party_id, "name": self.name, "name_en": self.name_en,
                 "roles": ["buyer", "procuringEntity", "payer"]}
        if self.credit_code:
            party["identifier"] = {"scheme": IDENTIFIER_SCHEME, "id": self.credit_code, "legalName": self.name}
        return party


def ocid(prefix: str, tender: Tender) -> str:
    """The contracting process's one identifier: the bureau's prefix and the tender's number."""
    return f"{prefix}{tender.number}"


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def newest(stamps: Iterable[str], default: str = "") -> str:
    """The latest of release dates as a UTC stamp. They are written in UTC ("…Z") or as the start
    of a local day ("…+08:00"), so their text does not sort as their moments do: 20 May 00:00 in
    Beijing is before 19 May 17:00 UTC."""
    moments = [datetime.fromisoformat(s) for s in stamps if s]
    return stamp(max(moments)) if moments else default


def day_stamp(day: date) -> str:
    """A calendar day of the bureau's (Asia/Shanghai) as the start of that day."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ).isoformat()


def amount(fen: int):
    """Yuan as a JSON number: an integer when whole, else the two-decimal value (exact in JSON text)."""
    if fen % 100 == 0:
        return fen // 100
    return float(Decimal(fen) / 100)


def money(fen: int) -> dict:
    return {"amount": amount(fen), "currency": "CNY"}


def org_reference(org: Organization) -> dict:
    return {"id": f"{IDENTIFIER_SCHEME}-{org.credit_code}", "name": org.name}


class Process:
    """One tender (and its contract, when signed) as OCDS releases."""

    def __init__(self, tender: Tender, contract: Contract | None, publisher: Publisher, labels: Labels,
                 facts: dict | None = None):
        """`facts`: what the contract's rows do not hold: "months" (figures of each ended month of
        services) and "completed_at" (when a closed contract was accepted, from its audit event)."""
        self.tender, self.publisher, self.labels = tender, publisher, labels
        facts = facts or {}
        self.months = facts.get("months") or {}
        self.completed_at = facts.get("completed_at")
        self.contract = contract if contract is not None and contract.is_public else None
        self.ocid = ocid(publisher.prefix, tender)

    # --- the pieces ---------------------------------------------------------------------------

    def party(self, org: Organization, roles: list[str]) -> dict:
        details = {"classifications": [{"scheme": REGISTRATION_SCHEME, "id": org.registration_type.value,
                                        **self.labels.pair("registration", org.registration_type, "description")}]}
        if org.scale != OrgScale.UNSTATED:
            # The size the bureau recorded from the organization's declaration (中小企业声明函); the
            # partyScale codes micro, small, medium and large are the same four sizes.
            details["scale"] = org.scale.value
        return {**org_reference(org), "identifier": {"scheme": IDENTIFIER_SCHEME, "id": org.credit_code,
                                                     "legalName": org.name},
                "roles": roles, "details": details}

    def release(self, suffix: str, moment: str, tags: list[str], parties: list[dict], **body) -> dict:
        tender = self.tender
        release = {"ocid": self.ocid, "id": f"{self.ocid}-{suffix}", "date": moment, "tag": tags,
                   "initiationType": "tender", "language": "zh", "title": tender.title,
                   "buyer": self.publisher.reference(), "parties": [self.publisher.party(), *parties]}
        if tender.description:
            release["description"] = tender.description
        release.update(body)
        return release

    def targets(self, source) -> list[dict]:
        metrics = []
        for name in TARGET_FIELDS:
            value = getattr(source, name)
            if value:
                metrics.append({"id": name, **self.labels.pair("target", name, "title"),
                                "observations": [{"id": f"{name}-target", "measure": value}]})
        return metrics

    def criteria(self) -> dict:
        tender = self.tender
        points = [{"type": "quality", "name": c.name, **({"description": c.description} if c.description else {}),
                   "numbers": [{"number": float(c.weight), "weight": "pointsExact"}]} for c in tender.criteria]
        points.append({"type": "price", **self.labels.pair("text", "price", "name"),
                       "numbers": [{"number": float(tender.price_weight), "weight": "pointsExact"}]})
        return {"criteria": points}

    def document(self, document, published: datetime) -> dict:
        item = {"id": f"tender-document-{document.id}", "documentType": "biddingDocuments", "title": document.title,
                "datePublished": stamp(published), "format": document.file.mimetype, "language": "zh"}
        if self.publisher.document_url is not None:
            item["url"] = self.publisher.document_url(self.tender, document)
        return item

    def bids(self, ranked: bool) -> list[dict]:
        details = []
        for bid in self.submitted_bids():
            detail = {"id": f"bid-{bid.id}", "date": stamp(bid.submitted_at),
                      "status": "pending" if bid.valid is None else "valid" if bid.valid else "disqualified",
                      "tenderers": [org_reference(bid.organization)], "relatedLots": [LOT_ID]}
            if bid.price_fen is not None:
                detail["value"] = money(bid.price_fen)
            if ranked:
                detail["hasRank"] = bid.rank is not None
                if bid.rank is not None:
                    detail["rank"] = bid.rank
            details.append(detail)
        return details

    def submitted_bids(self) -> list[Bid]:
        return [b for b in self.tender.bids if b.status == BidStatus.SUBMITTED]

    def award(self, bid: Bid, status: str, moment: datetime) -> dict:
        return {"id": f"award-{bid.id}", "title": self.tender.title, "status": status, "date": stamp(moment),
                "value": money(bid.price_fen), "suppliers": [org_reference(bid.organization)],
                "relatedBids": [f"bid-{bid.id}"], "relatedLots": [LOT_ID]}

    # --- the releases -------------------------------------------------------------------------

    def releases(self) -> list[dict]:
        tender = self.tender
        if not tender.is_public or tender.publish_at is None:
            return []
        found = [self.tender_release()]
        found += self.document_releases()
        if tender.opened_at is not None:
            found.append(self.opening_release())
        if tender.publicity_starts_at is not None and tender.proposed_bid is not None and tender.results_public:
            found.append(self.proposed_award_release())
        if tender.status == TenderStatus.AWARDED and tender.awarded_bid is not None and tender.awarded_at:
            found.append(self.award_release())
        if tender.ended_without_award:
            found.append(self.ending_release())
        if self.contract is not None and self.contract.signed_on is not None:
            found += self.contract_releases()
        found.sort(key=lambda r: r["date_sort"])
        for release in found:
            del release["date_sort"]
        return found

    def _dated(self, release: dict, moment: datetime, order: int = 0) -> dict:
        """Releases are listed by date; events of one moment in the order the workflow allows them."""
        release["date_sort"] = (moment.astimezone(timezone.utc), order)
        return release

    def tender_release(self) -> dict:
        tender, plan, labels = self.tender, self.tender.plan, self.labels
        published = [d for d in tender.documents if d.file.uploaded_at <= tender.publish_at]
        law_id, _title = LEGAL_BASIS[tender.method]
        eligibility = (labels.zh["text"]["no_dishonest"] if tender.min_rating.rank == 0 else
                       str(labels.zh["text"]["min_rating"]).replace("%(rating)s", tender.min_rating.value))
        eligibility_en = (labels.en["text"]["no_dishonest"] if tender.min_rating.rank == 0 else
                          str(labels.en["text"]["min_rating"]).replace("%(rating)s", tender.min_rating.value))
        body = {
            "planning": {"budget": {
                "id": f"plan-{plan.id}", "description": plan.title, "amount": money(plan.budget_fen),
                "budgetBreakdown": [{
                    "id": str(plan.fiscal_year), **labels.pair("text", "budget", "description"),
                    "amount": money(plan.budget_fen),
                    "period": {"startDate": day_stamp(date(plan.fiscal_year, 1, 1)),
                               "endDate": datetime.combine(date(plan.fiscal_year, 12, 31), time(23, 59, 59),
                                                           tzinfo=LOCAL_TZ).isoformat()},
                    "sourceParty": self.publisher.reference()}]}},
            "tender": {
                "id": tender.number, "title": tender.title, "status": "active",
                "procuringEntity": self.publisher.reference(), "value": money(tender.ceiling_fen),
                "procurementMethod": METHODS[tender.method],
                **labels.pair("method", tender.method, "procurementMethodDetails"),
                "mainProcurementCategory": "services",
                "awardCriteria": "priceOnly" if tender.method in PRICE_ONLY else "ratedCriteria",
                **labels.pair("text", "price_only_rule" if tender.method in PRICE_ONLY else "price_rule",
                              "awardCriteriaDetails"),
                "submissionMethod": ["electronicSubmission"],
                "eligibilityCriteria": eligibility, "eligibilityCriteria_en": eligibility_en,
                "tenderPeriod": {"startDate": stamp(tender.publish_at), "endDate": stamp(tender.bid_deadline)},
                "enquiryPeriod": {"startDate": stamp(tender.publish_at),
                                  "endDate": stamp(tender.clarification_deadline)},
                "items": [{"id": "1", **labels.pair("category", plan.category, "description"),
                           "relatedLot": LOT_ID}],
                "lots": [{"id": LOT_ID, "title": tender.title, "status": "active", "value": money(tender.ceiling_fen),
                          "awardCriteria": self.criteria()}],
                "awardPeriod": {"startDate": stamp(tender.opening_at)},
                "legalBasis": {"scheme": LAW_SCHEME, "id": law_id, **labels.pair("law", tender.method, "description")},
                "targets": self.targets(plan),
                "documents": [self.document(d, tender.publish_at) for d in published],
            },
        }
        if tender.description:
            body["tender"]["description"] = tender.description
        if not body["tender"]["targets"]:
            del body["tender"]["targets"]
        if not body["tender"]["documents"]:
            del body["tender"]["documents"]
        return self._dated(self.release("tender", stamp(tender.publish_at), ["planning", "tender"], [], **body),
                           tender.publish_at)

    def document_releases(self) -> list[dict]:
        tender, found = self.tender, []
        for document in tender.documents:
            added = document.file.uploaded_at
            if added <= tender.publish_at:
                continue
            amendment = {"id": f"document-{document.id}", "date": stamp(added),
                         **self.labels.pair("text", "document_added", "rationale")}
            found.append(self._dated(self.release(
                f"tender-document-{document.id}", stamp(added), ["tenderAmendment"], [],
                tender={"id": tender.number, "documents": [self.document(document, added)],
                        "amendments": [amendment]}), added))
        return found

    def opening_release(self) -> dict:
        tender = self.tender
        bids = self.submitted_bids()
        tenderers = {b.organization.id: b.organization for b in bids}
        body = {"tender": {"id": tender.number, "awardPeriod": {"startDate": stamp(tender.opened_at)},
                           "numberOfTenderers": len(tenderers),
                           "tenderers": [org_reference(o) for o in tenderers.values()]},
                "bids": {"statistics": [{"id": "bids", "measure": "bids", "value": len(bids),
                                         "date": stamp(tender.opened_at), "relatedLot": LOT_ID}],
                         "details": self.bids(ranked=False)}}
        if not bids:
            del body["bids"]["details"]
        return self._dated(self.release("opening", stamp(tender.opened_at), ["tenderUpdate"],
                                        [self.party(o, ["tenderer"]) for o in tenderers.values()], **body),
                           tender.opened_at)

    def _bidder_parties(self, winner: Organization) -> list[dict]:
        winner_roles = ["tenderer", "supplier"] + (["payee"] if self.contract is not None else [])
        return [self.party(b.organization, winner_roles if b.organization is winner else ["tenderer"])
                for b in self.submitted_bids()]

    def proposed_award_release(self) -> dict:
        tender, bid = self.tender, self.tender.proposed_bid
        moment = tender.publicity_starts_at
        body = {"tender": {"id": tender.number},
                "awards": [self.award(bid, "pending", moment)],
                "bids": {"details": self.bids(ranked=True)}}
        return self._dated(self.release(f"award-proposed-{tender.publicity_round}", stamp(moment), ["award"],
                                        self._bidder_parties(bid.organization), **body), moment)

    def award_release(self) -> dict:
        tender, bid = self.tender, self.tender.awarded_bid
        moment = tender.awarded_at
        body = {"tender": {"id": tender.number, "status": "complete",
                           "lots": [{"id": LOT_ID, "status": "complete"}]},
                "awards": [self.award(bid, "active", moment)]}
        return self._dated(self.release("award", stamp(moment), ["award"],
                                        self._bidder_parties(bid.organization), **body), moment)

    def ending_release(self) -> dict:
        tender = self.tender
        status = TENDER_STATUS[tender.status]
        tender_body = {"id": tender.number, "status": status, "lots": [{"id": LOT_ID, "status": status}]}
        if tender.status_reason:
            # The published reason, as a document (OCDS 1.1 has no field for it on the tender).
            tender_body["documents"] = [{"id": status, "documentType": "cancellationDetails",
                                         **self.labels.pair("text", f"reason_{status}", "title"),
                                         "description": tender.status_reason,
                                         "datePublished": stamp(tender.status_changed_at), "language": "zh"}]
        tag = "tenderCancellation" if tender.status == TenderStatus.CANCELLED else "tenderUpdate"
        return self._dated(self.release(status, stamp(tender.status_changed_at), [tag], [], tender=tender_body),
                           tender.status_changed_at)

    def contract_releases(self) -> list[dict]:
        contract = self.contract
        supplier = contract.organization
        supplier_party = self.party(supplier, ["tenderer", "supplier", "payee"])
        signed = datetime.combine(contract.signed_on, time(0), tzinfo=LOCAL_TZ)
        award_id = f"award-{contract.bid_id}"
        first = {
            "id": contract.number, "awardID": award_id, "title": contract.title, "status": "active",
            "period": {"startDate": day_stamp(contract.start_date), "endDate": day_stamp(contract.end_date)},
            "value": money(contract.original_amount_fen), "dateSigned": day_stamp(contract.signed_on),
            "milestones": [{"id": f"milestone-{m.id}", "title": m.title, "type": "delivery", "status": "scheduled",
                            "dueDate": day_stamp(m.due_date),
                            **({"description": m.required_deliverables} if m.required_deliverables else {})}
                           for m in contract.milestones],
        }
        if contract.service_content:
            first["description"] = contract.service_content
        # Targets as signed: an amendment that changed one is published with the amendment.
        original = _OriginalTargets(contract)
        metrics = self.targets(original)
        if metrics:
            first["agreedMetrics"] = metrics
        found = [self._dated(self.release("contract", day_stamp(contract.signed_on), ["contract"], [supplier_party],
                                          contracts=[first]), signed, 1)]
        for amendment in contract.amendments:
            found.append(self._dated(self.amendment_release(amendment, supplier_party), amendment.created_at, 4))
        for milestone in contract.milestones:
            if milestone.status in (MilestoneStatus.ACCEPTED, MilestoneStatus.PAID) and milestone.reviewed_at:
                found.append(self._dated(self.milestone_release(milestone, supplier_party), milestone.reviewed_at, 2))
        for payment in contract.payments:
            found.append(self._dated(self.payment_release(payment, supplier_party), payment.recorded_at, 3))
        for month, figures in sorted(self.months.items()):
            ended = _next_month(month)
            found.append(self._dated(self.progress_release(month, figures, ended, supplier_party), ended, 1))
        completed = (contract.status_changed_at if contract.status == ContractStatus.COMPLETED else
                     self.completed_at if contract.status == ContractStatus.CLOSED else None)
        if completed is not None:
            found.append(self._dated(self.completion_release(completed, supplier_party), completed, 5))
        if contract.status in (ContractStatus.CLOSED, ContractStatus.TERMINATED):
            found.append(self._dated(self.end_release(supplier_party), contract.status_changed_at, 6))
        return found

    def contract_ref(self) -> dict:
        return {"id": self.contract.number, "awardID": f"award-{self.contract.bid_id}"}

    def amendment_release(self, amendment, supplier_party: dict) -> dict:
        changes = amendment.changes or {}
        body = {**self.contract_ref(),
                "amendments": [{"id": str(amendment.number), "date": day_stamp(amendment.amended_on),
                                "rationale": amendment.reason}]}
        if "amount_fen" in changes:
            body["value"] = money(int(changes["amount_fen"][1]))
        if "end_date" in changes:
            body["period"] = {"endDate": day_stamp(date.fromisoformat(str(changes["end_date"][1])))}
        if "service_content" in changes and changes["service_content"][1]:
            body["description"] = changes["service_content"][1]
        if any(name in changes for name in TARGET_FIELDS):
            body["agreedMetrics"] = [{"id": name, **self.labels.pair("target", name, "title"),
                                      "observations": [{"id": f"{name}-target", "measure": int(changes[name][1])}]}
                                     for name in TARGET_FIELDS if name in changes]
        return self.release(f"contract-amendment-{amendment.number}", stamp(amendment.created_at),
                            ["contractAmendment"], [supplier_party], contracts=[body])

    def milestone_release(self, milestone, supplier_party: dict) -> dict:
        documents = [{"id": f"deliverable-{d.id}", "documentType": PUBLISHED_DELIVERABLES[d.kind],
                      **self.labels.pair("deliverable", d.kind, "title"), "datePublished": stamp(milestone.reviewed_at)}
                     for d in milestone.deliverables if d.kind in PUBLISHED_DELIVERABLES]
        item = {"id": f"milestone-{milestone.id}", "status": "met", "dateMet": stamp(milestone.reviewed_at)}
        if documents:
            item["documents"] = documents
        return self.release(f"milestone-{milestone.id}-accepted", stamp(milestone.reviewed_at),
                            ["implementationUpdate"], [supplier_party],
                            contracts=[{**self.contract_ref(), "milestones": [item]}])

    def payment_release(self, payment, supplier_party: dict) -> dict:
        transaction = {"id": f"payment-{payment.id}", "date": day_stamp(payment.paid_on), "value": money(payment.amount_fen),
                       "payer": self.publisher.reference(), "payee": org_reference(self.contract.organization)}
        return self.release(f"payment-{payment.id}", stamp(payment.recorded_at), ["implementationUpdate"],
                            [supplier_party], contracts=[{**self.contract_ref(),
                                                          "implementation": {"transactions": [transaction]}}])

    def progress_release(self, month: str, figures: dict, ended: datetime, supplier_party: dict) -> dict:
        """A month's services in figures (aggregates of the service log, never its entries), published
        once the month has ended."""
        start = datetime.combine(date.fromisoformat(f"{month}-01"), time(0), tzinfo=LOCAL_TZ)
        period = {"startDate": start.isoformat(), "endDate": (ended - timedelta(seconds=1)).isoformat()}
        metrics = [{"id": name, **self.labels.pair("text", f"progress_{name}", "title"),
                    "observations": [{"id": f"{name}-{month}", "period": period,
                                      "measure": _number(figures[name])}]}
                   for name in ("activities", "person_times", "hours")]
        return self.release(f"progress-{month}", stamp(ended), ["implementationUpdate"], [supplier_party],
                            contracts=[{**self.contract_ref(), "implementation": {"metrics": metrics}}])

    def completion_release(self, moment: datetime, supplier_party: dict) -> dict:
        """The services accepted as delivered (验收): the contract's implementation has ended."""
        implementation = {"endDate": stamp(moment), **self.labels.pair("text", "contract_completed", "endDateDetails")}
        return self.release("contract-completed", stamp(moment), ["contractTermination"], [supplier_party],
                            contracts=[{**self.contract_ref(), "status": "terminated",
                                        "implementation": implementation}])

    def end_release(self, supplier_party: dict) -> dict:
        """Closed (paid in full and filed) or terminated early: what was paid in all."""
        contract = self.contract
        moment = contract.status_changed_at
        implementation = {"finalValue": money(contract.paid_fen),
                          **self.labels.pair("text", "final_value", "finalValueDetails")}
        tags = ["implementationUpdate"]
        if contract.status == ContractStatus.TERMINATED:
            implementation.update(endDate=stamp(moment),
                                  **self.labels.pair("text", "contract_terminated", "endDateDetails"))
            tags = ["contractTermination"]
        return self.release(f"contract-{contract.status.value}", stamp(moment), tags, [supplier_party],
                            contracts=[{**self.contract_ref(), "status": "terminated",
                                        "implementation": implementation}])


def _next_month(month: str) -> datetime:
    year, number = int(month[:4]), int(month[5:7])
    year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return datetime(year, number, 1, tzinfo=LOCAL_TZ)


def _number(value):
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


class _OriginalTargets:
    """A contract's targets before its amendments changed any."""

    def __init__(self, contract: Contract):
        for name in TARGET_FIELDS:
            setattr(self, name, getattr(contract, name))
        for amendment in sorted(contract.amendments, key=lambda a: a.number, reverse=True):
            for name in TARGET_FIELDS:
                if name in (amendment.changes or {}):
                    setattr(self, name, int(amendment.changes[name][0]))
