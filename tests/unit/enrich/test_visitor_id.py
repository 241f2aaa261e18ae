import datetime as dt
from hashlib import blake2b

import pytest

from analytics.enrich import SiteSettings, StaticSaltProvider
from analytics.enrich.visitor_id import VisitorId, client_id_hash, cookieless_id, utc_day

from .samples import (
    CHROME_WINDOWS,
    OPT_IN_SITE,
    PUBLIC_IP,
    SAFARI_IPHONE,
    SITE,
    make_ctx,
)

SALTS = StaticSaltProvider(b"seed")
DAY_START = 1_774_656_000_000  # 2026-03-28T00:00:00Z
DAY_END = DAY_START + 86_400_000 - 1  # 2026-03-28T23:59:59.999Z
OTHER_SITE = SiteSettings(site_id="other.example", domain="other.example")


def visitor(site=SITE, source="tracker", client_id=None, key=b"key", **ctx):
    event = {"site_id": site.site_id}
    if client_id is not None:
        event["client_id"] = client_id
    out = VisitorId(SALTS, key)(event, make_ctx(site=site, source=source, **ctx))
    return out["visitor_id"], out["id_source"]


def test_utc_day_of_epoch_ms():
    assert utc_day(0) == dt.date(1970, 1, 1)
    assert utc_day(DAY_START) == utc_day(DAY_END) == dt.date(2026, 3, 28)
    assert utc_day(DAY_END + 1) == dt.date(2026, 3, 29)


def test_cookieless_id_is_the_salted_blake2b_of_site_ip_and_user_agent():
    salt = SALTS.salt_for(dt.date(2026, 3, 28))
    expected = blake2b(
        b"cookieless\x00example.com\x00" + PUBLIC_IP.encode() + b"\x00" + CHROME_WINDOWS.encode(),
        key=salt,
        digest_size=16,
    ).hexdigest()
    assert visitor(received_at_ms=DAY_START) == (expected, "cookieless")
    assert expected == cookieless_id(salt, "example.com", PUBLIC_IP, CHROME_WINDOWS)
    assert len(expected) == 32


def test_same_inputs_on_the_same_utc_day_are_one_visitor():
    assert visitor(received_at_ms=DAY_START) == visitor(received_at_ms=DAY_END)


def test_the_next_utc_day_is_another_visitor():
    assert visitor(received_at_ms=DAY_END)[0] != visitor(received_at_ms=DAY_END + 1)[0]


def test_different_site_ip_or_user_agent_is_another_visitor():
    base = visitor(received_at_ms=DAY_START)[0]
    assert visitor(site=OTHER_SITE, received_at_ms=DAY_START)[0] != base
    assert visitor(ip="8.8.8.8", received_at_ms=DAY_START)[0] != base
    assert visitor(user_agent=SAFARI_IPHONE, received_at_ms=DAY_START)[0] != base


def test_opted_in_site_with_client_id_uses_the_hashed_client_id_across_days():
    expected = blake2b(b"client\x00shop.example\x00c-123", key=b"key", digest_size=16).hexdigest()
    assert visitor(site=OPT_IN_SITE, client_id="c-123", received_at_ms=DAY_START) == (
        expected, "client",
    )
    assert visitor(site=OPT_IN_SITE, client_id="c-123", received_at_ms=DAY_END + 1) == (
        expected, "client",
    )
    # the same client on another device or network is still the same visitor
    assert visitor(site=OPT_IN_SITE, client_id="c-123", ip="8.8.8.8")[0] == expected


def test_measurement_protocol_client_id_is_used_without_opt_in():
    assert visitor(source="mp", client_id="555.777") == (
        client_id_hash(b"key", "example.com", "555.777"), "client",
    )


def test_client_id_is_ignored_unless_opted_in_or_mp():
    assert visitor(client_id="c-123", received_at_ms=DAY_START) == visitor(
        received_at_ms=DAY_START
    )
    assert visitor(site=OPT_IN_SITE)[1] == "cookieless"
    assert visitor(site=OPT_IN_SITE, client_id="")[1] == "cookieless"


def test_client_id_hash_depends_on_site_and_key_and_hides_the_raw_id():
    hashed = client_id_hash(b"key", "example.com", "c-123")
    assert hashed != client_id_hash(b"key", "other.example", "c-123")
    assert hashed != client_id_hash(b"other-key", "example.com", "c-123")
    assert "c-123" not in hashed


def test_client_id_key_must_fit_blake2b():
    with pytest.raises(ValueError, match="at most 64 bytes"):
        VisitorId(SALTS, b"k" * 65)
