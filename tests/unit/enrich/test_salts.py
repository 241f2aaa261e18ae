import datetime as dt

import pytest

from analytics.enrich import InMemoryRotatingSalts, StaticSaltProvider
from analytics.enrich.salts import SaltProvider

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
