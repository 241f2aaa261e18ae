from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sitelens.utils import run_args


def test_site_ids_from_rendered_text_lists_or_nothing():
    assert run_args.site_ids("shop,blog") == ["shop", "blog"]
    assert run_args.site_ids(" shop , blog ") == ["shop", "blog"]
    assert run_args.site_ids(["shop", " blog"]) == ["shop", "blog"]
    assert run_args.site_ids("") is None
    assert run_args.site_ids([]) is None
    assert run_args.site_ids(None) is None


def test_days_and_instants():
    assert run_args.day("2026-11-24") == date(2026, 11, 24)
    assert run_args.day("2026-11-24T00:00:00+00:00") == date(2026, 11, 24)
    assert run_args.day(datetime(2026, 11, 24, 5, tzinfo=UTC)) == date(2026, 11, 24)
    with pytest.raises(ValueError, match="is not a day"):
        run_args.day("yesterday")
    assert run_args.instant("2026-11-25T01:00:00+00:00") == datetime(2026, 11, 25, 1,
                                                                      tzinfo=UTC)
    assert run_args.instant("2026-11-25 02:00:00+01:00") == datetime(2026, 11, 25, 1,
                                                                      tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        run_args.instant("2026-11-25T01:00:00")


def test_flags():
    assert run_args.flag(True) is True
    assert run_args.flag("True") is True and run_args.flag("false") is False
    assert run_args.flag("0") is False and run_args.flag("None") is False
    with pytest.raises(ValueError):
        run_args.flag("maybe")
