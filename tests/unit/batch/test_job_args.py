"""The batch job's arguments and the partitions it reads (no Spark)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.sites import Site
from batch.job import parse_args, partitions, site_days


def test_the_period_comes_from_the_arguments():
    args = parse_args(["--start-day", "2026-11-24", "--sites", "b, a,,"])
    assert (args.start_day, args.end_day, args.sites) == (
        date(2026, 11, 24), date(2026, 11, 24), ["b", "a"])
    with pytest.raises(SystemExit):
        parse_args(["--start-day", "2026-11-24", "--end-day", "2026-11-23"])
    with pytest.raises(SystemExit):
        parse_args([])


def test_site_days_carry_the_local_day_bounds():
    site = Site(site_id="k", domain="k.example", timezone="Asia/Kathmandu")
    assert site_days([site], date(2026, 11, 25), date(2026, 11, 25)) == [
        ("k", date(2026, 11, 25), "Asia/Kathmandu",
         datetime(2026, 11, 24, 18, 15, tzinfo=UTC), datetime(2026, 11, 25, 18, 15, tzinfo=UTC))]


def test_the_job_reads_the_days_hours_plus_the_margin_per_site():
    utc = Site(site_id="u", domain="u.example")
    ktm = Site(site_id="k", domain="k.example", timezone="Asia/Kathmandu")
    read = partitions([utc, ktm], date(2026, 11, 25), date(2026, 11, 26), timedelta(hours=2))
    by_site = {s: [h for site, h in read if site == s] for s in ("u", "k")}
    assert by_site["u"][0] == datetime(2026, 11, 24, 22, tzinfo=UTC)
    assert by_site["u"][-1] == datetime(2026, 11, 27, 1, tzinfo=UTC)
    assert len(by_site["u"]) == 48 + 4
    # 16:15Z .. 20:15Z the next-but-one day: the hours starting 16:00 .. 20:00
    assert by_site["k"][0] == datetime(2026, 11, 24, 16, tzinfo=UTC)
    assert by_site["k"][-1] == datetime(2026, 11, 26, 20, tzinfo=UTC)
