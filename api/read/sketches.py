"""Measures of a piece of a report (a day, an hour, a breakdown value of a day) and how
pieces add up (no Falcon in here).

Counts add. Visitors do not: a visitor seen on two days is one visitor of the two days.
A single piece keeps its own visitor count (exact for a batch day); several pieces are
merged through their HLL sketches (METRICS.md "Visitors": ranges longer than a day may
come from mergeable sketches, error <= 1 %). Session measures exist only where the batch
layer made sessions: ``None`` there means "not computed", never zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import datasketches

_SESSION_FIELDS = ("sessions", "engaged_sessions", "bounces", "duration_s",
                   "session_pageviews")


@dataclass(frozen=True)
class Part:
    visitors: int | None = 0
    sketch: bytes | None = field(default=None, repr=False)
    pageviews: int = 0
    events: int = 0
    bot_events: int = 0
    sessions: int | None = None
    engaged_sessions: int | None = None
    bounces: int | None = None
    duration_s: float | None = None
    session_pageviews: int | None = None


EMPTY = Part()
BATCH_EMPTY = Part(sessions=0, engaged_sessions=0, bounces=0, duration_s=0.0,
                   session_pageviews=0)
"""A batch-layer hour or day without events: its sessions are known to be none."""


def merge_parts(parts: Sequence[Part], lg_k: int) -> Part:
    """One :class:`Part` for the union of ``parts``."""
    parts = [p for p in parts if p is not EMPTY]
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    sketch = union_sketch((p.sketch for p in parts), lg_k)
    # a piece with visitors but no sketch (a day computed before goals had sketches)
    # cannot be merged: unknown, not a wrong number
    mergeable = all(p.sketch or not p.visitors for p in parts)
    sessions = {}
    for name in _SESSION_FIELDS:
        values = [getattr(p, name) for p in parts if getattr(p, name) is not None]
        sessions[name] = sum(values) if values else None
    return Part(
        visitors=estimate(sketch) if mergeable else None, sketch=sketch,
        pageviews=sum(p.pageviews for p in parts), events=sum(p.events for p in parts),
        bot_events=sum(p.bot_events for p in parts), **sessions)


def union_sketch(sketches: Iterable[bytes | None], lg_k: int) -> bytes | None:
    """The serialized union of serialized HLL sketches (``None`` skipped)."""
    union = datasketches.hll_union(lg_k)
    empty = True
    for blob in sketches:
        if blob:
            union.update(datasketches.hll_sketch.deserialize(blob))
            empty = False
    return None if empty else union.get_result().serialize_compact()


def estimate(sketch: bytes | None) -> int:
    if not sketch:
        return 0
    return round(datasketches.hll_sketch.deserialize(sketch).get_estimate())
