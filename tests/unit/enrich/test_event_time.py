import pytest

from analytics.enrich import Refused
from analytics.enrich.event_time import EventTime, event_time

from .samples import RECEIVED, make_ctx

HOUR_MS = 3600 * 1000


def run(**times):
    return event_time({"site_id": "example.com", **times}, make_ctx(received_at_ms=RECEIVED))


def test_buffered_event_is_moved_back_by_the_buffering_time():
    out = run(created_at=1_700_000_000_000 - 5000, sent_at=1_700_000_000_000)
    assert out["received_at"] == 1_000_000_000_000
    assert out["event_time"] == 999_999_995_000


def test_only_the_difference_of_client_times_counts_not_the_client_clock():
    # client clock years off, but 5 s between creating and sending
    assert run(created_at=5, sent_at=5005)["event_time"] == RECEIVED - 5000


def test_without_both_client_times_event_time_is_receive_time():
    assert run()["event_time"] == RECEIVED
    assert run(created_at=RECEIVED - 60_000)["event_time"] == RECEIVED
    assert run(sent_at=RECEIVED - 60_000)["event_time"] == RECEIVED
    assert run(created_at=None, sent_at=None)["event_time"] == RECEIVED


def test_sent_before_created_is_nonsense_and_not_corrected():
    assert run(created_at=RECEIVED, sent_at=RECEIVED - 10_000)["event_time"] == RECEIVED


def test_correction_is_never_later_than_receipt():
    assert run(created_at=7, sent_at=7)["event_time"] == RECEIVED
    assert run(created_at=9_000, sent_at=1_000)["event_time"] == RECEIVED


def test_exactly_72_hours_is_still_accepted():
    out = run(created_at=0, sent_at=72 * HOUR_MS)
    assert out["event_time"] == RECEIVED - 72 * HOUR_MS


def test_more_than_72_hours_is_refused_as_too_late():
    with pytest.raises(Refused) as refused:
        run(created_at=0, sent_at=73 * HOUR_MS)
    assert refused.value.reason == "too_late"
    assert refused.value.detail == (
        "buffered 262800000 ms before sending; the limit is 259200000 ms"
    )
    with pytest.raises(Refused, match="too_late"):
        run(created_at=0, sent_at=72 * HOUR_MS + 1)


def test_the_limit_is_configurable():
    step = EventTime(max_lateness_ms=1000)
    ctx = make_ctx(received_at_ms=RECEIVED)
    assert step({"created_at": 0, "sent_at": 1000}, ctx)["event_time"] == RECEIVED - 1000
    with pytest.raises(Refused, match="too_late"):
        step({"created_at": 0, "sent_at": 1001}, ctx)
