"""Step ``visitor_id``: who the visitor is, without storing who they are.

- ``cookieless`` (default): blake2b keyed with the salt of the UTC day of ``received_at``
  over (site_id, ip, user agent). The salt rotates at 00:00 UTC and old salts are
  forgotten, so a visitor seen on two UTC days is two visitors.
- ``client``: when the site opted into client ids, or the event came through the
  Measurement Protocol (``source == "mp"``), and the event carries a ``client_id``:
  blake2b keyed with a stable secret (``Config.client_id_hash_key``) over
  (site_id, client_id). The raw client id is not put into the visitor id.

Both give 16 bytes as 32 hex characters.
"""

from __future__ import annotations

import datetime as dt
from hashlib import blake2b

from analytics.enrich.context import RequestContext
from analytics.enrich.pipeline import Event
from analytics.enrich.salts import MAX_SALT_BYTES, SaltProvider

DIGEST_SIZE = 16
MS_PER_DAY = 86_400_000
_EPOCH = dt.date(1970, 1, 1)
_SEP = b"\x00"


def utc_day(epoch_ms: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=epoch_ms // MS_PER_DAY)


def cookieless_id(salt: bytes, site_id: str, ip: str, user_agent: str) -> str:
    message = _SEP.join((b"cookieless", site_id.encode(), ip.encode(), user_agent.encode()))
    return blake2b(message, key=salt, digest_size=DIGEST_SIZE).hexdigest()


def client_id_hash(key: bytes, site_id: str, client_id: str) -> str:
    message = _SEP.join((b"client", site_id.encode(), client_id.encode()))
    return blake2b(message, key=key, digest_size=DIGEST_SIZE).hexdigest()


class VisitorId:
    def __init__(self, salts: SaltProvider, client_id_key: bytes = b"") -> None:
        if len(client_id_key) > MAX_SALT_BYTES:
            raise ValueError(f"client_id_key must be at most {MAX_SALT_BYTES} bytes")
        self.salts = salts
        self.client_id_key = client_id_key
        self._last_day: tuple[int, dt.date] = (0, _EPOCH)

    def _salt(self, received_at_ms: int) -> bytes:
        number = received_at_ms // MS_PER_DAY
        last = self._last_day  # one tuple, swapped whole: safe across threads
        if last[0] != number:
            last = (number, utc_day(received_at_ms))
            self._last_day = last
        return self.salts.salt_for(last[1])

    def __call__(self, event: Event, ctx: RequestContext) -> Event:
        site_id = event["site_id"]
        client_id = event.get("client_id")
        if client_id and (ctx.site.client_id_opt_in or ctx.source == "mp"):
            event["visitor_id"] = client_id_hash(self.client_id_key, site_id, client_id)
            event["id_source"] = "client"
        else:
            salt = self._salt(ctx.received_at_ms)
            event["visitor_id"] = cookieless_id(salt, site_id, ctx.ip, ctx.user_agent)
            event["id_source"] = "cookieless"
        return event
