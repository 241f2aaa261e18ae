"""Fixtures shared by every test.

Integration tests use the real services of the local run. The ``stack`` fixture reuses
them when they are already running (``make run``) and otherwise starts them once per
test run and stops them at the end. Tests get their own keyspace and topic names, so
they never touch the data of a local run.
"""

from __future__ import annotations

import pytest

from analytics.config import Config


@pytest.fixture(scope="session")
def config() -> Config:
    from stack import settings

    return settings.load(log=None).replace(
        cassandra_keyspace="analytics_test",
        topic_raw_events="test.events.raw",
        topic_invalid_events="test.events.invalid",
    )


@pytest.fixture(scope="session")
def stack(config: Config):
    from stack import jars, lifecycle
    from stack.schema import apply_schema

    jars.resolve_all(config)
    stores = ["kafka", "cassandra"]  # the write service is started by its own tests
    before = {row.name: row for row in lifecycle.status(config)}
    started = [name for name in stores if not before[name].ready]
    if started:
        lifecycle.start(config, started)
    apply_schema(config)
    yield config
    if started:
        nothing_else = all(before[n].state != "RUNNING" for n in before if n not in stores)
        lifecycle.stop(config, None if nothing_else else started)


@pytest.fixture(scope="session")
def cql(stack: Config):
    from analytics.storage.session import connect

    cluster, session = connect(stack, stack.cassandra_keyspace)
    yield session
    cluster.shutdown()
