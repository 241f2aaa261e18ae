"""Apply the pipeline's schema to running services: Kafka topics and CQL migrations."""

from __future__ import annotations

from analytics.config import Config
from analytics.kafka_topics import ensure_topics
from analytics.storage.migrate import migrate
from analytics.storage.session import connect


def apply_schema(config: Config, log=print) -> None:
    created = ensure_topics(config)
    log(f"kafka topics: {'created ' + ', '.join(created) if created else 'up to date'}")
    cluster, session = connect(config)
    try:
        applied = migrate(config, session)
    finally:
        cluster.shutdown()
    log("cassandra migrations: "
        + (f"applied {', '.join(f'{v:04d}' for v in applied)}" if applied else "up to date"))
