"""What the compatible collectors share when they fill the event envelope
(``analytics/schemas``): its field limits, and the page fields every tracker protocol
sends under names of its own (title, referrer, screen size, language)."""

from __future__ import annotations

import re

from analytics.event_schema import envelope_schema

FIELDS = envelope_schema()["properties"]
"""The envelope's fields by name (their limits: ``maxLength``, ``maximum``)."""
MAX_TITLE, MAX_REFERRER = FIELDS["title"]["maxLength"], FIELDS["referrer"]["maxLength"]
MAX_CLIENT_ID, MAX_LANGUAGE = FIELDS["client_id"]["maxLength"], FIELDS["language"]["maxLength"]
MAX_TIME_ZONE, MAX_TIME_MS = FIELDS["time_zone"]["maxLength"], FIELDS["created_at"]["maximum"]
MAX_USER_AGENT = 1000  # a browser's is under 300 characters
_SCREEN = re.compile(r"^(\d{1,5})x(\d{1,5})$")


def page_fields(*, title: str | None, referrer: str | None, screen: str | None,
                language: str | None) -> dict:
    """The envelope's page fields from a protocol's values: title and referrer cut to
    their limits, a ``WIDTHxHEIGHT`` screen, the first tag of an Accept-Language-like
    language; what is empty or does not fit is left out."""
    fields: dict = {}
    if title:
        fields["title"] = title[:MAX_TITLE]
    if referrer:
        fields["referrer"] = referrer[:MAX_REFERRER]
    size = _SCREEN.match(screen or "")
    if size:
        fields["screen_width"], fields["screen_height"] = map(int, size.groups())
    first = re.split(r"[,;]", language or "", maxsplit=1)[0].strip()
    if 0 < len(first) <= MAX_LANGUAGE:
        fields["language"] = first
    return fields
