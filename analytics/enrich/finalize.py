"""Step ``finalize``: shape the event exactly as ``enriched_event/1-0-0`` describes it.

Every field of the schema is present (``None`` where unknown) and nothing else is: the raw
IP, and anything a step kept for itself, cannot leak. It also makes an ``event_id`` when
the client sent none (UUIDs are lower-cased, so one id is one string), sets ``schema`` and
``source_channel`` and turns ``props`` values into strings (3 → "3", 2.5 → "2.5",
True → "true").
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from typing import Any

from analytics.enrich.context import RequestContext
from analytics.enrich.pipeline import Event
from analytics.event_schema import enriched_schema

SCHEMA_NAME = "analytics/enriched_event/1-0-0"


@cache
def enriched_fields() -> tuple[str, ...]:
    """The enriched event's field names, in the schema's order."""
    return tuple(enriched_schema()["properties"])


def prop_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class Finalize:
    def __init__(self, fields: tuple[str, ...] | None = None) -> None:
        self.fields = enriched_fields() if fields is None else fields

    def __call__(self, event: Event, ctx: RequestContext) -> Event:
        event_id = event.get("event_id")
        event["event_id"] = event_id.lower() if event_id else str(uuid.uuid4())
        event["schema"] = SCHEMA_NAME
        event["source_channel"] = ctx.source
        props = event.get("props")
        if props is not None:
            event["props"] = {
                key: prop_string(value) for key, value in props.items() if value is not None
            }
        get = event.get
        return {name: get(name) for name in self.fields}
