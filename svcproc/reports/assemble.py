"""The data a report shows, gathered into plain JSON-ready dicts.

The dict is the report: the PDF is drawn from it, it is attached inside the PDF, and its SHA-256
is the verification code. So it holds only what the record says (codes, figures, dates), never the
moment it was generated, and the same record always gives the same dict. Beneficiaries appear as
aggregates only; scores only from finalized evaluation rounds.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import lazyload, selectinload

from ..contracts.models import Contract, Deliverable, Milestone, Payment
from ..core import clock
from ..core.targets import TARGET_FIELDS
from ..delivery import progress as progress_module
from ..delivery.models import (ActivityType, Beneficiary, RedFlag, ServiceActivity, activity_participant,
                              red_flag_contract)
from ..evaluations.indicators import tree_of
from ..evaluations.models import EvaluationRound, Finding, RoundKind, RoundStatus
from ..extensions import db
from ..procurement.models import BidStatus, ProjectPlan, Tender
from ..registry.models import Organization

SCHEMA = 1


# --- canonical form and codes ----------------------------------------------------------------


def canonical(data: dict) -> bytes:
    """The bytes that are hashed and attached: sorted keys, no whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest(data: dict) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def code_of(sha256: str) -> str:
    """The short code printed on every page: the first 64 bits of the hash, in four groups."""
    head = sha256[:16].upper()
    return "-".join(head[i:i + 4] for i in range(0, 16, 4))


