import pytest

from analytics.enrich.country import country, country_of

from .samples import make_ctx


# Registry countries as iptocc itself reports them (checked when writing these tests).
@pytest.mark.parametrize(
    ("ip", "code"),
    [
        ("8.8.8.8", "US"),
        ("193.0.6.139", "NL"),
        ("133.11.0.1", "JP"),
        ("200.160.2.3", "BR"),
        ("41.0.0.1", "ZA"),
        ("2001:4860:4860::8888", "US"),
        ("2001:12ff::1", "BR"),
        ("::ffff:193.0.6.139", "NL"),
        ("::FFFF:8.8.8.8", "US"),
    ],
)
def test_public_addresses_give_their_registry_country(ip, code):
    assert country_of(ip) == code


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "100.64.0.1", "169.254.1.1",
        "203.0.113.5", "::1", "fe80::1", "fd00::1", "2001:db8::1", "::ffff:10.0.0.1",
        "", "not-an-ip", "8.8.8.8:443",
    ],
)
def test_private_reserved_and_invalid_addresses_give_none(ip):
    assert country_of(ip) is None


def test_step_sets_country_from_the_context_ip():
    assert country({}, make_ctx(ip="8.8.8.8")) == {"country": "US"}
    assert country({}, make_ctx(ip="192.168.0.10")) == {"country": None}
