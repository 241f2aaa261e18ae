"""What the streaming queries did, per micro-batch: a row per batch in ``stream_batches``
(Cassandra) and a status file the local run's readiness check and ``stack status`` read.

Spark's progress reports give, for each batch: rows read, rate, duration, the event-time
watermark, rows the stateful operators dropped because they were behind the watermark,
state size, and the Kafka offsets reached.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analytics.config import Config
from analytics.kafka_topics import end_offsets
from analytics.storage.session import connect

RAW_QUERY, VIEWS_QUERY = "raw_events", "realtime_views"
STATE_ROWS_COUNTED = False
"""Whether the RocksDB state store counts its rows (the job sets Spark's
``...rocksdb.trackTotalNumberOfRows`` from this). Counting costs a read of every key
before it is written, ~10 % of the views query, so it is off and ``state_rows`` is null."""
QUERIES = (RAW_QUERY, VIEWS_QUERY)
STATUS_FRESH_S = 30.0
_INSERT = """
INSERT INTO stream_batches (query, day, batch_id, run_id, finished_at, input_rows,
    rows_per_second, duration_ms, watermark, rows_dropped_late, state_rows, end_offsets)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def status_file(config: Config) -> Path:
    return config.state_dir / "run" / "speed-layer.json"


def read_status(config: Config) -> dict | None:
    """The job's last status if it is fresh (written within ``STATUS_FRESH_S``) and its
    process is alive, else None."""
    try:
        status = json.loads(status_file(config).read_text())
        os.kill(int(status["pid"]), 0)
    except (FileNotFoundError, ValueError, KeyError, ProcessLookupError, PermissionError):
        return None
    if time.time() - float(status.get("updated_at", 0)) > STATUS_FRESH_S:
        return None
    return status


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def stream_name(config: Config, query_name: str) -> str:
    """The ``query`` key of ``stream_batches``: the query and the topic it reads (jobs on
    other topics, such as the tests', keep their own history)."""
    return f"{query_name}:{config.topic_raw_events}"


def processed_offsets(config: Config, session, query: str) -> dict[int, int]:
    """Per partition of the raw-events topic, the offset the query's newest recorded
    micro-batch reached (empty before its first batch)."""
    today = datetime.now(UTC).date()
    for day in (today, today - timedelta(days=1)):
        row = session.execute("SELECT end_offsets FROM stream_batches WHERE query = %s AND "
                              "day = %s LIMIT 1", (stream_name(config, query), day)).one()
        if row:
            reached = json.loads(row.end_offsets).get(config.topic_raw_events, {})
            return {int(p): int(o) for p, o in reached.items()}
    return {}


def lag(config: Config, session) -> int:
    """Records on the raw-events topic that the slower query has not processed yet
    (as of its last recorded batch: up to one poll, 2 s, behind)."""
    written = sum(end_offsets(config, config.topic_raw_events).values())
    return max(written - sum(processed_offsets(config, session, q).values()) for q in QUERIES)


def batch_row(name: str, progress: dict[str, Any],
              state_rows_counted: bool = STATE_ROWS_COUNTED) -> tuple:
    """One ``stream_batches`` row (values in column order) from a progress report;
    ``state_rows`` is null when the state store does not count its rows."""
    started = _time(progress["timestamp"])
    duration = int(progress.get("durationMs", {}).get("triggerExecution", 0))
    finished = started + timedelta(milliseconds=duration)
    operators = progress.get("stateOperators", [])
    offsets = [source.get("endOffset") for source in progress.get("sources", [])]
    return (
        name, finished.date(), int(progress["batchId"]), progress["runId"],
        finished, int(progress.get("numInputRows", 0)),
        float(progress.get("processedRowsPerSecond") or 0.0), duration,
        _time(progress.get("eventTime", {}).get("watermark")),
        sum(int(op.get("numRowsDroppedByWatermark", 0)) for op in operators),
        (sum(int(op.get("numRowsTotal", 0)) for op in operators)
         if state_rows_counted else None),
        json.dumps(offsets[0] if len(offsets) == 1 else offsets),
    )


class ProgressLog:
    """Records each query's new batches; call :meth:`poll` every few seconds."""

    def __init__(self, config: Config):
        self.config = config
        self.cluster, self.session = connect(config, config.cassandra_keyspace)
        self.insert = self.session.prepare(_INSERT)
        self.last_batch: dict[str, int] = {}
        self.file = status_file(config)
        self.file.parent.mkdir(parents=True, exist_ok=True)

    def poll(self, queries) -> None:
        status = {"pid": os.getpid(), "updated_at": time.time(), "queries": {}}
        for query in queries:
            reports = query.recentProgress
            for progress in reports:
                if progress["batchId"] > self.last_batch.get(query.name, -1):
                    row = batch_row(stream_name(self.config, query.name), progress)
                    self.session.execute(self.insert, row)
                    self.last_batch[query.name] = progress["batchId"]
            latest = reports[-1] if reports else {}
            status["queries"][query.name] = {
                "active": query.isActive,
                "batch_id": self.last_batch.get(query.name),
                "input_rows_per_second": latest.get("inputRowsPerSecond"),
                "processed_rows_per_second": latest.get("processedRowsPerSecond"),
                "watermark": latest.get("eventTime", {}).get("watermark"),
            }
        temporary = self.file.with_suffix(".tmp")
        temporary.write_text(json.dumps(status))
        temporary.replace(self.file)

    def close(self) -> None:
        self.file.unlink(missing_ok=True)
        self.cluster.shutdown()