def normalise_code(text: str) -> str:
    """What a person typed from paper, in the stored form (case and separators forgiven)."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum())[:16]
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _header(kind: str, locale: str) -> dict:
    from flask import current_app

    return {"kind": kind, "schema": SCHEMA, "locale": locale, "bureau": current_app.config["BUREAU_NAME"]}


def _day(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return clock.to_local(value).date().isoformat()
    return value.isoformat()


def _moment(value: datetime | None) -> str | None:
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M") if value else None


def _s(value) -> str | None:
    return None if value is None else str(value)


def _dec(value) -> str | None:
    """A decimal as the database gives it back (two places), however the object was built."""
    return None if value is None else f"{Decimal(str(value)):.2f}"


def _enum(value) -> str | None:
    return getattr(value, "value", value)


# --- one contract ----------------------------------------------------------------------------


def _load_contract(contract_id: int) -> Contract:
    """The contract with every list the report shows, each in one statement (none per row)."""
    return db.session.execute(
        sa.select(Contract).where(Contract.id == contract_id).options(
            selectinload(Contract.milestones).selectinload(Milestone.deliverables).selectinload(Deliverable.file),
            selectinload(Contract.milestones).selectinload(Milestone.payments),
            selectinload(Contract.payments), selectinload(Contract.amendments))).unique().scalar_one()


def _procurement(contract: Contract) -> dict:
    tender: Tender = contract.tender
    plan: ProjectPlan = tender.plan
    bids = list(tender.bids)
    submitted = [b for b in bids if b.status == BidStatus.SUBMITTED]
    winning = next((b for b in bids if b.id == contract.bid_id), None)
    return {
        "plan_title": plan.title, "fiscal_year": plan.fiscal_year, "category": _enum(plan.category),
        "budget_fen": plan.budget_fen, "communities": [a.name for a in plan.communities],
        "tender_number": tender.number, "method": _enum(tender.method), "ceiling_fen": tender.ceiling_fen,
        "bidders": len(submitted), "valid_bids": sum(1 for b in submitted if b.valid),
        "winning_price_fen": winning.price_fen if winning else None,
        "winning_score": _dec(winning.total_score) if winning else None,
        "published": _day(tender.publish_at), "bid_deadline": _moment(tender.bid_deadline),
        "opened": _moment(tender.opened_at or tender.opening_at), "awarded": _day(tender.awarded_at),
        "publicity_ends": _day(tender.publicity_ends_at),
    }


def _milestones(contract: Contract) -> list[dict]:
    rows = []
    for m in contract.milestones:
        rows.append({
            "title": m.title, "due_date": _day(m.due_date), "tranche_percent": _dec(m.tranche_percent),
            "status": _enum(m.status), "reviewed": _day(m.reviewed_at), "review_comment": m.review_comment or "",
            "deliverables": [{"title": d.title, "kind": _enum(d.kind), "file": d.file.original_name,
                              "sha256": d.file.sha256} for d in m.deliverables],
            "payments": [{"paid_on": _day(p.paid_on), "amount_fen": p.amount_fen, "voucher": p.voucher_number}
                         for p in m.payments],
        })
    return rows


def _outputs(contract: Contract, progress) -> dict:
    return {
        "against": [{"target": field, "actual": _s(actual), "planned": planned}
                    for field, actual, planned in progress.against(contract)],
        "activities": progress.activities, "deliberations": progress.deliberations,
        "trainings": progress.trainings,
        "by_month": {month: {"activities": v["activities"], "person_times": v["person_times"],
                             "hours": _dec(v["hours"])} for month, v in progress.by_month.items()},
        "by_community": [{"community": name, "activities": v["activities"], "person_times": v["person_times"],
                          "hours": _dec(v["hours"])}
                         # ties in the log's order would make the hash depend on the database's row order
                         for name, v in sorted(progress.by_community.items(), key=lambda kv: (-kv[1]["person_times"],
                                                                                              kv[0]))],
    }


def _profile(contract_id: int) -> dict:
    raw = progress_module.profile(contract_id)
    return {"total": raw["total"], "gender": dict(sorted(raw["gender"].items())),
            "ages": dict(sorted(raw["ages"].items())), "categories": dict(sorted(raw["categories"].items()))}


def _round_summary(round_: EvaluationRound) -> dict:
    return {"id": round_.id, "kind": _enum(round_.kind), "title": round_.title, "status": _enum(round_.status)}


def _evaluation(contract: Contract) -> dict:
    """The latest finalized round (a final one before a mid-term); nothing of a round still open."""
    rounds = db.session.execute(
        sa.select(EvaluationRound).where(EvaluationRound.contract_id == contract.id)
        .options(selectinload(EvaluationRound.parties),
                 selectinload(EvaluationRound.findings).selectinload(Finding.items))
        .order_by(EvaluationRound.id)).unique().scalars().all()
    finalized = [r for r in rounds if r.status == RoundStatus.FINALIZED]
    others = [_round_summary(r) for r in rounds if r.status != RoundStatus.FINALIZED]
    if not finalized:
        return {"finalized": False, "rounds": others}
    chosen = max(finalized, key=lambda r: (r.kind == RoundKind.FINAL, r.finalized_at, r.id))
    result = chosen.result or {}
    top = tree_of(chosen.template_version.indicators)
    names, leaves = {}, []

    def walk(node, depth):
        names[node.key] = node.name
        if not node.children:
            leaves.append(node.key)
        for child in node.children:
            walk(child, depth + 1)

    for node in top:
        walk(node, 0)
    nodes = result.get("nodes", {})
    by_party = result.get("by_party", {})
    return {
        "finalized": True,
        "round": {**_round_summary(chosen), "evaluation_org": chosen.evaluation_org.name if chosen.evaluation_org
                  else None, "template": chosen.template_version.label, "finalized": _day(chosen.finalized_at),
                  "scheduled_start": _day(chosen.scheduled_start), "scheduled_end": _day(chosen.scheduled_end),
                  "target_percent": chosen.target_percent},
        "total": result.get("total"), "grade": result.get("grade"),
        "first_level": [{"key": n.key, "name": n.name, "weight": _dec(n.weight), "points": nodes.get(n.key, "0")}
                        for n in top],
        "parties": [{"name": p.name, "weight": _dec(p.weight)} for p in chosen.parties],
        "leaves": [{"key": k, "name": names[k], "points": nodes.get(k),
                    "by_party": {p: by_party[p].get(k) for p in sorted(by_party)}} for k in leaves],
        "findings": [{"text": f.text, "items": [{"action": i.action, "owner": i.owner, "deadline": _day(i.deadline),
                                                 "status": _enum(i.status)} for i in f.items]}
                     for f in chosen.findings],
        "other_rounds": [_round_summary(r) for r in rounds if r.id != chosen.id],
    }


def _red_flags(contract_id: int) -> list[dict]:
    # Every flag concerning the contract, those filed under another contract it shares them with too.
    flags = db.session.execute(sa.select(RedFlag).where(RedFlag.concerning(contract_id))
                               .options(lazyload(RedFlag.contract))  # the contract is loaded already
                               .order_by(RedFlag.found_at, RedFlag.id)).scalars().all()
    # The detail names workers and people by id only; the report keeps the date and the count.
    return [{"kind": _enum(f.kind), "found": _day(f.found_at), "active": f.active,
             "date": (f.detail or {}).get("date"), "entries": len(f.activity_ids or []),
             "explanation": f.explanation or "", "explained": _day(f.explained_at)} for f in flags]


def assessment_data(contract_id: int, locale: str) -> dict:
    contract = _load_contract(contract_id)
    org: Organization = contract.organization
    progress = progress_module.compute(contract.id)
    evaluation = _evaluation(contract)
    data = {
        "report": _header("assessment", locale),
        "contract": {
            "id": contract.id, "number": contract.number, "title": contract.title, "status": _enum(contract.status),
            "organization": org.name, "credit_code": org.credit_code,
            "original_amount_fen": contract.original_amount_fen, "amount_fen": contract.amount_fen,
            "paid_fen": contract.paid_fen, "start_date": _day(contract.start_date),
            "end_date": _day(contract.end_date), "signed_on": _day(contract.signed_on),
            "service_content": contract.service_content,
            "targets": {k: v for k, v in contract.targets().items()},
        },
        "procurement": _procurement(contract),
        "amendments": [{"number": a.number, "amended_on": _day(a.amended_on), "reason": a.reason,
                        "amount_added_fen": a.amount_added_fen,
                        "changes": {k: [_s(v[0]), _s(v[1])] if isinstance(v, (list, tuple)) else _s(v)
                                    for k, v in sorted((a.changes or {}).items())}}
                       for a in contract.amendments],
        "milestones": _milestones(contract),
        "outputs": _outputs(contract, progress),
        "profile": _profile(contract.id),
        "evaluation": evaluation,
        "red_flags": _red_flags(contract.id),
    }
    data["sources"] = {
        "service_entries": progress.activities,
        "deliverables": sum(len(m["deliverables"]) for m in data["milestones"]),
        "payments": sum(len(m["payments"]) for m in data["milestones"]),
        "evaluation_round": evaluation["round"]["id"] if evaluation["finalized"] else None,
    }
    return data


# --- many contracts at once ------------------------------------------------------------------
#
# The portfolio and an organization's history show figures of every contract they list. Each
# figure comes from one GROUP BY over all those contracts (`among`: a select of their ids), so the
# number of statements stays the same however many contracts there are.


def _paid(among) -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(Payment.contract_id, sa.func.sum(Payment.amount_fen))
        .where(Payment.contract_id.in_(among)).group_by(Payment.contract_id)).all())


def _progress(among) -> dict[int, progress_module.Progress]:
    """contract id -> the figures its targets are measured by, as progress.compute counts them."""
    A, P, B = ServiceActivity, activity_participant, Beneficiary

    def count_of(kind) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(sa.case((A.type == kind, 1), else_=0)), 0)

    figures: dict[int, progress_module.Progress] = defaultdict(progress_module.Progress)
    for contract_id, cases, groups, sessions, events, attendance, hours in db.session.execute(
            sa.select(A.contract_id,
                      sa.func.count(sa.distinct(sa.case((A.type == ActivityType.CASE_WORK, A.case_id)))),
                      sa.func.count(sa.distinct(sa.case((A.type == ActivityType.GROUP_SESSION, A.group_id)))),
                      count_of(ActivityType.GROUP_SESSION), count_of(ActivityType.COMMUNITY_EVENT),
                      sa.func.coalesce(sa.func.sum(A.head_count + A.participant_count), 0), sa.func.sum(A.hours))
            .where(A.contract_id.in_(among)).group_by(A.contract_id)):
        row = figures[contract_id]
        row.cases, row.groups, row.group_sessions, row.events = int(cases), int(groups), int(sessions), int(events)
        row.person_times = int(attendance)
        row.hours = Decimal(str(hours or 0))
    # Distinct people from the links of these contracts' entries only: the participant table is
    # joined through the entries of the contracts asked about, never counted whole.
    person = sa.func.coalesce(B.id_match_key, sa.cast(B.id, sa.String))
    for contract_id, people in db.session.execute(
            sa.select(A.contract_id, sa.func.count(sa.distinct(person)))
            .select_from(P).join(A, A.id == P.c.activity_id).join(B, B.id == P.c.beneficiary_id)
            .where(A.contract_id.in_(among)).group_by(A.contract_id)):
        figures[contract_id].people = int(people)
    return figures


def _contract_rows(where, *order_by) -> list:
    """The columns the portfolio and the history list, with the targets, one row per contract."""
    return db.session.execute(
        sa.select(Contract.id, Contract.number, Contract.title, Contract.status, Contract.amount_fen,
                  Contract.start_date, Contract.end_date, Organization.name.label("organization"),
                  ProjectPlan.category, ProjectPlan.fiscal_year, *(getattr(Contract, f) for f in TARGET_FIELDS))
        .join(Tender, Tender.id == Contract.tender_id).join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
        .join(Organization, Organization.id == Contract.organization_id).where(where).order_by(*order_by)).all()


# --- the district's fiscal year --------------------------------------------------------------


def _month(year, month) -> str | None:
    return f"{int(year):04d}-{int(month):02d}" if year is not None and month is not None else None


def portfolio_money(year: int) -> dict:
    """Budget, awarded and paid money of a fiscal year by service category, and awarded (by the
    month the contract was signed) and paid (by the month it was paid) by month: three grouped
    statements, however many plans, contracts and payments the year holds. The portfolio page shows
    it on screen, and the report's data carries it (so the page and the spreadsheet agree)."""
    categories: dict[str, dict] = defaultdict(lambda: {"plans": 0, "budget_fen": 0, "contracts": 0,
                                                       "awarded_fen": 0, "paid_fen": 0})
    months: dict[str, dict] = defaultdict(lambda: {"awarded_fen": 0, "paid_fen": 0})
    for category, plans, budget in db.session.execute(
            sa.select(ProjectPlan.category, sa.func.count(), sa.func.coalesce(sa.func.sum(ProjectPlan.budget_fen), 0))
            .where(ProjectPlan.fiscal_year == year).group_by(ProjectPlan.category)):
        categories[_enum(category)].update(plans=int(plans), budget_fen=int(budget))
    of_year = (sa.select(Contract).join(Tender, Tender.id == Contract.tender_id)
               .join(ProjectPlan, ProjectPlan.id == Tender.plan_id).where(ProjectPlan.fiscal_year == year))
    signed_year, signed_month = sa.extract("year", Contract.signed_on), sa.extract("month", Contract.signed_on)
    unsigned_fen = 0
    for category, y, m, contracts, amount in db.session.execute(
            of_year.with_only_columns(ProjectPlan.category, signed_year, signed_month, sa.func.count(),
                                      sa.func.sum(Contract.amount_fen))
            .group_by(ProjectPlan.category, signed_year, signed_month)):
        entry = categories[_enum(category)]
        entry["contracts"] += int(contracts)
        entry["awarded_fen"] += int(amount)
        month = _month(y, m)
        if month is None:
            unsigned_fen += int(amount)
        else:
            months[month]["awarded_fen"] += int(amount)
    paid_year, paid_month = sa.extract("year", Payment.paid_on), sa.extract("month", Payment.paid_on)
    for category, y, m, amount in db.session.execute(
            of_year.with_only_columns(ProjectPlan.category, paid_year, paid_month, sa.func.sum(Payment.amount_fen))
            .join(Payment, Payment.contract_id == Contract.id).group_by(ProjectPlan.category, paid_year, paid_month)):
        categories[_enum(category)]["paid_fen"] += int(amount)
        months[_month(y, m)]["paid_fen"] += int(amount)
    return {
        "by_category": [{"category": k, **v} for k, v in sorted(categories.items())],
        "by_month": [{"month": k, **v} for k, v in sorted(months.items())],
        "unsigned_fen": unsigned_fen,
    }


