"""Step ``event_time``: server receive time, corrected for clients that buffer events.

docs/metrics.md, Events and ids: when the payload has both ``created_at`` and ``sent_at``
(client clock), event time = received − (sent − created). Only the difference of two
client timestamps is used, so a client clock that is simply wrong does not matter. The
result is never later than received; an event more than ``max_lateness_ms`` older than
its receipt is refused as ``too_late``. ``sent_at < created_at`` is nonsense and means no
correction.
"""

from __future__ import annotations

from analytics.enrich.context import RequestContext
from analytics.enrich.pipeline import Event, Refused

MAX_LATENESS_MS = 72 * 3600 * 1000


class EventTime:
    def __init__(self, max_lateness_ms: int = MAX_LATENESS_MS) -> None:
        self.max_lateness_ms = max_lateness_ms

    def __call__(self, event: Event, ctx: RequestContext) -> Event:
        received = ctx.received_at_ms
        event["received_at"] = received
        created = event.get("created_at")
        sent = event.get("sent_at")
        buffered = 0
        if created is not None and sent is not None and sent > created:
            buffered = sent - created
        if buffered > self.max_lateness_ms:
            raise Refused(
                "too_late",
                f"buffered {buffered} ms before sending; the limit is {self.max_lateness_ms} ms",
            )
        event["event_time"] = received - buffered
        return event


event_time = EventTime()
"""The step with the default limit of 72 h (docs/metrics.md, Events and ids)."""
