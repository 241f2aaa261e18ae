import datetime as dt

import pytest

from analytics.enrich import InMemoryRotatingSalts, StaticSaltProvider
from analytics.enrich.salts import SaltProvider, SaltsAhead

DAY = dt.date(2026, 3, 28)
NEXT = dt.date(2026, 3, 29)


def test_static_salts_are_fixed_per_day_and_differ_between_days():
    salts = StaticSaltProvider(b"seed")
    assert salts.salt_for(DAY) == b"seed|2026-03-28"
    assert salts.salt_for(NEXT) == b"seed|2026-03-29"
    assert isinstance(salts, SaltProvider)


def test_static_seed_must_fit_a_blake2b_key():
    StaticSaltProvider(b"x" * 53)
    with pytest.raises(ValueError, match="at most 53 bytes"):
        StaticSaltProvider(b"x" * 54)


def test_rotating_salts_are_random_32_bytes_stable_within_a_day():
    salts = InMemoryRotatingSalts()
    first = salts.salt_for(DAY)
    assert len(first) == 32
    assert salts.salt_for(DAY) is first
    assert salts.salt_for(NEXT) != first
    assert InMemoryRotatingSalts().salt_for(DAY) != first
    assert isinstance(salts, SaltProvider)


def test_rotating_salts_forget_days_two_days_after():
    salts = InMemoryRotatingSalts()
    day1 = salts.salt_for(DAY)
    salts.salt_for(NEXT)
    assert salts.days == [DAY, NEXT]
    salts.salt_for(DAY + dt.timedelta(days=2))
    assert salts.days == [NEXT, DAY + dt.timedelta(days=2)]
    # a forgotten day cannot be recomputed: asking again gives a new salt
    assert salts.salt_for(DAY) != day1


def test_rotating_salts_settings_are_checked():
    with pytest.raises(ValueError):
        InMemoryRotatingSalts(keep_days=0)
    with pytest.raises(ValueError):
        InMemoryRotatingSalts(salt_bytes=65)


# -- salts held ahead of need (the store may be down) ----------------------------------------

class FlakyStore:
    """The shared salt store (Cassandra in the service): one salt per day, or an error."""

    def __init__(self):
        self.down = False
        self.calls: list[dt.date] = []

    def salt_for(self, day: dt.date) -> bytes:
        self.calls.append(day)
        if self.down:
            raise ConnectionError("NoHostAvailable")
        return b"shared|" + day.isoformat().encode()


class WallClock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _ahead(store, at: dt.datetime) -> tuple[SaltsAhead, WallClock]:
    clock = WallClock(at)
    return SaltsAhead(store, clock=clock, start=False), clock


def test_todays_and_tomorrows_salts_are_held_before_midnight():
    store = FlakyStore()
    salts, clock = _ahead(store, dt.datetime(2026, 3, 28, 23, 50, tzinfo=dt.UTC))
    assert salts.refresh() == []
    assert (store.calls, salts.days) == ([DAY, NEXT], [DAY, NEXT])
    store.down = True  # the store fails at midnight: tomorrow's salt is already here
    clock.now = dt.datetime(2026, 3, 29, 0, 0, 1, tzinfo=dt.UTC)
    assert salts.salt_for(NEXT) == b"shared|2026-03-29"
    assert salts.salt_for(DAY) == b"shared|2026-03-28"  # a request received at 23:59:59
    assert salts.refresh() == [NEXT + dt.timedelta(days=1)]  # logged, retried next round
    assert (salts.fallbacks_used, isinstance(salts, SaltProvider)) == (0, True)


def test_salt_for_never_asks_the_store():
    store = FlakyStore()
    salts, _ = _ahead(store, dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC))
    first = salts.salt_for(DAY)  # nothing fetched yet: this process's own salt
    assert (store.calls, len(first), salts.salt_for(DAY)) == ([], 32, first)
    assert salts.fallbacks_used == 2


def test_a_process_local_salt_is_replaced_once_the_store_answers(caplog):
    store = FlakyStore()
    store.down = True
    salts, _ = _ahead(store, dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC))
    assert salts.refresh() == [DAY, NEXT]
    local = salts.salt_for(DAY)
    assert local != b"shared|2026-03-28" and salts.salt_for(DAY) == local
    assert "no shared salt for 2026-03-28 yet" in caplog.text
    store.down = False
    assert salts.refresh() == []
    assert salts.salt_for(DAY) == b"shared|2026-03-28"  # processes agree again


def test_salts_before_yesterday_are_forgotten():
    store = FlakyStore()
    salts, clock = _ahead(store, dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC))
    salts.refresh()
    clock.now += dt.timedelta(days=2)
    salts.refresh()
    assert salts.days == [NEXT, NEXT + dt.timedelta(days=1), NEXT + dt.timedelta(days=2)]


def test_a_hung_store_does_not_hold_up_the_start():
    import threading
    import time

    release = threading.Event()

    class HungStore:
        def salt_for(self, day):
            release.wait(10)
            return b"late" * 8

    began = time.monotonic()
    salts = SaltsAhead(HungStore(), start_wait_s=0.1)
    try:
        assert time.monotonic() - began < 2
        assert len(salts.salt_for(dt.datetime.now(dt.UTC).date())) == 32  # a local one
    finally:
        release.set()
