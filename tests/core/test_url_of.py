"""url_of writes the addresses url_for writes, routed once for a whole list."""
import pytest
from flask import url_for

from svcproc.core.templating import url_of


@pytest.mark.parametrize("endpoint, arg, values", [
    ("reports.subject", "subject_id", {"kind": "assessment"}),
    ("contracts.contract", "contract_id", {}),
    ("monitoring.case_new", "flag", {}),                      # the number in the query string
    ("reports.build_audit_package", "contract_id", {}),
])
def test_the_same_address_as_url_for(app, endpoint, arg, values):
    with app.test_request_context():
        make = url_of(endpoint, arg, **values)
        for number in (1, 7, 1507, 2_000_000_000):
            assert make(number) == url_for(endpoint, **{arg: number}, **values)


def test_only_numbers_go_into_an_address(app):
    with app.test_request_context():
        make = url_of("contracts.contract", "contract_id")
        with pytest.raises(ValueError):
            make("1/../../admin")
