"""A report's key figures: what a reader compares between the paper and the verification page.

They are picked from the report's data when the report is kept (GeneratedReport.figures), as
codes and plain numbers, and shown in the reader's language; the verification page reads them
from the row and never assembles the report again. Only figures the PDF itself prints are picked,
so each one can be found on the paper.
"""
from __future__ import annotations

import json

from flask_babel import gettext as _

from ..core.formatting import money
from .labels import label


def key_figures(kind: str, data: dict) -> dict:
    """The figures of assembled data (assemble.data_for), by report kind."""
    if kind == "assessment":
        contract, evaluation = data["contract"], data["evaluation"]
        finalized = bool(evaluation.get("finalized"))
        return {
            "contract_number": contract["number"], "contract_title": contract["title"],
            "organization": contract["organization"], "amount_fen": contract["amount_fen"],
            "paid_fen": contract["paid_fen"], "period": [contract["start_date"], contract["end_date"]],
            "evaluation": evaluation["round"]["kind"] if finalized else None,
            "score": evaluation.get("total") if finalized else None,
            "grade": evaluation.get("grade") if finalized else None,
        }
    if kind == "portfolio":
        return {
            "fiscal_year": data["year"], "purchaser": data["report"].get("bureau", ""), "plans": data["plans"],
            "contracts": len(data["contracts"]), "budget_fen": data["budget_fen"],
            "awarded_fen": data["awarded_fen"], "paid_fen": data["paid_fen"],
        }
    if kind == "organization":
        org, totals = data["organization"], data["totals"]
        years = sorted({row["fiscal_year"] for row in data["contracts"] if row.get("fiscal_year")})
        return {
            "organization": org["name"], "credit_code": org["credit_code"], "rating": org["rating"],
            "fiscal_years": [years[0], years[-1]] if years else None, "contracts": totals["contracts"],
            "amount_fen": totals["amount_fen"], "paid_fen": totals["paid_fen"], "red_flags": totals["red_flags"],
        }
    raise ValueError(f"unknown report kind {kind}")


def from_pdf(kind: str, pdf_bytes: bytes) -> dict | None:
    """The figures of a kept PDF, from the data attached to it (None when it carries none)."""
    from .render import read_attachment

    attached = read_attachment(pdf_bytes)
    return key_figures(kind, json.loads(attached)) if attached else None


def _span(pair) -> str:
    first, last = pair
    return str(first) if first == last else f"{first} – {last}"


def rows(figures: dict | None) -> list[tuple[str, str]]:
    """(label, value) in the current language, in the order the page lists them."""
    if not figures:
        return []
    f = figures
    out: list[tuple[str, str]] = []
    if "contract_number" in f:
        out.append((_("Contract"), f"{f['contract_number']} {f['contract_title']}"))
    if "organization" in f:
        out.append((_("Service organization"), f["organization"]))
    if "credit_code" in f:
        out.append((_("Unified social credit code"), f["credit_code"]))
    if "rating" in f:
        out.append((_("Rating"), label("rating", f["rating"])))
    if "fiscal_year" in f:
        out.append((_("Fiscal year"), str(f["fiscal_year"])))
    if f.get("purchaser"):
        out.append((_("Purchaser"), f["purchaser"]))
    if "period" in f:
        out.append((_("Term"), _span(f["period"])))
    if "fiscal_years" in f:
        out.append((_("Fiscal years"), _span(f["fiscal_years"]) if f["fiscal_years"] else "—"))
    if "plans" in f:
        out.append((_("Project plans"), str(f["plans"])))
    if "contracts" in f:
        out.append((_("Contracts"), str(f["contracts"])))
    if "budget_fen" in f:
        out.append((_("Budget"), money(f["budget_fen"])))
    if "amount_fen" in f:
        out.append((_("Contract amount") if "contract_number" in f else _("Total awarded"), money(f["amount_fen"])))
    if "awarded_fen" in f:
        out.append((_("Awarded"), money(f["awarded_fen"])))
    if "paid_fen" in f:
        out.append((_("Paid"), money(f["paid_fen"])))
    if "score" in f:
        if f["score"] is None:
            out.append((_("Final score"), _("No finalized evaluation")))
        else:
            out.append((_("Final score"), f"{f['score']} / 100"))  # as the paper prints it
            out.append((_("Grade"), label("grade", f["grade"])))
            out.append((_("Evaluation"), label("round_kind", f["evaluation"])))
    if "red_flags" in f:
        out.append((_("Red flags"), str(f["red_flags"])))
    return out
