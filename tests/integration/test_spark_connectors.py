"""Spark on this machine: the Kafka source reads the raw-events topic, the Spark Cassandra
Connector writes and reads the master table (connector jars from ``python -m stack setup``).

One SparkSession (local[2] from config) serves the module.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from confluent_kafka import Producer
from pyspark.sql import functions as F

from analytics import raw_events
from analytics.event_schema import enriched_validator, spark_schema
from analytics.kafka_topics import end_offsets
from analytics.spark_session import (
    CASSANDRA_FORMAT,
    KAFKA_COLUMNS,
    MALFORMED,
    RAW_JSON,
    parse_enriched,
    read_kafka,
    spark_session,
    stop_spark,
)

pytestmark = [
    pytest.mark.integration,
    # pyspark 3.5's pandas conversion calls APIs that pandas 2.x deprecates
    pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pyspark\.sql\.pandas\..*"),
]

FIELDS = spark_schema().fieldNames()
ISO_MS = "yyyy-MM-dd'T'HH:mm:ss.SSS"  # formatted in the session time zone, UTC


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def iso_ms(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}"


def enriched_event(run: str, site: str, n: int, kind: str, at: datetime) -> dict:
    """An event as the write service puts it on the topic: every field, None if unknown."""
    event = dict.fromkeys(FIELDS)
    event.update({
        "schema": "analytics/enriched_event/1-0-0",
        "event_id": str(uuid.uuid4()),
        "site_id": site,
        "kind": kind,
        "url": f"https://shop.example/p/{n}?run={run}",
        "host": "shop.example",
        "path": f"/p/{n}",
        "received_at": epoch_ms(at) + 40,
        "event_time": epoch_ms(at),
        "visitor_id": f"v{n % 2}",
        "id_source": "cookieless",
        "is_bot": False,
        "source_channel": "tracker",
        "screen_width": 1280,
        "country": "DE",
    })
    if kind == "custom":
        event.update(name="signup", props={"plan": "pro", "seats": "3"})
    if kind == "engagement":
        event["engagement_ms"] = 12_500
    return event


@pytest.fixture(scope="module")
def spark(stack):
    session = spark_session(stack, "test-spark-connectors")
    yield session
    stop_spark(session)


@pytest.fixture(scope="module")
def produced(stack):
    """Four valid events (across a UTC hour boundary) and one malformed value, on the
    raw-events topic; with the offsets around them."""
    run = uuid.uuid4().hex
    site = f"spark-{run[:12]}"
    top = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    times = [top - timedelta(milliseconds=1), top, top + timedelta(minutes=30, milliseconds=250),
             top + timedelta(minutes=30, milliseconds=250)]
    kinds = ["pageview", "pageview", "custom", "engagement"]
    events = [enriched_event(run, site, n, kind, at)
              for n, (kind, at) in enumerate(zip(kinds, times, strict=True))]
    validator = enriched_validator()
    for event in events:
        assert list(validator.iter_errors(event)) == []
    malformed = f'{{"event_id": "{run}", "site_id": "{site}", "url": '.encode()

    topic = stack.topic_raw_events
    before = end_offsets(stack, topic)
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers,
                         "enable.idempotence": True, "acks": "all"})
    for event in events:
        producer.produce(topic, key=site.encode(), value=json.dumps(event).encode())
    producer.produce(topic, key=site.encode(), value=malformed)
    assert producer.flush(30) == 0
    after = end_offsets(stack, topic)
    return SimpleNamespace(run=run, site=site, topic=topic, events=events, times=times,
                           malformed=malformed.decode(), before=before, after=after)


@pytest.fixture(scope="module")
def parsed(spark, stack, produced):
    """This run's records, read back through Spark's Kafka source (a batch read between
    the offsets before and after producing) and parsed."""
    records = read_kafka(spark, stack, produced.topic, produced.before, ending=produced.after)
    frame = parse_enriched(records).where(F.col(RAW_JSON).contains(produced.run))
    return frame.cache()


def test_kafka_source_reads_the_events_exactly(parsed, produced):
    rows = sorted(parsed.where(~F.col(MALFORMED)).collect(),
                  key=lambda row: (row.event_time, row.kind))
    got = [{name: row[name] for name in FIELDS} for row in rows]
    assert got == produced.events  # every field, props map and nulls included
    assert [(row.event_id, row.kind, row.event_time) for row in rows] == \
        [(e["event_id"], e["kind"], e["event_time"]) for e in produced.events]
    assert {row.kafka_topic for row in rows} == {produced.topic}
    assert {row[RAW_JSON] for row in rows} == {json.dumps(e) for e in produced.events}


def test_malformed_value_is_kept_and_counted_not_lost(parsed, produced):
    assert parsed.count() == len(produced.events) + 1
    bad = parsed.where(F.col(MALFORMED)).collect()
    assert len(bad) == 1
    assert bad[0][RAW_JSON] == produced.malformed
    assert all(bad[0][name] is None for name in FIELDS)
    assert bad[0].kafka_topic == produced.topic
    assert bad[0].kafka_offset >= produced.before[bad[0].kafka_partition]


def test_parse_flags_every_kind_of_bad_value(spark, produced):
    good = json.dumps(produced.events[0])
    missing_required = json.dumps({**produced.events[0], "visitor_id": None})
    wrong_type = json.dumps({**produced.events[0], "event_time": "yesterday"})
    values = [good, "not json", "[1, 2]", "null", '"text"', "{}", missing_required,
              wrong_type, None]
    records = spark.createDataFrame(
        [(None if v is None else v.encode(), "t", 0, n, datetime(2026, 1, 1))
         for n, v in enumerate(values)],
        "value binary, topic string, partition int, offset long, timestamp timestamp")
    rows = parse_enriched(records).orderBy("kafka_offset").collect()
    assert [row[MALFORMED] for row in rows] == [False] + [True] * (len(values) - 1)
    assert [row[RAW_JSON] for row in rows] == values
    assert rows[0].event_id == produced.events[0]["event_id"]
    assert all(row.event_id is None and row.event_time is None for row in rows[1:])
    assert parse_enriched(records).columns == [*FIELDS, RAW_JSON, MALFORMED, *KAFKA_COLUMNS]


def test_cassandra_connector_writes_and_reads_raw_event_chunks(spark, stack, parsed, produced,
                                                               capsys):
    table = {"keyspace": stack.cassandra_keyspace, "table": raw_events.TABLE}
    chunks = raw_events.to_chunks(parsed)
    chunks.write.format(CASSANDRA_FORMAT).options(**table).mode("append").save()

    hours = sorted({at.replace(minute=0, second=0, microsecond=0) for at in produced.times})
    assert [iso_ms(h) for h in hours] == ["2026-03-01T10:00:00.000", "2026-03-01T11:00:00.000"]
    stored = (spark.read.format(CASSANDRA_FORMAT).options(**table).load()
              .where((F.col("site_id") == produced.site) & F.col("hour").isin(hours)))
    stored.explain()  # the partition key reaches Cassandra: no full table scan
    plan = capsys.readouterr().out
    assert '["site_id" = ?, ' + produced.site + "]" in plan
    assert '["hour" IN (?, ?), ' in plan
    events = parse_enriched(raw_events.from_chunks(stored))
    rows = events.select("site_id", "event_id", "kind", "event_time", MALFORMED,
                         RAW_JSON).collect()
    expected = [(produced.site, event["event_id"], event["kind"], event["event_time"], False,
                 json.dumps(event)) for event in produced.events]
    assert sorted(tuple(row) for row in rows) == sorted(expected)
    per_hour = sorted((iso_ms(r.hour), r.events) for r in stored.collect())
    # one partition (the producer keys by site): a chunk per hour, the second of three events
    assert per_hour == [("2026-03-01T10:00:00.000", 1), ("2026-03-01T11:00:00.000", 3)]


def test_to_pandas_on_a_small_frame(parsed, produced):
    frame = (parsed.where(~F.col(MALFORMED))
             .select("event_id", "kind", "event_time", "screen_width", "is_bot",
                     F.timestamp_millis("event_time").alias("at"))
             .orderBy("event_time", "kind")
             .toPandas())
    assert frame["event_id"].tolist() == [e["event_id"] for e in produced.events]
    assert frame["event_time"].tolist() == [e["event_time"] for e in produced.events]
    assert frame["screen_width"].tolist() == [1280] * len(produced.events)
    assert frame["is_bot"].tolist() == [False] * len(produced.events)
    assert [epoch_ms(at.tz_localize(UTC)) for at in frame["at"]] == \
        [e["event_time"] for e in produced.events]


def test_malformed_records_are_kept_in_their_own_chunks(spark, parsed, produced):
    chunks = raw_events.to_chunks(parsed).where(F.col("site_id") == raw_events.MALFORMED_SITE)
    kept = [text for row in chunks.where(F.col("kafka_topic") == produced.topic).collect()
            for text in row.payload]
    assert produced.malformed in kept


def test_the_kafka_source_reads_committed_records_only(spark, stack, tmp_path):
    """A topic as the write service leaves it after an outage: plain records (the hot
    path), a committed transaction (a relayed spool batch) and an aborted one (a relay
    killed mid-batch, whose batch the next relay sends again). Spark's source, batch and
    streaming, reads the plain and committed records once, the aborted ones never, and
    the offsets the transaction markers take are no gap it stops at."""
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"test.txn.{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic] \
        .result(30)
    plain = Producer({"bootstrap.servers": stack.bootstrap_servers, "acks": "all"})
    relay = Producer({"bootstrap.servers": stack.bootstrap_servers,
                      "transactional.id": f"test-relay-{topic}"})
    relay.init_transactions(30)

    def transaction(values: list[str], commit: bool) -> None:
        relay.begin_transaction()
        for value in values:
            relay.produce(topic, value=value.encode())
        relay.flush(30)  # in the log before the outcome, as a dying relay leaves them
        (relay.commit_transaction if commit else relay.abort_transaction)(30)

    for value in ("p1", "p2"):
        plain.produce(topic, value=value.encode())
    assert plain.flush(30) == 0
    transaction(["c1", "c2"], commit=True)
    transaction(["a1", "a2"], commit=False)
    plain.produce(topic, value=b"p3")
    assert plain.flush(30) == 0
    transaction(["c3"], commit=True)
    expected = ["p1", "p2", "c1", "c2", "p3", "c3"]

    batch = read_kafka(spark, stack, topic).select(F.col("value").cast("string"), "offset")
    rows = batch.orderBy("offset").collect()
    assert [r.value for r in rows] == expected
    assert rows[-1].offset > len(expected)  # the markers and aborted records took offsets

    stream = (read_kafka(spark, stack, topic, streaming=True)
              .select(F.col("value").cast("string"))
              .writeStream.format("memory").queryName("txn_" + topic[9:])
              .option("checkpointLocation", str(tmp_path / "checkpoint"))
              .trigger(availableNow=True).start())
    stream.awaitTermination(120)
    assert sorted(r.value for r in spark.sql(f"SELECT value FROM txn_{topic[9:]}").collect()) \
        == sorted(expected)
