"""The default enrichment pipeline of the write service."""

from __future__ import annotations

from analytics.config import Config
from analytics.enrich.bots import BotStep, crawler_check
from analytics.enrich.country import country
from analytics.enrich.event_time import EventTime
from analytics.enrich.finalize import Finalize
from analytics.enrich.pipeline import Pipeline, Step
from analytics.enrich.referrer_spam import ReferrerSpamFilter
from analytics.enrich.salts import SaltProvider
from analytics.enrich.url_parts import url_parts
from analytics.enrich.user_agent import UserAgentStep, cached_describe
from analytics.enrich.visitor_id import VisitorId


def build_pipeline(config: Config, salts: SaltProvider) -> Pipeline:
    """event_time → url_parts → user_agent → bots → referrer_spam → country →
    visitor_id → finalize. Reads the referrer-spam file once, here."""
    describe_ua = cached_describe(config.ua_cache_size)
    return Pipeline([
        Step("event_time", EventTime(config.event_max_lateness_ms)),
        Step("url_parts", url_parts),
        Step("user_agent", UserAgentStep(describe_ua)),
        Step("bots", BotStep(describe_ua, crawler_check(config.bot_cache_size))),
        Step("referrer_spam", ReferrerSpamFilter.from_file(config.referrer_spam_file)),
        Step("country", country),
        Step("visitor_id", VisitorId(salts, config.client_id_hash_key.encode())),
        Step("finalize", Finalize()),
    ])
