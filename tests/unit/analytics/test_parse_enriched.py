"""``parse_enriched`` with a subset of fields decides ``malformed`` exactly as a full parse."""

from __future__ import annotations

import json

from analytics.event_schema import enriched_schema, spark_schema
from analytics.metrics.events import EVENT_FIELDS
from analytics.spark_session import MALFORMED, parse_enriched

GOOD = {"schema": "analytics/enriched_event/1-0-0", "event_id": "e1", "site_id": "s",
        "kind": "pageview", "url": "https://s.example/a", "path": "/a",
        "received_at": 1_000, "event_time": 900, "visitor_id": "v1", "is_bot": False,
        "title": "A page", "country": "DE"}


def records(spark, values: list[str]):
    rows = [(v.encode(), "raw", 0, i, None) for i, v in enumerate(values)]
    return spark.createDataFrame(
        rows, "value binary, topic string, partition int, offset long, timestamp timestamp")


def test_the_metrics_fields_are_fields_of_the_schema():
    assert set(EVENT_FIELDS) <= set(spark_schema().fieldNames())


def test_a_pruned_parse_flags_the_same_records_as_a_full_one(spark):
    missing_url = {k: v for k, v in GOOD.items() if k != "url"}  # required, not asked for
    values = [json.dumps(GOOD), json.dumps(missing_url), "not json",
              json.dumps({**GOOD, "event_time": "soon"}), json.dumps([GOOD])]
    df = records(spark, values)
    full = parse_enriched(df).orderBy("kafka_offset")
    pruned = parse_enriched(df, ["path", "country"]).orderBy("kafka_offset")
    assert [r[MALFORMED] for r in pruned.collect()] == [r[MALFORMED] for r in full.collect()]
    assert [r[MALFORMED] for r in pruned.collect()] == [False, True, True, True, True]
    required = enriched_schema()["required"]
    event_columns = [c for c in pruned.columns if c in spark_schema().fieldNames()]
    assert set(event_columns) == {"path", "country", *required}
    first = pruned.first()
    assert (first["path"], first["country"], first["event_id"]) == ("/a", "DE", "e1")
    assert "title" not in pruned.columns
