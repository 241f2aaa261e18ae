"""Measures of a piece of a report (a day, an hour, a breakdown value of a day) and how
pieces add up (no Falcon in here).

Counts add. Visitors do not: a visitor seen on two days is one visitor of the two days.
A single piece keeps its own visitor count (exact for a batch day); several pieces are
merged through their HLL sketches (docs/metrics.md, Visitors: the estimate of their union,
about 0.8 % relative standard error at lg_k 14). Session measures exist only where the batch
layer made sessions: ``None`` there means "not computed", never zero.

A sketch is kept as stored (bytes) or as a ``datasketches.hll_sketch``; the read API
caches pieces with their sketches already deserialized, and merged pieces keep the union
as an object, so a merge never serializes what the next merge would read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import datasketches

_SESSION_FIELDS = ("sessions", "engaged_sessions", "bounces", "duration_s",
                   "session_pageviews")
Sketch = bytes | datasketches.hll_sketch


@dataclass(frozen=True)
class Part:
    visitors: int | None = 0
    sketch: Sketch | None = field(default=None, repr=False)
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


def loaded(blob: Sketch | None) -> datasketches.hll_sketch | None:
    """A stored sketch as an object (``None`` and empty stay ``None``)."""
    if not blob:
        return None
    return blob if isinstance(blob, datasketches.hll_sketch) else \
        datasketches.hll_sketch.deserialize(blob)


def merge_parts(parts: Sequence[Part], lg_k: int) -> Part:
    """One :class:`Part` for the union of ``parts``."""
    parts = [p for p in parts if p is not EMPTY]
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    union, found = _union((p.sketch for p in parts), lg_k)
    # a piece with visitors but no sketch (a day computed before goals had sketches)
    # cannot be merged: unknown, not a wrong number
    mergeable = all(p.sketch not in (None, b"") or not p.visitors for p in parts)
    sessions = {}
    for name in _SESSION_FIELDS:
        values = [getattr(p, name) for p in parts if getattr(p, name) is not None]
        sessions[name] = sum(values) if values else None
    return Part(
        visitors=(round(union.get_estimate()) if found else 0) if mergeable else None,
        sketch=union.get_result() if found else None,
        pageviews=sum(p.pageviews for p in parts), events=sum(p.events for p in parts),
        bot_events=sum(p.bot_events for p in parts), **sessions)


def _union(sketches: Iterable[Sketch | None], lg_k: int) -> tuple:
    union = datasketches.hll_union(lg_k)
    found = False
    for stored in sketches:
        sketch = loaded(stored)
        if sketch is not None:
            union.update(sketch)
            found = True
    return union, found


def union_sketch(sketches: Iterable[Sketch | None], lg_k: int) -> datasketches.hll_sketch | None:
    """The union of sketches (``None`` skipped), or None when there is none."""
    union, found = _union(sketches, lg_k)
    return union.get_result() if found else None


def estimate(sketch: Sketch | None) -> int:
    sketch = loaded(sketch)
    return 0 if sketch is None else round(sketch.get_estimate())
