"""``analytics.raw_events.to_chunks`` cuts a block of offsets into chunks of at most
``CHUNK_EVENTS``, in offset order, and ``from_chunks`` gives every record back."""

from __future__ import annotations

import json

from analytics import raw_events
from analytics.spark_session import parse_enriched

HOUR_MS = 1_795_737_600_000  # 2026-11-26 22:00 UTC, the start of an hour


def event(n: int, site: str) -> str:
    return json.dumps({
        "schema": "analytics/enriched_event/1-0-0", "event_id": f"e{n}", "site_id": site,
        "kind": "pageview", "url": f"https://{site}/", "received_at": HOUR_MS + n,
        "event_time": HOUR_MS + n, "visitor_id": "v", "is_bot": False})


def records(spark, values: list[tuple[int, str]]):
    rows = [(text.encode(), "raw", 0, offset, None) for offset, text in values]
    return spark.createDataFrame(
        rows, "value binary, topic string, partition int, offset long, timestamp timestamp")


def test_a_block_is_cut_into_full_chunks_in_offset_order(spark):
    # offsets 3,900..4,199 of one partition: two sites interleaved (a on even offsets),
    # one record that is not an event; the block boundary at 4,096 splits each site.
    values = [(o, event(o, "a" if o % 2 == 0 else "b")) for o in range(3_900, 4_200)]
    values[5] = (3_905, "not json")
    parsed = parse_enriched(records(spark, values), raw_events.CHUNK_FIELDS)
    chunks = raw_events.to_chunks(parsed, chunk_events=64, block_offsets=4_096).collect()

    def shape(site):
        return sorted((c.first_offset, c.last_offset, c.events)
                      for c in chunks if c.site_id == site)

    # site a: 98 events in the block up to 4,095 (3,900..4,094 even), 52 after it
    assert shape("a") == [(3_900, 4_026, 64), (4_028, 4_094, 34), (4_096, 4_198, 52)]
    # site b: 97 events (3,905 is the malformed record), 52 after the boundary
    assert shape("b") == [(3_901, 4_029, 64), (4_031, 4_095, 33), (4_097, 4_199, 52)]
    assert shape(raw_events.MALFORMED_SITE) == [(3_905, 3_905, 1)]
    for chunk in chunks:
        assert chunk.offsets == sorted(chunk.offsets)
        assert len(chunk.payload) == chunk.events == len(chunk.offsets)
    back = raw_events.from_chunks(spark.createDataFrame(chunks)).collect()
    assert sorted((r.offset, r.value.decode()) for r in back) == sorted(values)


def test_a_chunk_knows_its_event_times(spark):
    values = [(o, event(o * 1_000, "a")) for o in range(10)]
    (chunk,) = raw_events.to_chunks(parse_enriched(records(spark, values))).collect()
    assert (chunk.events, chunk.first_offset, chunk.last_offset) == (10, 0, 9)
    assert int(chunk.first_event_time.timestamp() * 1000) == HOUR_MS
    assert int(chunk.last_event_time.timestamp() * 1000) == HOUR_MS + 9_000
