"""The token cache of a read worker (api.read.tokens.CachedTokens, issue 16): junk tokens,
however many, never push a good token out (they used to clear the whole cache at 10,001
entries); every entry lasts ``ttl_s`` of the cache's clock. Store reads are counted on an
in-memory ``api_tokens`` table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.read.tokens import CachedTokens, TokenStore
from tests.unit.api.read.fakes import MemoryTokenTable

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Seconds:
    def __init__(self):
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def table() -> MemoryTokenTable:
    return MemoryTokenTable()


@pytest.fixture
def store(table) -> TokenStore:
    return TokenStore(table)


def test_ten_thousand_and_one_junk_tokens_leave_a_good_one_cached(table, store):
    made, good = store.create(["shop.example"], "tableau", now=NOW)
    cache = CachedTokens(store, ttl_s=10, clock=Seconds())
    assert cache.verify(good).token_id == made.token_id
    assert table.lookups == 1
    for n in range(10_001):
        assert cache.verify(f"sl_junk{n:05d}_secret") is None
    assert table.lookups == 10_002
    found = cache.verify(good)
    assert (found.token_id, found.sites) == (made.token_id, frozenset({"shop.example"}))
    assert table.lookups == 10_002  # answered from the cache


def test_junk_is_remembered_only_up_to_its_own_bound(table, store):
    cache = CachedTokens(store, ttl_s=10, max_unknown=1_000, clock=Seconds())
    for n in range(10_001):
        cache.verify(f"sl_junk{n:05d}_secret")
    assert table.lookups == 10_001
    assert cache.verify("sl_junk10000_secret") is None  # among the newest 1,000
    assert cache.verify("sl_junk09001_secret") is None
    assert table.lookups == 10_001
    assert cache.verify("sl_junk09000_secret") is None  # the oldest went first
    assert table.lookups == 10_002


def test_strings_not_shaped_like_tokens_cost_no_read(table, store):
    cache = CachedTokens(store, clock=Seconds())
    assert [cache.verify(raw) for raw in ("", "Bearer", "sl_", "sl_id", "x_y_z")] == [None] * 5
    assert table.lookups == 0


def test_good_tokens_beyond_the_bound_drop_the_least_recently_used(table, store):
    raws = [store.create(["shop.example"], str(n), now=NOW)[1] for n in range(3)]
    cache = CachedTokens(store, max_known=2, clock=Seconds())
    cache.verify(raws[0])
    cache.verify(raws[1])
    cache.verify(raws[0])  # now the most recently used
    cache.verify(raws[2])  # pushes raws[1] out
    assert table.lookups == 3
    cache.verify(raws[0])
    cache.verify(raws[2])
    assert table.lookups == 3
    cache.verify(raws[1])
    assert table.lookups == 4


def test_entries_last_ttl_s_so_a_revocation_takes_effect_then(table, store):
    made, good = store.create(["shop.example"], "", now=NOW)
    seconds = Seconds()
    cache = CachedTokens(store, ttl_s=10, clock=seconds)
    assert cache.verify(good) is not None
    assert cache.verify("sl_nope_secret") is None
    store.revoke(made.token_id)
    seconds.at += 9.999
    assert cache.verify(good) is not None
    assert table.lookups == 3  # two verifies and revoke's read-back
    seconds.at += 0.001
    assert cache.verify(good) is None
    assert cache.verify("sl_nope_secret") is None
    assert table.lookups == 5