def portfolio_data(year: int, locale: str) -> dict:
    money = portfolio_money(year)
    plans = sum(r["plans"] for r in money["by_category"])
    budget_fen = sum(r["budget_fen"] for r in money["by_category"])
    among = (sa.select(Contract.id).join(Tender, Tender.id == Contract.tender_id)
             .join(ProjectPlan, ProjectPlan.id == Tender.plan_id).where(ProjectPlan.fiscal_year == year))
    contracts = _contract_rows(ProjectPlan.fiscal_year == year, Contract.number)
    ids = [c.id for c in contracts]
    paid = _paid(among) if ids else {}
    figures = _progress(among) if ids else {}
    grades = _final_grades(among) if ids else {}
    by_status, by_category = defaultdict(int), defaultdict(lambda: {"contracts": 0, "amount_fen": 0})
    outputs = defaultdict(lambda: {"actual": Decimal(0), "planned": 0})
    orgs: dict[str, dict] = {}
    rows = []
    for c in contracts:
        category = _enum(c.category)
        by_status[_enum(c.status)] += 1
        by_category[category]["contracts"] += 1
        by_category[category]["amount_fen"] += c.amount_fen
        progress = figures.get(c.id) or progress_module.Progress()
        for field, actual, planned in progress.against(c):
            outputs[field]["actual"] += Decimal(str(actual))
            outputs[field]["planned"] += planned or 0
        grade = grades.get(c.id)
        rows.append({"number": c.number, "title": c.title, "organization": c.organization,
                     "category": category, "status": _enum(c.status), "amount_fen": c.amount_fen,
                     "paid_fen": int(paid.get(c.id, 0)), "total": grade[0] if grade else None,
                     "grade": grade[1] if grade else None})
        entry = orgs.setdefault(c.organization, {"organization": c.organization, "contracts": 0,
                                                 "amount_fen": 0, "scores": []})
        entry["contracts"] += 1
        entry["amount_fen"] += c.amount_fen
        if grade:
            entry["scores"].append(Decimal(grade[0]))
    ranked = []
    for entry in orgs.values():
        scores = entry.pop("scores")
        entry["mean_score"] = str((sum(scores) / len(scores)).quantize(Decimal("0.01"))) if scores else None
        ranked.append(entry)
    ranked.sort(key=lambda e: (e["mean_score"] is None, -Decimal(e["mean_score"] or 0), e["organization"]))
    grade_counts = defaultdict(int)
    for row in rows:
        grade_counts[row["grade"] or "none"] += 1
    return {
        "report": _header("portfolio", locale),
        "year": year,
        "budget_fen": int(budget_fen), "plans": int(plans),
        "awarded_fen": sum(r["amount_fen"] for r in rows), "paid_fen": sum(r["paid_fen"] for r in rows),
        "by_status": dict(sorted(by_status.items())),
        "by_category": {k: v for k, v in sorted(by_category.items())},
        "outputs": [{"target": k, "actual": str(v["actual"]), "planned": v["planned"]} for k, v in outputs.items()],
        "grades": dict(sorted(grade_counts.items())),
        "money": money,
        "organizations": ranked,
        "contracts": rows,
    }


