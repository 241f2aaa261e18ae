"""What the write service knows about its Kafka producer, fed by librdkafka's ``error_cb``.

A fatal error (``KafkaError.fatal()``: the idempotent producer lost its sequence state, a
fenced or unsupported producer, ...) means the producer will never deliver again and must
be replaced. :class:`ProducerState` records it, says when a replacement is due (at most
one attempt per backoff) and what ``/healthz`` should report meanwhile. Errors of older
producers (a replaced one still settling its queue) are ignored.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


class ProducerState:
    def __init__(self, replace_backoff_s: float = 1.0, clock=time.monotonic):
        self.replace_backoff_s = replace_backoff_s
        self.clock = clock
        self.generation = 0
        """Which producer is current: 1 for the first, +1 per replacement."""
        self.fatal_error: str | None = None
        """The current producer's fatal error, until it is replaced."""
        self.last_error: str | None = None
        self.replacements = 0
        self._not_before = 0.0
        self._lock = threading.Lock()

    def on_error(self, generation: int, err) -> None:
        """librdkafka's ``error_cb`` (runs inside ``poll``/``flush``)."""
        if generation != self.generation:
            return
        text = _describe(err)
        fatal = bool(getattr(err, "fatal", lambda: False)())
        with self._lock:
            self.last_error = text
            if fatal and self.fatal_error is None:
                self.fatal_error = text
        if fatal:
            log.error("Kafka producer #%d failed fatally (%s); it will be replaced and "
                      "events are spooled meanwhile", generation, text)
        else:
            log.debug("Kafka producer #%d: %s", generation, text)

    def replacement_due(self) -> bool:
        with self._lock:
            return self.fatal_error is not None and self.clock() >= self._not_before

    def replaced(self) -> None:
        with self._lock:
            self.fatal_error = None
            self.replacements += 1
            self._not_before = self.clock() + self.replace_backoff_s

    def replacement_failed(self, reason: str) -> None:
        with self._lock:
            self.last_error = reason
            self._not_before = self.clock() + self.replace_backoff_s

    def as_json(self) -> dict:
        with self._lock:
            return {"producer": "failed" if self.fatal_error else "ok",
                    "producer_error": self.fatal_error,
                    "producer_replacements": self.replacements}


def _describe(err) -> str:
    try:
        return f"{err.name()}: {err.str()}"
    except Exception:
        return str(err)
