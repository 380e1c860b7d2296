"""A district's published record for the OCDS tests, built through the real workflows: the service
world of tests/builders/delivery.py (registers with identity numbers and phones, social workers,
services recorded on a running contract) whose contract has then been amended, had a milestone
accepted (with a report and a sign-in sheet naming a person) and paid; tenders in every public
state (open for bids with sealed bids, in publicity, awarded, cancelled, failed, one amended by a
document added after publication); and contracts closed and terminated. Organizations carry a
contact person and phone, which must never be published."""
from __future__ import annotations

from datetime import date, time

from svcproc.contracts import workflow as contracts
from svcproc.contracts.models import Contract, DeliverableKind
from svcproc.delivery.models import ActivityType
from svcproc.extensions import db
from svcproc.procurement import workflow as procurement
from svcproc.procurement.models import Tender, TenderStatus
from tests.builders.contracts import contract_in, local_today
from tests.builders.delivery import OTHER_PEOPLE, PEOPLE, World, build_world
from tests.builders.files import pdf_upload
from tests.builders.procurement import tender_in

CONTACT_NAME = "联系人林小红"
CONTACT_PHONE = "028-86661234"


def build_ocds_world(clock) -> dict:
    ids = build_world(clock)
    w = World(ids)
    for org in (w.org, w.other_org):
        org.contact_name, org.contact_phone, org.contact_email = CONTACT_NAME, CONTACT_PHONE, "lin@example.org"
    people = w.people
    w.record(participants=[people["elder"], people["second"], people["child"], people["shared"]])
    w.record(type=ActivityType.CASE_WORK, participants=[people["third"]], head_count=0, start_time=time(14, 0),
             end_time=time(15, 0), topic="个案跟进：王秀英家庭探访")
    contract, staff = w.contract, w.users["procurement"]
    milestone = contract.milestones[0]
    contracts.add_deliverable(w.manager, milestone, pdf_upload("中期报告.pdf"), DeliverableKind.REPORT, "中期报告")
    contracts.add_deliverable(w.manager, milestone, pdf_upload("王秀英签到表.pdf"), DeliverableKind.SIGN_IN_SHEET,
                              "王秀英、李建国签到表")
    contracts.submit_milestone(w.manager, milestone)
    clock.advance(hours=1)
    contracts.accept_milestone(staff, milestone, "验收合格，王秀英等服务对象反馈良好。")
    clock.advance(hours=1)
    contracts.record_payment(staff, milestone, amount_fen=contracts.tranche_amounts(contract)[milestone.id],
                             voucher_number="PZ-OCDS-1", paid_on=local_today())
    clock.advance(hours=1)
    contracts.amend_contract(staff, contract, reason="服务人数增加，增加服务费用。", amended_on=local_today(),
                             amount_fen=contract.amount_fen + 1_000_000, target_people=contract.target_people + 50)
    clock.advance(hours=1)
    contracts.amend_contract(staff, contract, reason="延长服务期限。", amended_on=local_today(),
                             end_date=date(2026, 2, 28))

    published = tender_in(TenderStatus.PUBLISHED, clock)   # bids in, sealed
    procurement.add_tender_document(published.staff, published.tender, pdf_upload("补充说明.pdf"), "补充说明")
    publicity = tender_in(TenderStatus.IN_PUBLICITY, clock)
    awarded = tender_in(TenderStatus.AWARDED, clock)
    cancelled = tender_in(TenderStatus.CANCELLED, clock)
    failed = tender_in(TenderStatus.FAILED, clock)
    draft = tender_in(TenderStatus.DRAFT, clock)
    closed = contract_in("closed", clock)
    terminated = contract_in("terminated", clock)
    experts = {u.username for s in (published, publicity, awarded, cancelled, failed, closed.awarded,
                                    terminated.awarded) for u in s.experts}
    experts |= {u.full_name for s in (published, publicity, awarded) for u in s.experts if u.full_name}
    return {
        **ids,
        "built_at": clock.now,
        "tenders": {"published": published.tender.id, "publicity": publicity.tender.id,
                    "awarded": awarded.tender.id, "cancelled": cancelled.tender.id, "failed": failed.tender.id,
                    "draft": draft.tender.id, "running": contract.tender_id, "other": w.other_contract.tender_id, "closed": closed.contract.tender_id,
                    "terminated": terminated.contract.tender_id},
        "sealed_prices": list(published.prices),
        "sealed_bidders": [o.name for o in published.orgs],
        "experts": sorted(experts),
    }


def secrets(ids: dict) -> list[str]:
    """Everything personal the world holds: none of it may appear in the published data."""
    numbers = [World.number(k) for k in (*PEOPLE, *OTHER_PEOPLE)]
    phones = [p for p in (World.phone(k) for k in (*PEOPLE, *OTHER_PEOPLE)) if p]
    names = [v[0] for v in {**PEOPLE, **OTHER_PEOPLE}.values()] + ["赵德明", "刘强"]
    from svcproc.registry.models import SocialWorker
    workers = db.session.execute(db.select(SocialWorker)).scalars().all()
    worker_data = [w.name for w in workers] + [w.phone for w in workers if w.phone]
    return sorted(set(numbers + [n.lower() for n in numbers] + phones + names + worker_data + ids["experts"]
                      + [CONTACT_NAME, CONTACT_PHONE, "lin@example.org"]))


def tender(ids: dict, key: str) -> Tender:
    return db.session.get(Tender, ids["tenders"][key])


def contract_of(ids: dict, key: str) -> Contract:
    return db.session.execute(db.select(Contract).where(Contract.tender_id == ids["tenders"][key])).scalar_one()