def _final_grades(among) -> dict[int, tuple[str, str]]:
    """contract id -> (total, grade) of its latest finalized round (final before mid-term)."""
    rounds = db.session.execute(
        sa.select(EvaluationRound.contract_id, EvaluationRound.kind, EvaluationRound.finalized_at,
                  EvaluationRound.total, EvaluationRound.grade, EvaluationRound.id)
        .where(EvaluationRound.contract_id.in_(among), EvaluationRound.status == RoundStatus.FINALIZED)).all()
    best: dict[int, tuple] = {}
    for contract_id, kind, finalized_at, total, grade, rid in rounds:
        key = (kind == RoundKind.FINAL, finalized_at, rid)
        if contract_id not in best or key > best[contract_id][0]:
            best[contract_id] = (key, (str(total), grade))
    return {cid: value for cid, (_key, value) in best.items()}


# --- one organization over the years ---------------------------------------------------------


def organization_data(org_id: int, locale: str) -> dict:
    org = db.session.execute(
        sa.select(Organization.id, Organization.name, Organization.credit_code, Organization.rating,
                  Organization.status).where(Organization.id == org_id)).one()
    among = sa.select(Contract.id).where(Contract.organization_id == org_id)
    contracts = _contract_rows(Contract.organization_id == org_id, Contract.start_date, Contract.number)
    paid = _paid(among) if contracts else {}
    grades = _final_grades(among) if contracts else {}
    flags: dict[int, tuple[int, int]] = {}
    unexplained_sum = sa.func.coalesce(sa.func.sum(sa.case((sa.and_(RedFlag.active, RedFlag.explanation == ""),
                                                            1), else_=0)), 0)
    L = red_flag_contract
    # Filed under each contract, and filed elsewhere while concerning it too (a flag shared by two contracts).
    for stmt in (sa.select(RedFlag.contract_id, sa.func.count(), unexplained_sum)
                 .where(RedFlag.contract_id.in_(among)).group_by(RedFlag.contract_id),
                 sa.select(L.c.contract_id, sa.func.count(), unexplained_sum).join(RedFlag, RedFlag.id == L.c.red_flag_id)
                 .where(L.c.contract_id.in_(among)).group_by(L.c.contract_id)) if contracts else ():
        for contract_id, total, unexplained in db.session.execute(stmt):
            before = flags.get(contract_id, (0, 0))
            flags[contract_id] = (before[0] + int(total), before[1] + int(unexplained))
    rows = []
    for c in contracts:
        grade = grades.get(c.id)
        flag_count, unexplained = flags.get(c.id, (0, 0))
        rows.append({"number": c.number, "title": c.title, "fiscal_year": c.fiscal_year,
                     "status": _enum(c.status), "start_date": _day(c.start_date), "end_date": _day(c.end_date),
                     "amount_fen": c.amount_fen, "paid_fen": int(paid.get(c.id, 0)),
                     "total": grade[0] if grade else None, "grade": grade[1] if grade else None,
                     "red_flags": flag_count, "unexplained_flags": unexplained})
    return {
        "report": _header("organization", locale),
        "organization": {"id": org.id, "name": org.name, "credit_code": org.credit_code,
                         "rating": _enum(org.rating), "status": _enum(org.status)},
        "contracts": rows,
        "totals": {"contracts": len(rows), "amount_fen": sum(r["amount_fen"] for r in rows),
                   "paid_fen": sum(r["paid_fen"] for r in rows),
                   "red_flags": sum(r["red_flags"] for r in rows)},
    }


def data_for(kind: str, subject_id: int, locale: str) -> dict:
    if kind == "assessment":
        return assessment_data(subject_id, locale)
    if kind == "portfolio":
        return portfolio_data(subject_id, locale)
    if kind == "organization":
        return organization_data(subject_id, locale)
    raise ValueError(f"unknown report kind {kind}")
