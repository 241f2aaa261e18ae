"""Which raw hours a retention run deletes."""

from datetime import UTC, datetime

from analytics.retention import cutoff, expired_hours
from analytics.sites import Site


def test_a_site_without_retention_keeps_everything():
    site = Site(site_id="keep", domain="keep.example")
    assert cutoff(site, datetime(2026, 11, 26, tzinfo=UTC)) is None
    assert expired_hours(site, datetime(2026, 11, 26, tzinfo=UTC), 30) == []


def test_one_run_deletes_the_day_of_hours_before_the_cutoff():
    site = Site(site_id="short", domain="short.example", retention_days=30)
    hours = expired_hours(site, datetime(2026, 11, 26, 0, 30, tzinfo=UTC), 1)
    assert hours[0] == datetime(2026, 10, 26, 0, tzinfo=UTC)
    assert hours[-1] == datetime(2026, 10, 26, 23, tzinfo=UTC)
    assert len(hours) == 24
    # the hour that holds the cutoff itself (00:00-01:00 on 10-27) stays
