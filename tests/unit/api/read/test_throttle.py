"""The throttle's arithmetic: a key closes at its limit and opens again ``window`` after
the failure that closed it (or, when racing attempts went past the limit, after the one
whose expiry brings the count back under it)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.read.throttle import Throttle, Throttled
from tests.unit.api.read.fakes import Clock, MemoryFailures


def test_a_key_opens_when_enough_failures_are_older_than_the_window():
    clock, failures = Clock(), MemoryFailures()
    throttle = Throttle(failures, window_s=900)
    t0 = clock()
    for offset in (0, 100, 150):  # three failures raced past a limit of two
        failures.add("account:a", t0 + timedelta(seconds=offset), 900)
    with pytest.raises(Throttled) as caught:
        throttle.check([("account:a", 2)], t0 + timedelta(seconds=200))
    assert caught.value.retry_after_s == 800  # the second one expires at t0 + 1000
    throttle.check([("account:a", 2)], t0 + timedelta(seconds=1000))
    throttle.check([("account:a", 4)], t0 + timedelta(seconds=200))


def test_the_longest_wait_of_several_keys_is_answered_and_fractions_round_up():
    clock, failures = Clock(), MemoryFailures()
    throttle = Throttle(failures, window_s=60)
    t0 = clock()
    throttle.failed([("account:a", 1), ("client:c", 1)], t0)
    failures.add("client:c", t0 + timedelta(seconds=30), 60)
    with pytest.raises(Throttled) as caught:
        throttle.check([("account:a", 1), ("client:c", 2)], t0 + timedelta(seconds=0.5))
    assert caught.value.retry_after_s == 60  # 59.5 s for both keys, rounded up
    throttle.forget("account:a")
    with pytest.raises(Throttled) as caught:
        throttle.check([("account:a", 1), ("client:c", 1)], t0 + timedelta(seconds=31))
    assert caught.value.retry_after_s == 59
