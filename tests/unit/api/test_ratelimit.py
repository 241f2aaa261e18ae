"""The token buckets both services limit requests with: how long a refused key waits,
peeking without taking, and a clock that goes back."""

from __future__ import annotations

from api.ratelimit import TokenBuckets, retry_after


def test_take_answers_the_wait_until_enough_tokens():
    buckets = TokenBuckets(rate_per_s=2.0, burst=3.0)
    assert [buckets.take("a", now=10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", now=10.0) == 0.5  # one token takes 0.5 s at 2/s
    assert buckets.take("a", now=10.25) == 0.25  # refused: nothing taken
    assert buckets.take("a", now=10.5) == 0.0
    assert buckets.take("a", cost=2.0, now=11.0) == 0.5  # 1 token there, 2 needed
    assert buckets.take("b", now=10.5) == 0.0  # another key, its own full bucket


def test_wait_s_peeks_without_taking():
    buckets = TokenBuckets(rate_per_s=1.0, burst=1.0)
    assert buckets.wait_s("a", now=0.0) == 0.0  # unknown: full
    assert list(buckets._buckets) == []  # and not remembered
    assert buckets.take("a", now=0.0) == 0.0
    assert [buckets.wait_s("a", now=0.0), buckets.wait_s("a", now=0.25)] == [1.0, 0.75]
    assert buckets.take("a", now=1.0) == 0.0


def test_a_clock_that_goes_back_refills_nothing():
    buckets = TokenBuckets(rate_per_s=1.0, burst=1.0)
    assert buckets.take("a", now=100.0) == 0.0
    assert buckets.take("a", now=40.0) == 1.0  # not -60 s worth of tokens
    assert buckets.take("a", now=41.0) == 0.0


def test_off_and_retry_after():
    assert TokenBuckets(0.0, 0.0).take("a", now=0.0) == 0.0
    assert TokenBuckets(0.0, 0.0).wait_s("a", now=0.0) == 0.0
    assert [retry_after(w) for w in (0.01, 1.0, 1.2, 30.0)] == [1, 1, 2, 30]
    assert TokenBuckets(0.25, 1.0).retry_after_s() == 4
