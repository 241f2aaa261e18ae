"""GA4 default channel grouping (analytics.metrics.channels): one table per function, each
row's expectation taken from the rule it exercises (see the module docstring's table)."""

from __future__ import annotations

import json

from pyspark.sql import functions as F

from analytics.metrics.channels import (
    CATEGORIES,
    CHANNELS,
    SOURCES_FILE,
    channel_column,
    medium_column,
    source_category_column,
)

# (source, medium, campaign) -> channel
CHANNEL_CASES = [
    ("(direct)", "(none)", None, "Direct"),
    ("(direct)", None, None, "Direct"),
    ("(direct)", "(not set)", None, "Direct"),
    ("(direct)", "email", None, "Email"),                    # a medium: not Direct
    ("google", "cpc", "cross-network-q3", "Cross-network"),  # campaign before all else
    ("amazon", "cpc", None, "Paid Shopping"),
    ("example.com", "cpc", "summer-shop", "Paid Shopping"),  # "-shop" campaign
    ("google", "cpc", None, "Paid Search"),
    ("Google", "CPC", None, "Paid Search"),                  # case-insensitive
    ("bing", "ppc", None, "Paid Search"),
    ("google", "cpm", None, "Paid Search"),                  # paid search before Display
    ("chatgpt.com", "paid", None, "Paid Search"),            # AI assistants are search
    ("facebook", "paid_social", None, "Paid Social"),
    ("youtube", "cpv", None, "Paid Video"),
    ("adnet", "cpm", None, "Display"),
    ("partner", "banner", None, "Display"),
    ("adnet", "retargeting", None, "Paid Other"),
    ("ebay.de", "referral", None, "Organic Shopping"),
    ("example.com", "referral", "workshop", "Referral"),     # "kshop" is not a shop
    ("l.facebook.com", "referral", None, "Organic Social"),
    ("t.co", "referral", None, "Organic Social"),
    ("news.ycombinator.com", "referral", None, "Organic Social"),
    ("newsletter", "social", None, "Organic Social"),
    ("m.youtube.com", "referral", None, "Organic Video"),
    ("example.com", "video", None, "Organic Video"),
    ("www.google.de", "organic", None, "Organic Search"),
    ("google.com", "referral", None, "Organic Search"),      # search list before Referral
    ("duckduckgo.com", None, None, "Organic Search"),
    ("perplexity", None, None, "Organic Search"),
    ("example.com", "referral", None, "Referral"),
    ("example.com", "app", None, "Referral"),
    ("docs.google.com", "referral", None, "Referral"),       # not Google search
    ("mailchimp", "email", None, "Email"),
    ("e-mail", None, None, "Email"),
    ("mail.google.com", "email", None, "Email"),
    ("partner.example", "affiliate", None, "Affiliates"),
    ("spotify", "audio", None, "Audio"),
    ("sms", None, None, "SMS"),
    ("firebase", None, None, "Mobile Push Notifications"),
    ("app", "web-push", None, "Mobile Push Notifications"),
    ("app", "notification", None, "Mobile Push Notifications"),
    ("newsletter", None, None, "Unassigned"),
    ("newsletter", "print", None, "Unassigned"),
    (None, None, None, "Unassigned"),
]

# host or utm_source -> category
CATEGORY_CASES = [
    ("www.google.de", "search"), ("google.com", "search"), ("google", "search"),
    ("www.google.co.uk", "search"), ("search.yahoo.co.jp", "search"),
    ("yandex.com.tr", "search"), ("ecosia.org", "search"), ("baidu.com", "search"),
    ("search.brave.com", "search"), ("com.google.android.googlequicksearchbox", "search"),
    ("l.facebook.com", "social"), ("Facebook", "social"), ("t.co", "social"),
    ("x.com", "social"), ("lnkd.in", "social"), ("old.reddit.com", "social"),
    ("news.ycombinator.com", "social"),
    ("m.youtube.com", "video"), ("youtu.be", "video"), ("vimeo.com", "video"),
    ("amazon.co.uk", "shopping"), ("mail.google.com", "email"),
    ("com.google.android.gm", "email"), ("chatgpt.com", "ai_assistant"),
    ("gemini.google.com", "ai_assistant"), ("perplexity.ai", "ai_assistant"),
    ("docs.google.com", "other"),
    ("example.com", None), ("ycombinator.com", None), ("google.example.com", None),
    ("brave.com", None), ("", None), (None, None),
]

# (utm_source, utm_medium, referrer_host) -> medium
MEDIUM_CASES = [
    (None, None, None, "(none)"),
    (" ", "", None, "(none)"),                 # blank tags are absent
    (None, None, "google.de", "organic"),
    (None, None, "chatgpt.com", "organic"),
    (None, None, "mail.google.com", "email"),
    (None, None, "example.com", "referral"),
    (None, None, "l.facebook.com", "referral"),
    ("newsletter", None, "google.de", None),   # tagged without medium: (not set)
    (None, "cpc", "google.de", "cpc"),
    ("google", "CPC", None, "CPC"),            # as tagged
]


def test_channel_rules(spark):
    df = spark.createDataFrame(CHANNEL_CASES, "s string, m string, c string, want string")
    got = [tuple(r) for r in df.select(
        "s", "m", "c", channel_column("s", "m", "c").alias("channel")).collect()]
    assert got == [case[:3] + (case[3],) for case in CHANNEL_CASES]
    assert {case[3] for case in CHANNEL_CASES} == set(CHANNELS)  # every rule is exercised


def test_source_categories(spark):
    df = spark.createDataFrame(CATEGORY_CASES, "host string, want string")
    got = [tuple(r) for r in df.select("host", source_category_column("host")).collect()]
    assert got == CATEGORY_CASES


def test_session_medium(spark):
    df = spark.createDataFrame(
        MEDIUM_CASES, "utm_source string, utm_medium string, referrer_host string, want string")
    got = [tuple(r) for r in df.select(
        "utm_source", "utm_medium", "referrer_host", medium_column()).collect()]
    assert got == MEDIUM_CASES


def test_channel_column_accepts_columns(spark):
    df = spark.createDataFrame([("google", "cpc")], "s string, m string")
    got = df.select(channel_column(F.col("s"), F.upper("m"), F.lit(None))).first()[0]
    assert got == "Paid Search"


def test_source_lists_file_is_consistent():
    data = json.loads(SOURCES_FILE.read_text())
    assert set(data) == {"about", *CATEGORIES}
    seen: dict[tuple[str, str], str] = {}
    for category in CATEGORIES:
        assert set(data[category]) == {"names", "domains"}
        for kind in ("names", "domains"):
            for entry in data[category][kind]:
                assert entry == entry.strip().lower() and not entry.startswith("www.")
                assert ("." in entry) == (kind == "domains"), entry
                assert (kind, entry) not in seen, f"{entry} in {seen.get((kind, entry))}"
                seen[kind, entry] = category
    # No listed domain lies under a domain of another category, so which one wins never
    # depends on the order of the lookup.
    domains = [(e, c) for (k, e), c in seen.items() if k == "domains"]
    for entry, category in domains:
        for other, other_category in domains:
            if entry.endswith("." + other):
                assert category == other_category, (entry, other)
