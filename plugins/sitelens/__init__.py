"""Sitelens's Airflow hooks, operators and sensors, split like the official providers.

The DAGs import them as ``sitelens.hooks.analytics_store``, ``sitelens.operators.*`` and
``sitelens.sensors.*`` (Airflow puts the plugins folder on ``sys.path``; the local run also
puts it on ``PYTHONPATH``). Importing any of them is cheap: the project's heavy modules
(Cassandra driver, pyspark, ``analytics.*``) are imported when a task runs, never while the
DAG processor parses a DAG file. The exceptions are the two import-free constants modules
``analytics.airflow_connections`` and ``analytics.spark_apps`` (the repository is on the
path of every Airflow process: ``stack.airflow.airflow_env``, the Airflow image's
``PYTHONPATH``).

Every task reads the project's configuration with ``Config.from_env()`` (the ``ANALYTICS_*``
variables that ``stack.airflow.airflow_env`` sets for Airflow) and reaches Spark and Kafka
through the two connections below, which the same function makes from that config.
"""

from analytics.airflow_connections import KAFKA_CONN_ID, SPARK_CONN_ID

__all__ = ["KAFKA_CONN_ID", "SPARK_CONN_ID"]
