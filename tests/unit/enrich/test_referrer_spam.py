import pytest

from analytics.config import Config
from analytics.enrich import Refused, StaticSaltProvider, build_pipeline
from analytics.enrich.referrer_spam import ReferrerSpamFilter, load_block_list, parse_block_list

from .samples import make_ctx

SPAM = ReferrerSpamFilter({"semalt.com", "darodar.com", "spam.example.org"})


def test_block_list_file_format():
    lines = [
        "# comment line\n",
        "\n",
        "Semalt.COM   # trailing comment\n",
        "www.darodar.com\n",
        "*.buttons-for-website.com\n",
        ".spam.example.org.\n",
        "not a domain\n",
    ]
    assert parse_block_list(lines) == frozenset(
        {"semalt.com", "darodar.com", "buttons-for-website.com", "spam.example.org"}
    )


def test_default_list_ships_well_known_spam_domains():
    blocked = load_block_list(Config().referrer_spam_file)
    assert {"semalt.com", "buttons-for-website.com", "darodar.com"} <= blocked
    assert all(domain == domain.strip().lower() and "#" not in domain for domain in blocked)


@pytest.mark.parametrize(
    ("host", "listed"),
    [
        ("semalt.com", "semalt.com"),
        ("seo.semalt.com", "semalt.com"),
        ("a.b.c.darodar.com", "darodar.com"),
        ("x.spam.example.org", "spam.example.org"),
        ("example.org", None),
        ("notsemalt.com", None),
        ("semalt.com.example.net", None),
        ("google.com", None),
    ],
)
def test_a_listed_domain_blocks_itself_and_its_subdomains(host, listed):
    assert SPAM.blocked_domain(host) == listed


def test_spam_referrer_is_refused_with_its_host():
    with pytest.raises(Refused) as refused:
        SPAM({"referrer_host": "seo.semalt.com"}, make_ctx())
    assert (refused.value.reason, refused.value.detail) == ("referrer_spam", "seo.semalt.com")


def test_other_or_no_referrer_passes():
    event = {"referrer_host": "google.com"}
    assert SPAM(event, make_ctx()) is event
    assert SPAM({"referrer_host": None}, make_ctx()) == {"referrer_host": None}
    assert ReferrerSpamFilter([])({"referrer_host": "semalt.com"}, make_ctx()) == {
        "referrer_host": "semalt.com"
    }


def test_pipeline_reads_the_list_from_the_configured_file(tmp_path):
    block_list = tmp_path / "spam.txt"
    block_list.write_text("# ours\nbad-referrer.test\n", encoding="utf-8")
    pipeline = build_pipeline(Config(referrer_spam_file=block_list), StaticSaltProvider())
    event = {
        "site_id": "example.com",
        "kind": "pageview",
        "url": "https://example.com/",
        "referrer": "https://WWW.Bad-Referrer.test/x",
    }
    with pytest.raises(Refused) as refused:
        pipeline.run(event, make_ctx())
    assert (refused.value.reason, refused.value.detail, refused.value.step) == (
        "referrer_spam", "bad-referrer.test", "referrer_spam",
    )
    assert pipeline.run({**event, "referrer": "https://semalt.com/"}, make_ctx())["referrer_host"] \
        == "semalt.com"
