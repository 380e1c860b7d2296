"""Satisfaction survey import: one row per respondent (group, answer), counted per group.

An answer is satisfied when it says so (满意/是/yes/√) or is a rating of 4 or 5 on a five-point
scale; 不满意/一般/否/no/× and ratings 1–3 count as surveyed but not satisfied. Every row is checked
before anything is stored; one bad row refuses the file with its row number.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import BinaryIO

from flask_babel import gettext as _

from ..core import files
from ..core.errors import ValidationError
from ..delivery.ledger import LedgerError, iter_rows
from . import workflow
from .models import EvaluationRound, SatisfactionSurvey

SURVEY_RULE = files.UploadRule(kinds=files.LEDGERS, max_bytes=5 * 1024 * 1024)
GROUP_HEADERS = {"受访群体", "群体", "group", "respondent group"}
ANSWER_HEADERS = {"是否满意", "满意度", "满意", "answer", "satisfied", "rating"}
SATISFIED_WORDS = {"满意", "非常满意", "比较满意", "是", "yes", "y", "satisfied", "√", "true"}
UNSATISFIED_WORDS = {"不满意", "非常不满意", "一般", "否", "no", "n", "unsatisfied", "×", "false"}
MAX_ERRORS = 20


@dataclass
class Counted:
    groups: dict[str, list[int]] = field(default_factory=dict)   # group -> [satisfied, surveyed]
    errors: list[str] = field(default_factory=list)


def _answer(value) -> bool | None:
    text = str(value).strip().lower() if value is not None else ""
    if text in SATISFIED_WORDS:
        return True
    if text in UNSATISFIED_WORDS:
        return False
    try:
        rating = float(text)
    except ValueError:
        return None
    if rating in (1, 2, 3, 4, 5):
        return rating >= 4
    return None


def count_responses(source: BinaryIO, kind: str) -> Counted:
    result = Counted()
    positions: dict[str, int] | None = None
    try:
        for number, cells in iter_rows(source, kind):
            cells = ["" if c is None else str(c).strip() for c in cells]
            if positions is None:
                lowered = [c.lower() for c in cells]
                group = next((i for i, c in enumerate(lowered) if c in GROUP_HEADERS), None)
                answer = next((i for i, c in enumerate(lowered) if c in ANSWER_HEADERS), None)
                if group is None or answer is None:
                    raise ValidationError(_("The first row must name the columns %(group)s (group) and "
                                            "%(answer)s (answer).", group="受访群体", answer="是否满意"), "file")
                positions = {"group": group, "answer": answer}
                continue
            if not any(cells):
                continue
            group_name = cells[positions["group"]] if positions["group"] < len(cells) else ""
            answer_text = cells[positions["answer"]] if positions["answer"] < len(cells) else ""
            if group_name.startswith("="):
                result.errors.append(_("Row %(n)d: formulas are not accepted.", n=number))
                continue
            if not group_name:
                result.errors.append(_("Row %(n)d: the group is empty.", n=number))
                continue
            satisfied = _answer(answer_text)
            if satisfied is None:
                result.errors.append(_("Row %(n)d: %(a)s is not an answer (%(words)s, yes/no or a rating from 1 "
                                       "to 5).", n=number, a=answer_text or "—", words="满意/不满意"))
                continue
            counts = result.groups.setdefault(group_name[:100], [0, 0])
            counts[1] += 1
            counts[0] += int(satisfied)
            if len(result.errors) >= MAX_ERRORS:
                break
    except LedgerError as exc:
        raise ValidationError(exc.message, "file") from None
    if positions is None:
        raise ValidationError(_("The file is empty."), "file")
    if not result.groups and not result.errors:
        raise ValidationError(_("The file holds no responses."), "file")
    return result


def import_responses(actor, round_: EvaluationRound, *, leaf_key: str, upload, surveyed_on=None) -> list[SatisfactionSurvey]:
    """Store the file, count it per group and add one survey per group; nothing when a row is bad."""
    if upload is None or not getattr(upload, "filename", ""):
        raise ValidationError(_("Choose a file to upload."), "file")
    stored = files.store(upload, purpose="satisfaction_survey", rule=SURVEY_RULE, actor=actor)
    with files.stream(stored) as source:
        counted = count_responses(source, stored.kind)
    if counted.errors:
        raise ValidationError(" ".join(counted.errors[:MAX_ERRORS]), "file")
    return [workflow.add_survey(actor, round_, leaf_key=leaf_key, group_name=group, surveyed=surveyed,
                                satisfied=satisfied, surveyed_on=surveyed_on,
                                note=_("Imported from %(name)s", name=stored.original_name), file=stored)
            for group, (satisfied, surveyed) in counted.groups.items()]


def template_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["受访群体", "是否满意"])
    writer.writerows([["服务对象", "满意"], ["服务对象", "不满意"], ["服务对象家属", "5"], ["社区居委会", "是"]])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
