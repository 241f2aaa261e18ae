"""Liveness of the speed layer's queries: a micro-batch that has been running for longer
than ``streaming_stall_timeout_s`` means the query is stuck, and the job exits so its
supervisor starts it again from the checkpoint (nothing is lost: the sinks' writes are
idempotent and the offsets of an unfinished batch are read again).

Found by the cluster drills: in a rolling restart of Cassandra, the Spark Cassandra
connector's schema refresh (``Session.refreshSchema``, run when a micro-batch's write is
planned) waited forever once the node holding its control connection went away; the
queries neither failed nor moved, and the realtime views stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class StallWatch:
    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic):
        self.timeout_s = timeout_s
        self.clock = clock
        self._running: dict[str, tuple[int, float]] = {}

    def stalled(self, name: str, last_batch: int, active: bool) -> bool:
        """Given what a query reports now (its last finished batch, whether a trigger is
        running), True when one micro-batch has been running for too long: the same last
        finished batch, a trigger active at every look, for ``timeout_s``."""
        now = self.clock()
        if not active:
            self._running.pop(name, None)
            return False
        batch, since = self._running.get(name, (None, now))
        if batch != last_batch:
            since = now
        self._running[name] = (last_batch, since)
        return now - since > self.timeout_s
