"""Set up the pipeline's schema: Kafka topics and Cassandra migrations (manual)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG
from sitelens.operators.schema_setup import ApplyMigrationsOperator, CreateTopicsOperator
from sitelens.utils.dag_defaults import START_DATE, default_args

DOC = """
### Setup: Kafka topics and Cassandra schema

Run it once on a new cluster and after every upgrade; running it again changes nothing.

* **create_topics**: creates the topics of the config (`ANALYTICS_TOPIC_*`: raw and
  invalid events, partitions, replication, retention) that do not exist yet, with the
  Kafka provider on the `sitelens_kafka` connection (bootstrap servers of the config).
  Existing topics are left alone; fewer partitions than configured is reported.
* **apply_migrations**: creates the keyspace with the configured replication and applies
  the CQL migrations of `analytics/storage/migrations/` not yet recorded in
  `schema_migrations` (each once; an applied file that was edited fails the task).

The local run (`make run`) applies the same schema itself; this DAG is for clusters.
"""

with DAG(
    dag_id="sitelens_setup",
    description="Create the Kafka topics and apply the Cassandra migrations",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=1, retry_delay=timedelta(minutes=1)),
    tags=["sitelens", "setup"],
    doc_md=DOC,
) as dag:
    create_topics = CreateTopicsOperator(
        task_id="create_topics", execution_timeout=timedelta(minutes=5),
        doc_md="Kafka topics of the config, created with their settings if missing.")
    apply_migrations = ApplyMigrationsOperator(
        task_id="apply_migrations", execution_timeout=timedelta(minutes=30),
        doc_md="Keyspace and pending CQL migrations.")
