"""Rows go through the real Cassandra node of the local run; migrations run once."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from analytics.storage.migrate import Migration, MigrationError, load_migrations, migrate

pytestmark = pytest.mark.integration


def test_migrations_are_recorded_and_not_rerun(stack, cql):
    recorded = {row.version: row.checksum for row in
                cql.execute("SELECT version, checksum FROM schema_migrations")}
    assert recorded == {m.version: m.checksum for m in load_migrations()}
    assert migrate(stack, cql) == []


def test_keyspace_replication_comes_from_config(stack, cql):
    row = cql.execute("SELECT replication FROM system_schema.keyspaces "
                      "WHERE keyspace_name = %s", (stack.cassandra_keyspace,)).one()
    assert dict(row.replication)["replication_factor"] == str(stack.cassandra_replication_factor)


def test_write_and_read_raw_event_chunks(cql):
    site = f"site-{uuid.uuid4().hex[:8]}"
    hour = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    payload = [json.dumps({"kind": "pageview"}), json.dumps({"kind": "custom"})]
    insert = cql.prepare(
        "INSERT INTO raw_event_chunks (site_id, hour, kafka_topic, kafka_partition, "
        "first_offset, last_offset, events, first_event_time, last_event_time, offsets, "
        "payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    first, last = datetime(2026, 3, 29, 1, 5, 7, 250000, tzinfo=UTC), \
        datetime(2026, 3, 29, 1, 59, 59, tzinfo=UTC)
    row = (site, hour, "events.raw", 2, 40, 45, 2, first, last, [40, 45], payload)
    cql.execute(insert, row)
    cql.execute(insert, row)  # a replayed micro-batch: the same chunk, upserted
    cql.execute(insert, (site, hour, "events.raw", 0, 7, 7, 1, first, first, [7], payload[:1]))
    rows = list(cql.execute("SELECT kafka_partition, first_offset, events, first_event_time, "
                            "offsets, payload FROM raw_event_chunks WHERE site_id = %s AND "
                            "hour = %s", (site, hour)))
    assert [(r.kafka_partition, r.first_offset, r.events, r.first_event_time.replace(tzinfo=UTC),
             r.offsets, r.payload) for r in rows] == [
        (0, 7, 1, first, [7], payload[:1]), (2, 40, 2, first, [40, 45], payload)]


def test_an_edited_applied_migration_is_refused(stack, cql):
    original = load_migrations()[0]
    edited = Migration(original.version, original.name, original.text + "\n-- edited\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(stack, cql, [edited])


def test_write_processes_agree_on_the_daily_salt(cql):
    from datetime import date, timedelta

    from analytics.storage.salts import CassandraSalts

    day = date(2031, 1, 1) + timedelta(days=uuid.uuid4().int % 3000)  # a day no run used
    first, second = CassandraSalts(cql), CassandraSalts(cql)  # two worker processes
    salt = first.salt_for(day)
    assert len(salt) == 32
    assert second.salt_for(day) == salt  # the second finds the first's salt (LWT)
    assert first.salt_for(day) is salt  # cached, no second round trip
    assert second.salt_for(day + timedelta(days=1)) != salt  # a new day, a new salt
