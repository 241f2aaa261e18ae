import pytest

from analytics.enrich import Refused
from analytics.enrich.url_parts import referrer_host_of, url_parts

from .samples import make_ctx


def parts(url, **fields):
    return url_parts({"site_id": "example.com", "url": url, **fields}, make_ctx())


def test_host_is_lowercase_without_port_and_path_drops_query_and_fragment():
    out = parts("https://Shop.Example.COM:8443/Caf%C3%A9/Page/?q=1&utm_x=2#top")
    assert out["host"] == "shop.example.com"
    assert out["path"] == "/Caf%C3%A9/Page/"


def test_empty_path_is_slash_and_fragment_is_stripped():
    assert parts("https://example.com")["path"] == "/"
    assert parts("https://example.com#pricing")["path"] == "/"
    assert parts("https://example.com/docs#install")["path"] == "/docs"


def test_utm_tags_come_from_the_url_query():
    out = parts(
        "https://example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=spring+sale"
        "&utm_term=shoes&utm_content=hero%20link&other=1"
    )
    assert [out[f"utm_{k}"] for k in ("source", "medium", "campaign", "term", "content")] == [
        "newsletter", "email", "spring sale", "shoes", "hero link",
    ]


def test_payload_utm_tags_take_precedence_over_the_url():
    out = parts(
        "https://example.com/?utm_source=url-source&utm_medium=url-medium",
        utm_source="payload-source",
        utm_medium="",
    )
    assert out["utm_source"] == "payload-source"
    assert out["utm_medium"] == "url-medium"  # an empty payload value counts as not given


def test_first_utm_occurrence_wins_and_empty_values_are_ignored():
    out = parts("https://example.com/?utm_source=&utm_source=a&utm_source=b")
    assert out["utm_source"] == "a"


def test_no_utm_in_url_leaves_the_fields_unset():
    out = parts("https://example.com/?ref=x")
    assert [out.get(f) for f in ("utm_source", "utm_medium", "utm_campaign")] == [None] * 3


def test_referrer_host_is_lowercase_without_www():
    out = parts("https://example.com/", referrer="https://WWW.Google.COM/search?q=x")
    assert out["referrer"] == "https://WWW.Google.COM/search?q=x"
    assert out["referrer_host"] == "google.com"


def test_own_host_referrer_is_internal_navigation():
    assert parts("https://example.com/b", referrer="https://example.com/a")["referrer_host"] is None
    assert parts(
        "https://www.example.com/b", referrer="http://example.com:8080/a"
    )["referrer_host"] is None
    assert parts(
        "https://example.com/b", referrer="https://www.example.com/a"
    )["referrer_host"] is None


def test_a_subdomain_of_the_page_host_is_a_referrer():
    out = parts("https://example.com/", referrer="https://blog.example.com/post")
    assert out["referrer_host"] == "blog.example.com"


def test_missing_or_empty_referrer_gives_none():
    assert parts("https://example.com/")["referrer_host"] is None
    out = parts("https://example.com/", referrer="")
    assert (out["referrer"], out["referrer_host"]) == (None, None)


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("news.ycombinator.com/item?id=1", "news.ycombinator.com"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("https://www.bing.com", "bing.com"),
        ("http://[::1", None),
        ("about:blank", None),
        ("mailto:someone@example.com", None),
        ("see my site", None),
    ],
)
def test_referrer_host_of(referrer, host):
    assert referrer_host_of(referrer) == host


def test_unparsable_page_url_is_refused():
    with pytest.raises(Refused) as refused:
        parts("http://[::1/page")
    assert refused.value.reason == "invalid_url"
    with pytest.raises(Refused, match="invalid_url: no host"):
        parts("https:///path-only")
