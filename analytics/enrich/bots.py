"""Step ``bots``: flag known crawlers, headless browsers and monitoring agents.

Events from server integrations (``mp``, ``api``) are never flagged: their HTTP user
agent is the integration's. Otherwise a user agent is a bot when it is empty, when
ua-parser calls its device ``Spider``, or when crawlerdetect matches it. Bot events are
*not* refused: they go on with ``is_bot=True`` and the metric layers count them as
``bot_events`` and exclude them.
crawlerdetect is slow (≈ 2k checks/s), so its answers are cached per user-agent string.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from crawlerdetect import CrawlerDetect

from analytics.enrich.context import RequestContext
from analytics.enrich.pipeline import Event
from analytics.enrich.user_agent import UaInfo

SERVER_SOURCES = frozenset({"mp", "api"})


def crawler_check(cache_size: int) -> Callable[[str], bool]:
    """crawlerdetect behind an LRU cache keyed by the user-agent string."""
    detector = CrawlerDetect()

    def is_crawler(user_agent: str) -> bool:
        return detector.is_crawler(user_agent)

    return lru_cache(maxsize=cache_size)(is_crawler)


class BotStep:
    def __init__(
        self,
        describe_ua: Callable[[str], UaInfo],
        is_crawler: Callable[[str], bool],
    ) -> None:
        self.describe_ua = describe_ua
        self.is_crawler = is_crawler

    def is_bot(self, user_agent: str) -> bool:
        if not user_agent.strip():
            return True
        return self.describe_ua(user_agent).is_spider or self.is_crawler(user_agent)

    def __call__(self, event: Event, ctx: RequestContext) -> Event:
        # Server-to-server integrations (Measurement Protocol, API) send from their own
        # servers: the HTTP user agent is theirs, not the visitor's, so it says nothing.
        event["is_bot"] = False if ctx.source in SERVER_SOURCES else self.is_bot(ctx.user_agent)
        return event
