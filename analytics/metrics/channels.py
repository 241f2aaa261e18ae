"""GA4's default channel grouping, as Spark Column expressions (docs/metrics.md, Sources
and channels).

:func:`channel_column` applies GA4's rules in GA4's order, first match wins (matching is
case-insensitive; ``medium`` null counts as ``(not set)``):

====================  ==========================================================================
Direct                source ``(direct)`` and medium ``(none)``/``(not set)``
Cross-network         campaign contains ``cross-network``
Paid Shopping         (shopping source or shopping campaign [#]_) and paid medium [#]_
Paid Search           search source (incl. AI assistants, see below) and paid medium
Paid Social           social source and paid medium
Paid Video            video source and paid medium
Display               medium display, banner, expandable, interstitial or cpm
Paid Other            paid medium
Organic Shopping      shopping source or shopping campaign
Organic Social        social source, or medium social, social-network, social-media, sm,
                      "social network", "social media"
Organic Video         video source, or medium contains ``video``
Organic Search        search source, or medium ``organic``
Referral              medium referral, app or link
Email                 source or medium email, e-mail, e_mail, "e mail"
Affiliates            medium affiliate
Audio                 medium audio
SMS                   source or medium sms
Mobile Push Notif.    medium ends with ``push`` or contains ``mobile``/``notification``, or
                      source ``firebase``
Unassigned            anything else
====================  ==========================================================================

.. [#] campaign matches ``(^|[^a-df-z])shop|shopping``
.. [#] medium matches ``^(.*cp.*|ppc|retargeting|paid.*)$``

Which sources are search, social, video, shopping (and webmail) comes from
``analytics/data/channel_sources.json`` (see its ``about``), looked up by
:func:`source_category_column`. Deliberate differences from GA4: AI assistants
(chatgpt.com, perplexity.ai, gemini.google.com, ...; the file's ``ai_assistant`` list) count
as search sources (GA4 reports them as Referral today); webmail hosts (the ``email`` list)
get medium ``email`` from :func:`medium_column`, so a click in Gmail's web client is Email,
not Referral.

:func:`medium_column` gives a session's medium as GA4 sets it: ``utm_medium`` when tagged;
for untagged traffic ``organic`` (from a search engine), ``email`` (from webmail),
``referral`` (any other referrer) or ``(none)`` (no referrer: direct); null when
``utm_source`` is tagged without a medium (GA4's ``(not set)``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import Column

SOURCES_FILE = Path(__file__).resolve().parent.parent / "data" / "channel_sources.json"
CATEGORIES = ("search", "ai_assistant", "social", "video", "shopping", "email", "other")

DIRECT, CROSS_NETWORK = "Direct", "Cross-network"
PAID_SHOPPING, PAID_SEARCH, PAID_SOCIAL, PAID_VIDEO = (
    "Paid Shopping", "Paid Search", "Paid Social", "Paid Video")
DISPLAY, PAID_OTHER = "Display", "Paid Other"
ORGANIC_SHOPPING, ORGANIC_SOCIAL, ORGANIC_VIDEO, ORGANIC_SEARCH = (
    "Organic Shopping", "Organic Social", "Organic Video", "Organic Search")
REFERRAL, EMAIL, AFFILIATES, AUDIO, SMS = "Referral", "Email", "Affiliates", "Audio", "SMS"
MOBILE_PUSH, UNASSIGNED = "Mobile Push Notifications", "Unassigned"
CHANNELS = (DIRECT, CROSS_NETWORK, PAID_SHOPPING, PAID_SEARCH, PAID_SOCIAL, PAID_VIDEO, DISPLAY,
            PAID_OTHER, ORGANIC_SHOPPING, ORGANIC_SOCIAL, ORGANIC_VIDEO, ORGANIC_SEARCH,
            REFERRAL, EMAIL, AFFILIATES, AUDIO, SMS, MOBILE_PUSH, UNASSIGNED)

PAID_MEDIUM = r"^(.*cp.*|ppc|retargeting|paid.*)$"
SHOPPING_CAMPAIGN = r"(^|[^a-df-z])shop|shopping"
DISPLAY_MEDIA = ("display", "banner", "expandable", "interstitial", "cpm")
SOCIAL_MEDIA = ("social", "social-network", "social-media", "sm", "social network",
                "social media")
EMAIL_TAGS = ("email", "e-mail", "e_mail", "e mail")
NO_MEDIUM = ("(none)", "(not set)")
_SEARCH_LIKE = ("search", "ai_assistant")
_COUNTRY_SECOND_LEVELS = ("co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go",
                          "gob")


@cache
def source_lists() -> dict[str, dict[str, list[str]]]:
    """The categories of ``channel_sources.json``: ``{category: {"names": [...],
    "domains": [...]}}``."""
    data = json.loads(SOURCES_FILE.read_text())
    return {category: data[category] for category in CATEGORIES}


def _literal_map(kind: str) -> Column:
    """``{entry: category}`` of the file's ``kind`` ("names" or "domains") as a map<string,
    string> constant (one JSON literal: Spark plans it much faster than a map of literals)."""
    entries = {entry: category for category, lists in source_lists().items()
               for entry in lists[kind]}
    return F.from_json(F.lit(json.dumps(entries, sort_keys=True)), "map<string,string>")


def normalized_host(source: Column) -> Column:
    """Lower-case, trimmed, without a leading ``www.`` or a trailing dot."""
    return F.regexp_replace(F.lower(F.trim(source)), r"^www\.|\.$", "")


def _site_name(labels: Column) -> Column:
    """``l.facebook.com`` -> facebook, ``www.google.co.uk`` -> google, ``google`` -> google."""
    count = F.size(labels)
    last, second = F.try_element_at(labels, F.lit(-1)), F.try_element_at(labels, F.lit(-2))
    country_suffix = (count >= 3) & (F.length(last) == 2) & second.isin(
        *_COUNTRY_SECOND_LEVELS)
    return (F.when(count == 1, last)
             .when(country_suffix, F.try_element_at(labels, F.lit(-3)))
             .otherwise(second))


def source_category_column(source: Column | str) -> Column:
    """The source's category in ``channel_sources.json`` (``search``, ``ai_assistant``,
    ``social``, ``video``, ``shopping``, ``email``, ``other``), or null: the longest listed
    domain that the host is or lies under, else its site name (see the file's ``about``)."""
    host = normalized_host(F.col(source) if isinstance(source, str) else source)
    labels = F.split(host, r"\.")
    count = F.size(labels)
    suffixes = F.transform(F.sequence(F.lit(1), count),
                           lambda i: F.array_join(F.slice(labels, i, count - i + 1), "."))
    domains, names = _literal_map("domains"), _literal_map("names")
    by_domain = F.get(F.filter(F.transform(suffixes, lambda s: F.try_element_at(domains, s)),
                               lambda c: c.isNotNull()), 0)
    category = F.coalesce(by_domain, F.try_element_at(names, _site_name(labels)))
    return F.when(host.isNotNull() & (host != F.lit("")), category)


def _let(value: Column, body: Callable[[Column], Column]) -> Column:
    """``body(value)`` with ``value`` computed once. The rules use each input many times;
    inlining a large input (the category lookup, or a caller's medium expression) into
    every use makes Spark's planning slow."""
    return F.get(F.transform(F.array(value), body), 0)


def _present(name: str) -> Column:
    column = F.col(name)
    return F.when(F.trim(column) != F.lit(""), column)


def medium_column() -> Column:
    """A session's medium from its first event's ``utm_source``, ``utm_medium`` and
    ``referrer_host`` columns, as GA4 sets it (see the module docstring)."""
    def by_category(category: Column) -> Column:
        return (F.when(category.isin(*_SEARCH_LIKE), F.lit("organic"))
                 .when(category == F.lit("email"), F.lit("email"))
                 .otherwise(F.lit("referral")))

    referrer = _present("referrer_host")
    untagged = F.when(referrer.isNotNull(),
                      _let(F.coalesce(source_category_column(referrer), F.lit("")),
                           by_category)).otherwise(F.lit("(none)"))
    return F.coalesce(_present("utm_medium"),
                      F.when(_present("utm_source").isNull(), untagged))


def channel_column(source: Column | str, medium: Column | str,
                   campaign: Column | str) -> Column:
    """The GA4 default channel (one of :data:`CHANNELS`) of a source, medium and campaign
    (column names or Columns); never null."""
    def text(c: Column | str) -> Column:
        column = F.col(c) if isinstance(c, str) else c
        return F.coalesce(F.lower(F.trim(column.cast("string"))), F.lit(""))

    category = F.coalesce(source_category_column(text(source)), F.lit(""))
    inputs = F.struct(text(source).alias("s"), text(medium).alias("m"),
                      text(campaign).alias("c"), category.alias("k"))
    return _let(inputs, lambda b: _rules(b["s"], b["m"], b["c"], b["k"]))


def _rules(src: Column, med: Column, camp: Column, category: Column) -> Column:
    search = category.isin(*_SEARCH_LIKE)
    social, video = category == F.lit("social"), category == F.lit("video")
    shopping = (category == F.lit("shopping")) | camp.rlike(SHOPPING_CAMPAIGN)
    paid = med.rlike(PAID_MEDIUM)
    rules = [
        ((src == F.lit("(direct)")) & med.isin("", *NO_MEDIUM), DIRECT),
        (camp.contains("cross-network"), CROSS_NETWORK),
        (shopping & paid, PAID_SHOPPING),
        (search & paid, PAID_SEARCH),
        (social & paid, PAID_SOCIAL),
        (video & paid, PAID_VIDEO),
        (med.isin(*DISPLAY_MEDIA), DISPLAY),
        (paid, PAID_OTHER),
        (shopping, ORGANIC_SHOPPING),
        (social | med.isin(*SOCIAL_MEDIA), ORGANIC_SOCIAL),
        (video | med.contains("video"), ORGANIC_VIDEO),
        (search | (med == F.lit("organic")), ORGANIC_SEARCH),
        (med.isin("referral", "app", "link"), REFERRAL),
        (src.isin(*EMAIL_TAGS) | med.isin(*EMAIL_TAGS), EMAIL),
        (med == F.lit("affiliate"), AFFILIATES),
        (med == F.lit("audio"), AUDIO),
        ((src == F.lit("sms")) | (med == F.lit("sms")), SMS),
        (med.endswith("push") | med.contains("mobile") | med.contains("notification")
         | (src == F.lit("firebase")), MOBILE_PUSH),
    ]
    channel = F.when(rules[0][0], F.lit(rules[0][1]))
    for condition, name in rules[1:]:
        channel = channel.when(condition, F.lit(name))
    return channel.otherwise(F.lit(UNASSIGNED))
