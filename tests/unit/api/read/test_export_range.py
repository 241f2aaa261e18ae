"""The days an export covers (api.read.resources.exports:export_range): the defaults, and
at most ``analytics.periods.MAX_RANGE_DAYS`` (1098) days, start and end both included, as
for a report's custom range and an ad-hoc job (docs/metrics.md, Time)."""

from __future__ import annotations

from datetime import date

import falcon
import pytest
from falcon import testing

from api.read.resources.exports import export_range
from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import ALL_TOKEN, SHOP

TODAY = date(2026, 11, 27)


def _range(**params) -> tuple[date, date]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return export_range(testing.create_req(query_string=query), SHOP, TODAY)


def test_by_default_the_30_days_up_to_yesterday():
    assert _range() == (date(2026, 10, 28), date(2026, 11, 26))
    assert _range(end="2026-01-10") == (date(2025, 12, 12), date(2026, 1, 10))
    assert _range(start="2026-11-20") == (date(2026, 11, 20), date(2026, 11, 26))


def test_three_years_both_ends_included_and_not_a_day_more():
    # 1098 days: end 1097 days after start
    assert _range(start="2023-11-26", end="2026-11-27") == (date(2023, 11, 26),
                                                             date(2026, 11, 27))
    with pytest.raises(falcon.HTTPBadRequest) as refused:
        _range(start="2023-11-25", end="2026-11-27")  # 1099 days
    assert refused.value.description == ("start/end: an export covers 1098 days at most, both "
                                         "included; 2023-11-25..2026-11-27 is 1099")
    # up to yesterday by default
    assert _range(start="2023-11-25") == (date(2023, 11, 25), date(2026, 11, 26))
    with pytest.raises(falcon.HTTPBadRequest):
        _range(start="2023-11-24")


def test_an_end_before_the_start_is_refused():
    with pytest.raises(falcon.HTTPBadRequest) as refused:
        _range(start="2026-11-20", end="2026-11-19")
    assert refused.value.description == "end: 2026-11-19 is before start 2026-11-20"


def test_the_api_refuses_a_range_a_day_too_long(world):
    found = world.client.simulate_get(
        "/api/v1/export/pages", headers={"Authorization": f"Bearer {ALL_TOKEN}"},
        params={"site_id": "shop.example", "start": "2023-11-25", "end": "2026-11-27"})
    assert (found.status_code, error_body(found)) == (400, {
        "title": "invalid_query",
        "description": "start/end: an export covers 1098 days at most, both included; "
                       "2023-11-25..2026-11-27 is 1099"})
