"""Sitelens's Airflow hooks, operators and sensors, split like the official providers.

The DAGs import them as ``sitelens.hooks.analytics_store``, ``sitelens.operators.*`` and
``sitelens.sensors.*`` (Airflow puts the plugins folder on ``sys.path``; the local run also
puts it on ``PYTHONPATH``). Importing any of them is cheap: the project's heavy modules
(Cassandra driver, pyspark, ``analytics.*``) are imported when a task runs, never while the
DAG processor parses a DAG file.

Every task reads the project's configuration with ``Config.from_env()`` (the ``ANALYTICS_*``
variables that ``stack.airflow.airflow_env`` sets for Airflow) and reaches Spark and Kafka
through the two connections below, which the same function makes from that config.
"""

SPARK_CONN_ID = "sitelens_spark"
"""Spark connection: the master of ``ANALYTICS_SPARK_MASTER`` (``local[2]`` or a cluster)."""
KAFKA_CONN_ID = "sitelens_kafka"
"""Kafka connection: ``bootstrap.servers`` of the config."""
