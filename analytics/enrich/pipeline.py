"""The pipeline itself: a named, ordered list of small steps.

Each step is ``(event, ctx) -> event``. A step either returns the event (usually the same
dict, enriched in place) or raises :class:`Refused` to stop it. The pipeline works on its
own shallow copy of the client's payload, so a caller that catches :class:`Refused` still
holds the payload exactly as it was received (for the invalid-events topic).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analytics.enrich.context import RequestContext

Event = dict[str, Any]
StepFunction = Callable[[Event, RequestContext], Event]


class Refused(Exception):
    """A step decided the event must not be counted.

    ``reason`` is a short stable key the caller counts by (``too_late``,
    ``referrer_spam``, ...); ``detail`` says what exactly was wrong. ``step`` is filled in
    by the pipeline with the name of the step that refused.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.step: str | None = None

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


@dataclass(frozen=True)
class Step:
    name: str
    run: StepFunction


class Pipeline:
    """Runs its steps in order on a copy of the event."""

    def __init__(self, steps: Iterable[Step | tuple[str, StepFunction]]) -> None:
        built = tuple(s if isinstance(s, Step) else Step(*s) for s in steps)
        names = [s.name for s in built]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate step names: {', '.join(duplicates)}")
        self.steps: tuple[Step, ...] = built
        self._runs = tuple((s.name, s.run) for s in built)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def run(self, event: Mapping[str, Any], ctx: RequestContext) -> Event:
        """Enrich one event; raises :class:`Refused` (with ``step`` set) to stop it."""
        work = dict(event)
        for name, run in self._runs:
            try:
                work = run(work, ctx)
            except Refused as refused:
                refused.step = name
                raise
        return work

    __call__ = run

    def __repr__(self) -> str:
        return f"Pipeline(steps={list(self.names)!r})"
