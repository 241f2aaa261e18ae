"""Prometheus counters of the write service (multi-process aware under gunicorn)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, multiprocess

REQUESTS = Counter("analytics_write_requests_total", "HTTP requests by endpoint and status",
                   ["endpoint", "status"])
ACCEPTED = Counter("analytics_write_events_accepted_total", "Events accepted", ["source"])
REFUSED = Counter("analytics_write_events_refused_total",
                  "Events or requests refused, by reason (kept on the invalid-events topic)",
                  ["reason"])
BOTS = Counter("analytics_write_bot_events_total", "Accepted events flagged as bots")
SPOOLED = Counter("analytics_write_records_spooled_total",
                  "Records written to the local spool because Kafka did not acknowledge them")
SPOOL_PENDING = Gauge("analytics_write_spool_pending", "Records waiting in the local spool",
                      multiprocess_mode="max")


def exposition(multiprocess_dir: str | None) -> bytes:
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
        return generate_latest(registry)
    return generate_latest()
