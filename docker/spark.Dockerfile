# Spark 3.5.7 (Scala 2.12, Java 17) with the project's connector jars and code: the image
# of the Spark master, the workers and the speed layer's driver. Build from the repo root:
#   docker build -f docker/spark.Dockerfile -t sitelens/spark .
#
# The connector versions must be the ones the local run resolves from stack/maven/
# spark-connectors.pom.xml (tests/unit/test_docker.py compares these ARG defaults with the
# POM and the transitive versions with Spark 3.5.7's and the connector's own POMs).
ARG SPARK_IMAGE=spark:3.5.7-scala2.12-java17-python3-ubuntu
FROM ${SPARK_IMAGE}

ARG SCALA_BINARY=2.12
ARG SPARK_SQL_KAFKA_VERSION=3.5.7
ARG SPARK_CASSANDRA_CONNECTOR_VERSION=3.5.1
# what spark-sql-kafka-0-10 3.5.7 depends on (Spark itself ships everything else)
ARG KAFKA_CLIENTS_VERSION=3.4.1
ARG COMMONS_POOL2_VERSION=2.11.1
# what spark-cassandra-connector 3.5.1 depends on
ARG CASSANDRA_JAVA_DRIVER_VERSION=4.18.1
ARG CASSANDRA_DRIVER_GUAVA_VERSION=25.1-jre-graal-sub-1
ARG CASSANDRA_NATIVE_PROTOCOL_VERSION=1.5.1
ARG TYPESAFE_CONFIG_VERSION=1.4.1
ARG REACTIVE_STREAMS_VERSION=1.0.3
ARG HDRHISTOGRAM_VERSION=2.1.12
ARG MAVEN_CENTRAL=https://repo1.maven.org/maven2

USER root

# Python 3.11 (the project's Python; the image's python3 is Ubuntu's 3.10) in a venv
# without pyspark: spark-submit puts /opt/spark/python on the path of the driver and the
# Python workers, so Python and JVM are the same Spark build.
COPY constraints.txt docker/requirements/spark.txt /tmp/requirements/
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv curl ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    python3.11 -m venv /opt/sitelens/venv; \
    /opt/sitelens/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        -r /tmp/requirements/spark.txt -c /tmp/requirements/constraints.txt; \
    if /opt/sitelens/venv/bin/pip show pyspark >/dev/null 2>&1; then \
        echo "pyspark must not be installed over the image's Spark" >&2; exit 1; fi

# The connector jars, from Maven Central, where analytics.spark_session looks for them
# (<ANALYTICS_JARS_DIR>/spark-connectors/*.jar).
RUN set -eux; \
    dir=/opt/sitelens/jars/spark-connectors; mkdir -p "$dir"; cd "$dir"; \
    fetch() { curl -fsSLO "${MAVEN_CENTRAL}/$1"; }; \
    fetch "org/apache/spark/spark-sql-kafka-0-10_${SCALA_BINARY}/${SPARK_SQL_KAFKA_VERSION}/spark-sql-kafka-0-10_${SCALA_BINARY}-${SPARK_SQL_KAFKA_VERSION}.jar"; \
    fetch "org/apache/spark/spark-token-provider-kafka-0-10_${SCALA_BINARY}/${SPARK_SQL_KAFKA_VERSION}/spark-token-provider-kafka-0-10_${SCALA_BINARY}-${SPARK_SQL_KAFKA_VERSION}.jar"; \
    fetch "org/apache/kafka/kafka-clients/${KAFKA_CLIENTS_VERSION}/kafka-clients-${KAFKA_CLIENTS_VERSION}.jar"; \
    fetch "org/apache/commons/commons-pool2/${COMMONS_POOL2_VERSION}/commons-pool2-${COMMONS_POOL2_VERSION}.jar"; \
    fetch "com/datastax/spark/spark-cassandra-connector_${SCALA_BINARY}/${SPARK_CASSANDRA_CONNECTOR_VERSION}/spark-cassandra-connector_${SCALA_BINARY}-${SPARK_CASSANDRA_CONNECTOR_VERSION}.jar"; \
    fetch "com/datastax/spark/spark-cassandra-connector-driver_${SCALA_BINARY}/${SPARK_CASSANDRA_CONNECTOR_VERSION}/spark-cassandra-connector-driver_${SCALA_BINARY}-${SPARK_CASSANDRA_CONNECTOR_VERSION}.jar"; \
    fetch "org/apache/cassandra/java-driver-core-shaded/${CASSANDRA_JAVA_DRIVER_VERSION}/java-driver-core-shaded-${CASSANDRA_JAVA_DRIVER_VERSION}.jar"; \
    fetch "org/apache/cassandra/java-driver-mapper-runtime/${CASSANDRA_JAVA_DRIVER_VERSION}/java-driver-mapper-runtime-${CASSANDRA_JAVA_DRIVER_VERSION}.jar"; \
    fetch "org/apache/cassandra/java-driver-query-builder/${CASSANDRA_JAVA_DRIVER_VERSION}/java-driver-query-builder-${CASSANDRA_JAVA_DRIVER_VERSION}.jar"; \
    fetch "com/datastax/oss/java-driver-shaded-guava/${CASSANDRA_DRIVER_GUAVA_VERSION}/java-driver-shaded-guava-${CASSANDRA_DRIVER_GUAVA_VERSION}.jar"; \
    fetch "com/datastax/oss/native-protocol/${CASSANDRA_NATIVE_PROTOCOL_VERSION}/native-protocol-${CASSANDRA_NATIVE_PROTOCOL_VERSION}.jar"; \
    fetch "com/typesafe/config/${TYPESAFE_CONFIG_VERSION}/config-${TYPESAFE_CONFIG_VERSION}.jar"; \
    fetch "org/reactivestreams/reactive-streams/${REACTIVE_STREAMS_VERSION}/reactive-streams-${REACTIVE_STREAMS_VERSION}.jar"; \
    fetch "org/hdrhistogram/HdrHistogram/${HDRHISTOGRAM_VERSION}/HdrHistogram-${HDRHISTOGRAM_VERSION}.jar"; \
    ls -l "$dir"

COPY analytics/ /opt/sitelens/analytics/
COPY streaming/ /opt/sitelens/streaming/
COPY docker/entrypoints/speed-layer.sh docker/entrypoints/speed-layer-healthcheck.py /opt/sitelens/docker/entrypoints/

# State (status file) and the checkpoint folder; a named volume mounted there starts with
# this ownership (spark, uid 185, the image's user).
RUN set -eux; \
    chmod 0755 /opt/sitelens/docker/entrypoints/speed-layer.sh; \
    mkdir -p /var/lib/sitelens /checkpoints; \
    chown -R spark:spark /var/lib/sitelens /checkpoints

ENV PATH=/opt/sitelens/venv/bin:/opt/spark/bin:${PATH} \
    PYTHONPATH=/opt/sitelens:/opt/spark/python:/opt/spark/python/lib/py4j-0.10.9.7-src.zip \
    PYSPARK_PYTHON=/opt/sitelens/venv/bin/python \
    PYSPARK_DRIVER_PYTHON=/opt/sitelens/venv/bin/python \
    PYTHONUNBUFFERED=1 \
    ANALYTICS_JARS_DIR=/opt/sitelens/jars \
    ANALYTICS_STATE_DIR=/var/lib/sitelens \
    ANALYTICS_STREAMING_CHECKPOINT_DIR=/checkpoints

WORKDIR /opt/sitelens
USER spark
