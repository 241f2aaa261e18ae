"""A Spark progress report becomes one stream_batches row."""

import json
from datetime import UTC, date, datetime

from analytics.config import Config
from streaming.progress import batch_row, read_status, stream_name

PROGRESS = {
    "id": "q-id", "runId": "run-1", "name": "realtime_views",
    "timestamp": "2026-11-26T23:59:59.500Z", "batchId": 41, "numInputRows": 1200,
    "inputRowsPerSecond": 1000.0, "processedRowsPerSecond": 2400.0,
    "durationMs": {"addBatch": 400, "triggerExecution": 500},
    "eventTime": {"watermark": "2026-11-26T23:47:00.000Z", "max": "2026-11-26T23:59:00.000Z"},
    "stateOperators": [
        {"operatorName": "dedupeWithinWatermark", "numRowsTotal": 900,
         "numRowsDroppedByWatermark": 2},
        {"operatorName": "stateStoreSave", "numRowsTotal": 300, "numRowsDroppedByWatermark": 1},
    ],
    "sources": [{"description": "KafkaV2[Subscribe[events.raw]]",
                 "endOffset": {"events.raw": {"0": 10, "1": 12, "2": 7}}}],
}


def test_batch_row_from_progress():
    row = batch_row("realtime_views:events.raw", PROGRESS, state_rows_counted=True)
    finished = datetime(2026, 11, 27, 0, 0, 0, tzinfo=UTC)  # started 23:59:59.5 + 500 ms
    assert row == (
        "realtime_views:events.raw", date(2026, 11, 27), 41, "run-1", finished, 1200, 2400.0,
        500, datetime(2026, 11, 26, 23, 47, tzinfo=UTC), 3, 1200,
        json.dumps({"events.raw": {"0": 10, "1": 12, "2": 7}}))


def test_batch_row_of_an_idle_trigger_without_watermark():
    idle = {**PROGRESS, "numInputRows": 0, "eventTime": {}, "stateOperators": []}
    row = batch_row("raw_events:events.raw", idle, state_rows_counted=True)
    assert (row[5], row[8], row[9], row[10]) == (0, None, 0, 0)


def test_state_rows_are_null_when_the_state_store_does_not_count_them():
    # the job's setting: Spark then reports numRowsTotal 0, which is not the state's size
    uncounted = {**PROGRESS, "stateOperators": [
        {**op, "numRowsTotal": 0} for op in PROGRESS["stateOperators"]]}
    row = batch_row("realtime_views:events.raw", uncounted)
    assert (row[9], row[10]) == (3, None)


def test_stream_name_includes_the_topic():
    assert stream_name(Config(topic_raw_events="t.raw"), "raw_events") == "raw_events:t.raw"


def test_status_is_none_when_missing_stale_or_dead(tmp_path):
    config = Config(state_dir=tmp_path)
    assert read_status(config) is None
    status = tmp_path / "run" / "speed-layer.json"
    status.parent.mkdir()
    status.write_text(json.dumps({"pid": 999_999_999, "updated_at": 9e9, "queries": {}}))
    assert read_status(config) is None  # no such process
    import os
    import time

    status.write_text(json.dumps({"pid": os.getpid(), "updated_at": time.time() - 60,
                                  "queries": {}}))
    assert read_status(config) is None  # stale
    status.write_text(json.dumps({"pid": os.getpid(), "updated_at": time.time(),
                                  "queries": {"raw_events": {"active": True}}}))
    assert read_status(config)["queries"] == {"raw_events": {"active": True}}
