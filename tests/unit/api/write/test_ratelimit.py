from api.write.ratelimit import RateLimiter


def test_burst_then_refill_at_the_rate():
    limiter = RateLimiter(rate_per_s=2.0, burst=3.0)
    assert [limiter.allow("a", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", now=0.0)  # another client has its own bucket
    assert not limiter.allow("a", now=0.4)  # 0.8 token
    assert limiter.allow("a", now=0.5)  # 1 token after 0.5 s at 2/s
    assert limiter.retry_after_s() == 1


def test_zero_rate_switches_it_off_and_old_clients_are_forgotten():
    assert all(RateLimiter(0, 0).allow("a") for _ in range(1000))
    limiter = RateLimiter(rate_per_s=1.0, burst=1.0, max_clients=2)
    for client in ("a", "b", "c"):
        limiter.allow(client, now=0.0)
    assert list(limiter._buckets) == ["b", "c"]
