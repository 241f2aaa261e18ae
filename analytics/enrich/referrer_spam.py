"""Step ``referrer_spam``: refuse events whose referrer is on the spam block list.

The list is a text file (``Config.referrer_spam_file``): one domain per line, ``#`` starts
a comment, blank lines ignored, a leading ``www.``/``*.``/``.`` is dropped. A listed
domain blocks itself and every subdomain of it. The file is read once, when the step is
built.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from analytics.enrich.context import RequestContext
from analytics.enrich.pipeline import Event, Refused


def parse_block_list(lines: Iterable[str]) -> frozenset[str]:
    domains = set()
    for line in lines:
        domain = line.split("#", 1)[0].strip().lower().rstrip(".")
        for prefix in ("*.", ".", "www."):
            if domain.startswith(prefix):
                domain = domain[len(prefix):]
        if domain and " " not in domain:
            domains.add(domain)
    return frozenset(domains)


def load_block_list(path: Path) -> frozenset[str]:
    with open(path, encoding="utf-8") as lines:
        return parse_block_list(lines)


class ReferrerSpamFilter:
    def __init__(self, blocked: Iterable[str]) -> None:
        self.blocked = frozenset(blocked)

    @classmethod
    def from_file(cls, path: Path) -> ReferrerSpamFilter:
        return cls(load_block_list(path))

    def blocked_domain(self, host: str) -> str | None:
        """The listed domain that ``host`` is or lies under, else ``None``."""
        blocked = self.blocked
        if host in blocked:
            return host
        dot = host.find(".")
        while dot != -1:
            parent = host[dot + 1:]
            if parent in blocked:
                return parent
            dot = host.find(".", dot + 1)
        return None

    def __call__(self, event: Event, ctx: RequestContext) -> Event:
        host = event.get("referrer_host")
        if host and self.blocked and self.blocked_domain(host) is not None:
            raise Refused("referrer_spam", host)
        return event
