"""A package's publishedDate is its newest release's moment, in UTC: release dates are written in UTC
or as the start of a local day (+08:00), whose text does not sort as the moments do. (A process whose
newest release starts a local day is kept and served: tests/api/test_published_date.py.)"""
from __future__ import annotations

import pytest

from svcproc.ocds.releases import newest


@pytest.mark.parametrize("stamps, expected", [
    (["2025-05-19T17:00:00Z", "2025-05-20T00:00:00+08:00"], "2025-05-19T17:00:00Z"),
    (["2025-05-20T00:00:00+08:00", "2025-05-19T15:00:00Z"], "2025-05-19T16:00:00Z"),
    (["2025-03-12T02:00:00Z"], "2025-03-12T02:00:00Z"),
    ([], ""),
])
def test_the_newest_of_release_dates_is_the_latest_moment_in_utc(stamps, expected):
    assert newest(stamps) == expected
