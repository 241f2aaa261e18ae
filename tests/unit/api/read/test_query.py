"""The read API's query model: defaults, reasons for invalid queries, date ranges in the
site's zone."""

from datetime import UTC, date, datetime

import pytest

from api.read.query import Filter, QueryError, parse_query, resolve_days


def test_defaults_fill_a_minimal_query():
    q = parse_query({"site_id": "shop.example"})
    assert (q.date_range, q.metrics, q.dimensions, q.filters, q.interval, q.limit,
            q.offset) == ("30d", ("visitors", "pageviews"), (), (), "day", 100, 0)


@pytest.mark.parametrize(("payload", "reason"), [
    ({}, "query: 'site_id' is a required property"),
    ({"site_id": "s", "metrics": ["hits"]}, "metrics/0: 'hits' is not one of"),
    ({"site_id": "s", "date_range": "custom"}, "'start' is a required property"),
    ({"site_id": "s", "date_range": "custom", "start": "2026-02-30", "end": "2026-03-01"},
     "start: '2026-02-30' is not a 'date'"),
    ({"site_id": "s", "date_range": "custom", "start": "2026-03-02", "end": "2026-03-01"},
     "end: 2026-03-01 is before start 2026-03-02"),
    ({"site_id": "s", "date_range": "custom", "start": "2023-11-25", "end": "2026-11-27"},
     "end: a report covers 1098 days at most, both included; ask for a longer span in "
     "parts"),
    ({"site_id": "s", "limit": 0}, "limit: 0 is less than the minimum of 1"),
    ({"site_id": "s", "dimensions": ["page; drop"]}, "dimensions/0: 'page; drop' does not match"),
    ({"site_id": "s", "order_by": [{"field": "country"}]},
     "order_by: 'country' is neither a metric nor a dimension"),
    ({"site_id": "s", "colour": "red"}, "Additional properties are not allowed ('colour'"),
    ("not an object", "query: 'not an object' is not of type 'object'"),
])
def test_an_invalid_query_says_why(payload, reason):
    with pytest.raises(QueryError) as raised:
        parse_query(payload)
    assert reason in str(raised.value)


def test_filters_match_is_is_not_and_contains():
    q = parse_query({"site_id": "s", "filters": [
        {"dimension": "page", "op": "is", "value": ["/a", "/b"]},
        {"dimension": "source", "op": "is_not", "value": "google.com"},
        {"dimension": "prop:plan", "op": "contains", "value": "PRO"}]})
    is_, is_not, contains = q.filters
    assert is_ == Filter("page", "is", ("/a", "/b"))
    assert (is_.matches("/a"), is_.matches("/c")) == (True, False)
    assert (is_not.matches("google.com"), is_not.matches(None)) == (False, True)
    assert (contains.matches("enterprise-pro"), contains.matches("free")) == (True, False)


NOW = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)  # 02:15 on the 27th in Kathmandu


@pytest.mark.parametrize(("date_range", "zone", "days"), [
    ("today", "UTC", (date(2026, 11, 26), date(2026, 11, 26))),
    ("today", "Asia/Kathmandu", (date(2026, 11, 27), date(2026, 11, 27))),
    ("yesterday", "Asia/Kathmandu", (date(2026, 11, 26), date(2026, 11, 26))),
    ("7d", "America/New_York", (date(2026, 11, 20), date(2026, 11, 26))),
    ("30d", "UTC", (date(2026, 10, 28), date(2026, 11, 26))),
    ("month", "Asia/Kathmandu", (date(2026, 11, 1), date(2026, 11, 27))),
])
def test_ranges_are_days_in_the_sites_zone(date_range, zone, days):
    assert resolve_days(parse_query({"site_id": "s", "date_range": date_range}), zone,
                        NOW) == days


def test_a_custom_range_is_taken_as_given():
    q = parse_query({"site_id": "s", "date_range": "custom", "start": "2024-03-09",
                     "end": "2024-03-11"})
    assert resolve_days(q, "America/New_York", NOW) == (date(2024, 3, 9), date(2024, 3, 11))
    longest = parse_query({"site_id": "s", "date_range": "custom", "start": "2023-11-26",
                           "end": "2026-11-27"})  # 1098 days, both included
    assert (longest.start, longest.end) == (date(2023, 11, 26), date(2026, 11, 27))
