"""Pure pieces of the read service: how parts add up, ordering, parameters, tokens, CSV."""

from datetime import UTC, date, datetime

import datasketches
import pytest

from analytics.periods import day_bounds
from api.read.layers import local_hours
from api.read.query import parse_query
from api.read.render import csv_text
from api.read.reports import metric_values, order_rows
from api.read.resources import query_from_params
from api.read.sketches import EMPTY, Part, merge_parts
from api.read.tokens import EVERY_SITE, Token, split


def sketch(*visitors: str) -> bytes:
    s = datasketches.hll_sketch(14)
    for v in visitors:
        s.update(v)
    return s.serialize_compact()


def test_one_part_keeps_its_exact_visitors_several_merge_their_sketches():
    monday = Part(visitors=2, sketch=sketch("a", "b"), pageviews=3, sessions=2, bounces=1)
    tuesday = Part(visitors=2, sketch=sketch("b", "c"), pageviews=4)
    assert merge_parts([monday], 14) is monday
    both = merge_parts([monday, tuesday, EMPTY], 14)
    assert (both.visitors, both.pageviews, both.sessions, both.bounces) == (3, 7, 2, 1)
    assert merge_parts([], 14) is EMPTY


def test_visitors_without_a_sketch_cannot_be_merged_and_say_so():
    old = Part(visitors=2, sketch=None, events=2)
    new = Part(visitors=1, sketch=sketch("c"), events=1)
    merged = merge_parts([old, new], 14)
    assert (merged.visitors, merged.events) == (None, 3)


def test_rates_are_null_without_sessions_never_zero():
    speed_only = metric_values(Part(visitors=2, pageviews=2), ["sessions", "bounce_rate"])
    assert speed_only == {"sessions": None, "bounce_rate": None}
    batch = metric_values(Part(sessions=4, bounces=2, duration_s=710.0, session_pageviews=5),
                          ["bounce_rate", "visit_duration", "views_per_session"])
    assert batch == {"bounce_rate": 0.5, "visit_duration": 177.5, "views_per_session": 1.25}


def test_rows_are_ordered_by_the_query_then_by_value_with_nulls_last():
    query = parse_query({"site_id": "s", "dimensions": ["page"],
                         "metrics": ["visitors", "sessions"],
                         "order_by": [{"field": "sessions"}, {"field": "page", "desc": False}]})
    rows = [{"page": "/b", "visitors": 1, "sessions": None},
            {"page": "/c", "visitors": 5, "sessions": 2},
            {"page": "/a", "visitors": 3, "sessions": 2}]
    assert [r["page"] for r in order_rows(rows, query, "page")] == ["/a", "/c", "/b"]


def test_get_parameters_become_the_query_document():
    doc = query_from_params({"site_id": "s", "metrics": "visitors,pageviews",
                             "dimension": "page", "limit": "5", "order_by": "-visitors,page",
                             "filters": '[{"dimension": "page", "op": "is", "value": "/"}]'})
    assert parse_query(doc).order_by == (("visitors", True), ("page", False))
    assert doc["limit"] == 5 and doc["dimensions"] == ["page"]


def test_local_hours_of_a_kathmandu_day_and_of_a_fall_back_day():
    start, end = day_bounds(date(2026, 11, 25), "Asia/Kathmandu")
    hours = local_hours(start, end, "Asia/Kathmandu")
    assert len(hours) == 24 and hours[0] == datetime(2026, 11, 24, 18, 15, tzinfo=UTC)
    start, end = day_bounds(date(2026, 11, 1), "America/New_York")
    hours = local_hours(start, end, "America/New_York")
    assert len(hours) == 25
    assert hours[1:3] == [datetime(2026, 11, 1, 5, tzinfo=UTC),
                          datetime(2026, 11, 1, 6, tzinfo=UTC)]  # 01:00 EDT, 01:00 EST


@pytest.mark.parametrize(("raw", "parts"), [
    ("sl_abc_def_ghi", ("abc", "def_ghi")), ("sl_abc", None), ("abc_def", None),
    ("sl__x", None)])
def test_token_strings(raw, parts):
    assert split(raw) == parts


def test_a_token_reads_its_sites_or_every_site():
    one = Token("t", frozenset({"a"}), "", None, None)
    every = Token("u", frozenset({EVERY_SITE}), "", None, None)
    assert one.may_read("a") and not one.may_read("b") and every.may_read("b")


def test_csv_quotes_and_leaves_nulls_empty():
    text = csv_text(["page", "visitors"], [{"page": 'a,"b"', "visitors": None}])
    assert text == 'page,visitors\r\n"a,""b""",\r\n'


def test_tableau_day_tables_stop_at_the_first_open_day_after_a_closed_one():
    from api.read.exports import closed_run

    d = [date(2026, 11, n) for n in range(1, 7)]
    closed = {d[1]: 1, d[2]: 1, d[4]: 1}  # the 4th is open: the 5th must wait for it
    assert closed_run(closed, d[0], d[5]) == [d[1], d[2]]
    assert closed_run({}, d[0], d[5]) == []
