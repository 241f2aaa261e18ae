"""Spark sessions built from config, and the Kafka read every Spark job starts with.

``spark_session(config, app_name)`` is the only place a SparkSession is configured: the
master (``local[2]`` on one machine, a cluster URL the same way), the connector jars that
``python -m stack setup`` resolves into ``<jars_dir>/spark-connectors`` (Kafka source and
Spark Cassandra Connector, Scala 2.12 builds for pyspark 3.5), the Cassandra contact
points, UTC as the session time zone and few shuffle partitions for small local data.
The Cassandra login (:func:`spark_credentials`) is set here by the driver itself, from the
config it reads back from its environment, never on ``spark-submit``'s command line.

``parse_enriched`` is a pure ``DataFrame -> DataFrame`` step shared by the speed and batch
layers: Kafka records in, one column per enriched-event field out (the schema comes from
``analytics/schemas/enriched_event``), with records that do not parse kept and flagged
instead of dropped.

pyspark is imported inside the functions, so importing this module stays cheap (the stack
CLI lists the connector jars through :func:`connector_jars`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.config import Config
from analytics.event_schema import enriched_schema, spark_schema
from analytics.kafka_settings import spark_source_options

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"
CASSANDRA_EXTENSIONS = "com.datastax.spark.connector.CassandraSparkExtensions"

RAW_JSON = "raw_json"
"""The Kafka value as text (null only for a record without a value)."""
MALFORMED = "malformed"
"""True when the value is not an enriched event: not JSON, not an object, a field of the
wrong type, or a required field missing. The event columns of such a row are null."""
KAFKA_COLUMNS = ("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp")

Offsets = str | Mapping[int, int]


class SparkSetupError(RuntimeError):
    """Spark cannot be configured from this config (e.g. the connector jars are missing)."""


def connector_jars(config: Config) -> list[Path]:
    """The jars for ``spark.jars``: the Kafka source and the Cassandra connector."""
    return sorted(config.spark_connectors_dir.glob("*.jar"))


def is_local_master(master: str) -> bool:
    return master == "local" or master.startswith(("local[", "local-cluster["))


def spark_conf(config: Config, app_name: str, *, check_jars: bool = True) -> dict[str, str]:
    """Every setting the session gets from config, but the secrets
    (:func:`spark_credentials`): these are what ``spark-submit`` gets on its command line.
    ``check_jars=False`` describes a launch before ``python -m stack setup`` has fetched
    the jars (the local run's service list); a job started that way without them fails on
    its first Kafka read."""
    jars = connector_jars(config)
    if check_jars and not jars:
        raise SparkSetupError(f"no Spark connector jars in {config.spark_connectors_dir}; "
                              "run `python -m stack setup`")
    local = is_local_master(config.spark_master)
    conf = {
        "spark.master": config.spark_master,
        "spark.app.name": app_name,
        "spark.jars": ",".join(str(jar.resolve()) for jar in jars),
        "spark.driver.memory": config.spark_driver_memory,
        "spark.sql.shuffle.partitions": str(config.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.extensions": CASSANDRA_EXTENSIONS,
        "spark.sql.debug.maxToStringFields": "100",  # parsed events have 42 columns
        "spark.cassandra.connection.host": ",".join(config.cassandra_hosts),
        "spark.cassandra.connection.port": str(config.cassandra_port),
        "spark.cassandra.connection.localDC": config.cassandra_datacenter,
        "spark.cassandra.input.consistency.level": config.cassandra_consistency.upper(),
        "spark.cassandra.output.consistency.level": config.cassandra_consistency.upper(),
        "spark.cassandra.output.batch.size.bytes": str(config.cassandra_write_batch_bytes),
        "spark.cassandra.output.concurrent.writes": str(config.cassandra_write_concurrency),
        # keep the connector's pooled sessions between micro-batches (reconnecting costs
        # about a second on the first write after an idle spell)
        "spark.cassandra.connection.keepAliveMS": "600000",
        "spark.ui.enabled": "true" if config.spark_ui_enabled else "false",
        "spark.ui.port": str(config.spark_ui_port),
        "spark.ui.showConsoleProgress": "false",
    }
    # A cluster's workers keep their own scratch folders unless one is set explicitly.
    if local or config.spark_local_dir is not None:
        conf["spark.local.dir"] = str(config.spark_local_path)
    driver_host = config.spark_driver_host or ("127.0.0.1" if local else "")
    if driver_host:
        conf["spark.driver.host"] = driver_host
    if local:
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    return conf


def spark_credentials(config: Config) -> dict[str, str]:
    """The Spark Cassandra Connector's login (``cassandra_username``; none when empty).
    Only :func:`spark_session` sets it, in the driver, which has the config in its
    environment (``analytics.spark_submit.submit_env``): on ``spark-submit``'s command line
    the password would show in the process list and in what the launchers print. The
    executors get it with the rest of the driver's settings; Spark's UI redacts it."""
    if not config.cassandra_username:
        return {}
    return {"spark.cassandra.auth.username": config.cassandra_username,
            "spark.cassandra.auth.password": config.cassandra_password}


def spark_session(config: Config, app_name: str) -> SparkSession:
    """A SparkSession configured from ``config`` (:func:`spark_conf` and
    :func:`spark_credentials`).

    Settings that start the JVM (jars, memory, master) only apply to the first session of
    a Python process; a later call returns that session with its SQL settings updated.
    """
    from pyspark.sql import SparkSession

    conf = {**spark_conf(config, app_name), **spark_credentials(config)}
    if "spark.local.dir" in conf:
        Path(conf["spark.local.dir"]).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(config.spark_log_level)
    return spark


def stop_spark(spark: SparkSession) -> None:
    """Stop the session and close the Cassandra connector's pooled driver sessions.

    From Python the JVM outlives ``spark.stop()``; without the eviction its cached
    Cassandra sessions stay open and keep reconnecting (and logging) once the node is gone.
    """
    jvm = spark.sparkContext._jvm
    spark.stop()
    jvm.com.datastax.spark.connector.cql.CassandraConnector.evictCache()


def write_cassandra(rows: DataFrame, keyspace: str, table: str, *, ttl_s: int | None = None,
                    ignore_nulls: bool = False) -> None:
    """Upsert ``rows`` into a Cassandra table (columns by name). ``ttl_s``: the cells
    expire after that long; ``ignore_nulls``: a null is not written at all (rows written
    for the first time need no tombstone for their empty cells)."""
    writer = rows.write.format(CASSANDRA_FORMAT).mode("append").options(
        keyspace=keyspace, table=table)
    if ttl_s:
        writer = writer.option("spark.cassandra.output.ttl", str(ttl_s))
    if ignore_nulls:
        writer = writer.option("spark.cassandra.output.ignoreNulls", "true")
    writer.save()


def _offsets_option(topic: str, offsets: Offsets) -> str:
    """"earliest"/"latest"/a JSON string as given; {partition: offset} as Spark's JSON."""
    if isinstance(offsets, str):
        return offsets
    return json.dumps({topic: {str(p): int(o) for p, o in offsets.items()}})


def read_kafka(spark: SparkSession, config: Config, topic: str, starting: Offsets = "earliest",
               *, ending: Offsets = "latest", streaming: bool = False,
               options: Mapping[str, str] | None = None) -> DataFrame:
    """Kafka records of ``topic`` (columns key, value, topic, partition, offset, timestamp,
    timestampType) as a batch DataFrame from ``starting`` to ``ending`` (exclusive), or as
    a streaming one from ``starting`` on. Offsets are "earliest", "latest" or a mapping of
    partition to offset; ``options`` add or override Kafka source options. How it connects
    (servers, security, login) comes from :func:`analytics.kafka_settings.spark_source_options`.
    Committed records only: the write service's spool relay writes in Kafka transactions,
    and a batch of an aborted one (a relay killed mid-batch) is sent again by the next."""
    settings = {
        **spark_source_options(config),
        "kafka.isolation.level": "read_committed",
        "subscribe": topic,
        "startingOffsets": _offsets_option(topic, starting),
    }
    if not streaming:
        settings["endingOffsets"] = _offsets_option(topic, ending)
    settings.update(options or {})
    reader = spark.readStream if streaming else spark.read
    return reader.format("kafka").options(**settings).load()


def parse_enriched(df: DataFrame, fields: Sequence[str] | None = None) -> DataFrame:
    """Kafka records -> one column per enriched-event field, then ``raw_json``,
    ``malformed`` and the Kafka coordinates (``kafka_topic`` ... ``kafka_timestamp``).

    Nothing is dropped: a record that is not an enriched event has ``malformed`` true and
    null event columns, and keeps its text in ``raw_json`` to be counted or set aside.
    ``fields``: parse only these fields and the required ones (which decide
    ``malformed`` exactly as a full parse does); default every field.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    schema = spark_schema()
    if fields is not None:
        wanted = set(fields) | set(enriched_schema()["required"])
        schema = StructType([field for field in schema.fields if field.name in wanted])
    text = F.col("value").cast("string")
    # A value that is not a JSON object, or has a field of the wrong type, parses to
    # nulls, so the required-field check below flags it.
    parsed = F.from_json(text, schema)
    # inline(array(struct)) yields the same single row, but as a Generate: the optimizer
    # cannot push a filter on the parsed fields (``malformed``, every field check) below
    # it, which would evaluate from_json once per referenced field (5x slower).
    staged = df.select(F.inline(F.array(F.struct(
        parsed.alias("_event"),
        text.alias(RAW_JSON),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
    ))))
    event = F.col("_event")
    complete = event.isNotNull()
    for name in enriched_schema()["required"]:
        complete = complete & event[name].isNotNull()
    staged = staged.withColumn(MALFORMED, ~F.coalesce(complete, F.lit(False)))
    fields = [F.when(~F.col(MALFORMED), event[name]).alias(name) for name in schema.fieldNames()]
    return staged.select(*fields, RAW_JSON, MALFORMED, *KAFKA_COLUMNS)
