from datetime import timedelta
from decimal import Decimal
from svcproc.core.permissions import Role
from svcproc.evaluations import workflow as ev, indicators
from svcproc.evaluations.models import RoundKind
from svcproc.registry.models import OrgKind
from svcproc.procurement.eligibility import eligibility_problems
from tests.contracts.builders import contract_in, local_today
from tests.factories import OrganizationFactory, user_for_role


def test_smoke(app, db_session, clock):
    setup = contract_in("in_progress", clock)
    staff = setup.staff
    eorg = OrganizationFactory(kind=OrgKind.EVALUATION)
    e1 = user_for_role(Role.EVALUATOR, eorg)
    e2 = user_for_role(Role.EVALUATOR, eorg)
    b1 = user_for_role(Role.EVALUATOR)
    v = indicators.default_version()
    r = ev.create_round(staff, setup.contract, kind=RoundKind.FINAL, title="末期评估", template_version=v,
                        evaluation_org=eorg, scheduled_start=local_today(), scheduled_end=local_today() + timedelta(days=5))
    ev.set_parties(staff, r, [("第三方", "70"), ("区民政局", "30")])
    p3, pb = r.parties
    ev.assign_evaluator(staff, r, e1, p3)
    ev.assign_evaluator(staff, r, e2, p3)
    ev.assign_evaluator(staff, r, b1, pb)
    ev.add_survey(staff, r, leaf_key="satisfaction.beneficiaries", group_name="服务对象", surveyed=50, satisfied=46)
    ev.open_scoring(staff, r)
    print(r.computed)
    for u, pts in ((e1, Decimal("0.8")), (e2, Decimal("0.6")), (b1, Decimal("1"))):
        m = next(x for x in r.evaluators if x.user_id == u.id)
        ev.declare(u, m, related=False)
        for leaf in ev.scored_leaves(r):
            ev.save_score(u, m, leaf.key, (leaf.weight * pts).quantize(Decimal("0.01")), "好")
        ev.submit_scores(u, m)
    ev.finalize(staff, r)
    print(r.total, r.grade, r.result)
    assert r.grade
