"""Local days as UTC instants, in zones with odd offsets and across DST."""

from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.periods import (
    MAX_RANGE_DAYS,
    day_bounds,
    day_closed_at,
    days,
    range_days,
    read_window,
    utc_hours,
)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_day_in_kathmandu_starts_at_18_15_utc_the_day_before():
    assert day_bounds(date(2026, 11, 25), "Asia/Kathmandu") == (
        utc(2026, 11, 24, 18, 15), utc(2026, 11, 25, 18, 15))


def test_new_york_days_around_the_dst_changes_are_23_and_25_hours():
    start, end = day_bounds(date(2024, 3, 10), "America/New_York")
    assert (start, end - start) == (utc(2024, 3, 10, 5), timedelta(hours=23))
    start, end = day_bounds(date(2024, 11, 3), "America/New_York")
    assert (start, end - start) == (utc(2024, 11, 3, 4), timedelta(hours=25))


def test_a_midnight_that_does_not_exist_starts_the_day_at_the_change():
    # Santiago moved its clocks from 00:00 to 01:00 on 2024-09-08
    start, end = day_bounds(date(2024, 9, 8), "America/Santiago")
    assert start == utc(2024, 9, 8, 4)
    assert end - start == timedelta(hours=23)


def test_days_are_inclusive_and_ordered():
    assert days(date(2026, 2, 27), date(2026, 3, 1)) == [
        date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]
    with pytest.raises(ValueError, match="before"):
        days(date(2026, 3, 1), date(2026, 2, 1))


def test_a_range_counts_both_ends_and_covers_three_years_at_most():
    assert MAX_RANGE_DAYS == 1098
    assert range_days(date(2026, 11, 27), date(2026, 11, 27)) == 1
    assert range_days(date(2026, 2, 27), date(2026, 3, 1)) == len(
        days(date(2026, 2, 27), date(2026, 3, 1))) == 3
    assert range_days(date(2026, 11, 28), date(2026, 11, 27)) == 0
    # the longest range: end 1097 days after start
    assert range_days(date(2023, 11, 26), date(2026, 11, 27)) == MAX_RANGE_DAYS
    assert range_days(date(2023, 11, 25), date(2026, 11, 27)) == MAX_RANGE_DAYS + 1


def test_utc_hours_cover_a_quarter_hour_offset_day():
    start, end = day_bounds(date(2026, 11, 25), "Asia/Kathmandu")
    hours = list(utc_hours(start, end))
    assert hours[0] == utc(2026, 11, 24, 18) and hours[-1] == utc(2026, 11, 25, 18)
    assert len(hours) == 25  # 18:15 -> 18:15 touches 25 UTC hours


def test_the_read_window_adds_the_margin_on_both_sides():
    assert read_window(date(2026, 11, 24), date(2026, 11, 25), "UTC", timedelta(hours=2)) == (
        utc(2026, 11, 23, 22), utc(2026, 11, 26, 2))


def test_a_day_closes_when_it_ends_in_the_zone_plus_the_settle_time():
    assert day_closed_at(date(2026, 11, 25), "Pacific/Honolulu", timedelta(hours=1)) == \
        utc(2026, 11, 26, 11)
