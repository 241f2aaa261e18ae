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


def test_write_and_read_raw_events(cql):
    site = f"site-{uuid.uuid4().hex[:8]}"
    hour = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    events = [
        (uuid.uuid4(), datetime(2026, 3, 29, 1, 5, 7, 250000, tzinfo=UTC), "pageview"),
        (uuid.uuid4(), datetime(2026, 3, 29, 1, 59, 59, tzinfo=UTC), "custom"),
    ]
    insert = cql.prepare("INSERT INTO raw_events (site_id, hour, event_time, event_id, kind, "
                         "payload) VALUES (?, ?, ?, ?, ?, ?)")
    for event_id, at, kind in events:
        cql.execute(insert, (site, hour, at, event_id, kind, json.dumps({"kind": kind})))
    cql.execute(insert, (site, hour, events[0][1], events[0][0], "pageview",
                         json.dumps({"kind": "pageview"})))  # the same event again: upsert
    rows = list(cql.execute("SELECT event_time, event_id, kind, payload FROM raw_events "
                            "WHERE site_id = %s AND hour = %s", (site, hour)))
    assert [(r.event_id, r.event_time.replace(tzinfo=UTC), r.kind) for r in rows] == \
        events
    assert json.loads(rows[1].payload) == {"kind": "custom"}


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
