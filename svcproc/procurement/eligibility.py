"""Whether an organization may bid in a tender, with each reason stated so the bidder can act on it."""
from __future__ import annotations

from flask_babel import gettext as _

from ..registry.models import Organization, OrgKind, OrgStatus
from ..registry.ratings import rating_state, valid_years


def eligibility_problems(org: Organization, tender) -> list[str]:
    problems = []
    if org.kind != OrgKind.SERVICE:
        problems.append(_("Only social work organizations can bid."))
    if org.status == OrgStatus.SUSPENDED:
        problems.append(_("%(org)s is suspended and cannot bid (%(why)s).", org=org.name, why=org.status_reason or "—"))
    elif org.status == OrgStatus.DISHONEST:
        problems.append(_("%(org)s is on the list of seriously dishonest entities and cannot bid.", org=org.name))
    rating = rating_state(org)
    if rating.effective.rank < tender.min_rating.rank:
        if rating.expired:
            problems.append(_("This tender requires a rating of %(need)s or better; the %(has)s rating of %(org)s "
                              "expired on %(day)s (a rating holds %(years)d years).", need=tender.min_rating.value,
                              has=org.rating.value, org=org.name, day=rating.expires_on, years=valid_years()))
        else:
            problems.append(_("This tender requires a rating of %(need)s or better; %(org)s is rated %(has)s.",
                              need=tender.min_rating.value, org=org.name,
                              has=org.rating.value if org.rating.rank else _("not rated")))
    from ..evaluations.consequences import failed_final_rounds
    from ..core.formatting import points

    for round_ in failed_final_rounds(org.id, tender.plan.fiscal_year):
        problems.append(_("%(org)s failed the final evaluation of %(project)s (%(score)s points) and cannot bid "
                          "in fiscal year %(year)d.", org=org.name, project=round_.contract.title,
                          score=points(round_.total), year=tender.plan.fiscal_year))
    return problems
