"""The ids of the Airflow connections the DAGs use, named once: ``stack.airflow`` makes
them from config (``AIRFLOW_CONN_*`` variables; the Docker entry point does the same) and
the plugins (``sitelens``) use them.

Pure Python without imports: the plugins import it while the DAG processor parses the
DAG files.
"""

from __future__ import annotations

SPARK_CONN_ID = "sitelens_spark"
"""Spark connection: where batch jobs run, the master of ``ANALYTICS_SPARK_MASTER``
(``local[2]`` or a cluster), deploy mode client."""
KAFKA_CONN_ID = "sitelens_kafka"
"""Kafka connection: the cluster of the config (``analytics.kafka_settings.client_settings``:
bootstrap servers, and security settings where set) for the Kafka provider's hooks."""
