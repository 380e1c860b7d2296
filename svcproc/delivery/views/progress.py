"""A contract's progress against its targets, in figures and charts."""
from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_login import login_required

from ...core import charts
from ...procurement.labels import TARGET_LABELS
from .. import progress as progress_module
from . import bp
from .common import contract_or_404


@bp.route("/contracts/<int:contract_id>/progress")
@login_required
def contract_progress(contract_id: int):
    contract = contract_or_404(contract_id)
    # The figures are kept for the next reader (a cache, not a record: no audit); the request commits them.
    result = progress_module.kept(contract.id)
    rows = result.against(contract)
    targets_chart = charts.progress_bars([charts.Bar(str(TARGET_LABELS[name]), actual, target)
                                          for name, actual, target in rows],
                                         _("Outputs against targets"))
    months = list(result.by_month)
    month_chart = charts.column_chart(months, {
        _("Person-times"): [result.by_month[m]["person_times"] for m in months],
        _("Service hours"): [float(result.by_month[m]["hours"]) for m in months]}, _("By month"))
    communities = list(result.by_community)
    community_chart = charts.column_chart(communities, {
        _("Person-times"): [result.by_community[c]["person_times"] for c in communities]}, _("By community"))
    return render_template("delivery/progress.html", contract=contract, result=result, rows=rows,
                           targets_chart=targets_chart, month_chart=month_chart, community_chart=community_chart)
