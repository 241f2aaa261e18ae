"""Rate limit of the read service (Falcon middleware): a token bucket
(:class:`api.ratelimit.TokenBuckets`, in each worker process as the write service's) per
API token, browser session, or shared link and viewer's address (a public link has many
viewers), and per client address (an IPv6 client by its /64) for a request without one.
Over it: 429 ``rate_limited`` with ``Retry-After``.

It comes after :class:`api.read.auth.AuthMiddleware` in the app's middleware, so it sees
the principal the authentication put on ``req.context``. A request whose credentials are
refused never gets that far: it is charged afterwards to a bucket of refused requests of
its client address, and once that bucket is empty its refusals are answered 429 instead,
so guessing tokens or links is slowed down too. Valid credentials from the same address
are never refused for someone else's guesses (behind a proxy that is every client).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import falcon

from analytics.config import Config
from api.ratelimit import TokenBuckets, client_key, retry_after
from api.read import auth


def principal_key(principal) -> str | None:
    """The bucket of an authenticated request: its token, session or shared link."""
    kind = getattr(principal, "kind", None)
    if kind == "token":
        return f"token:{principal.token.token_id}"
    if kind == "user":
        return f"session:{principal.session.session_id}"
    if kind == "share":
        return f"share:{principal.link.link_id}"
    return None


class ReadRateLimit:
    def __init__(self, config: Config, clock: Callable[[], datetime] = auth.now):
        self.buckets = TokenBuckets(config.read_rate_limit_per_s, config.read_rate_burst)
        self.on = config.read_rate_limit_per_s > 0 and config.read_rate_burst > 0
        self.client = auth.ClientInfo(config.read_trust_proxy_headers)
        self.clock = clock

    def _now(self) -> float:
        return self.clock().timestamp()

    def _address(self, req) -> str:
        return client_key(self.client.address(req) or "")

    def process_request(self, req, resp):
        req.context.rate_limit_key = None

    def process_resource(self, req, resp, resource, params):
        if not self.on:
            return
        principal = getattr(req.context, "principal", None)
        key = principal_key(principal)
        if key is None:
            key = f"client:{self._address(req)}"
        elif key.startswith("share:"):  # a public link: each viewer's address its own bucket
            key = f"{key}:{self._address(req)}"
        req.context.rate_limit_key = key
        self._refuse(self.buckets.take(key, now=self._now()))

    def process_response(self, req, resp, resource, req_succeeded):
        """A routed request that was not charged was refused before this middleware's
        turn (by the authentication): charge it to its address's refused bucket; when that
        is empty, the refusal becomes a 429."""
        if (self.on and resource is not None and req.context.get("rate_limit_key") is None
                and falcon.code_to_http_status(resp.status)[:1] == "4"):
            wait_s = self.buckets.take(f"refused:{self._address(req)}", now=self._now())
            if wait_s > 0:
                error = self._too_many(wait_s)
                resp.status = error.status
                resp.text = None
                resp.data = error.to_json()
                resp.content_type = falcon.MEDIA_JSON
                for name, value in (error.headers or {}).items():
                    resp.set_header(name, value)

    def _too_many(self, wait_s: float) -> falcon.HTTPTooManyRequests:
        return falcon.HTTPTooManyRequests(
            title="rate_limited", retry_after=retry_after(wait_s),
            description=f"more than {self.buckets.rate:g} requests/s "
                        f"(bursts of {self.buckets.burst:g}); retry after the "
                        "Retry-After seconds")

    def _refuse(self, wait_s: float) -> None:
        if wait_s > 0:
            raise self._too_many(wait_s)
