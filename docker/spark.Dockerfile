# Spark 3.5.7 (Scala 2.12, Java 17) with the project's connector jars and code: the image
# of the Spark master, the workers and the speed layer's driver; its executors also run
# the batch job that Airflow submits (docker/airflow.Dockerfile). Build from the repo root:
#   docker build -f docker/spark.Dockerfile -t sitelens/spark .
#
# The connector jars are the ones of docker/requirements/spark-connectors.txt (the same
# list the Airflow image bakes in), which tests/unit/test_docker.py compares with
# stack/maven/spark-connectors.pom.xml and with the jars the local run resolves.
ARG SPARK_IMAGE=spark:3.5.7-scala2.12-java17-python3-ubuntu
FROM ${SPARK_IMAGE}

ARG MAVEN_CENTRAL=https://repo1.maven.org/maven2

USER root

# Python 3.11 (the project's Python; the image's python3 is Ubuntu's 3.10) in a venv
# without pyspark: spark-submit puts /opt/spark/python on the path of the driver and the
# Python workers, so Python and JVM are the same Spark build.
COPY constraints.txt docker/requirements/spark.txt /tmp/requirements/
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    python3.11 -m venv /opt/sitelens/venv; \
    /opt/sitelens/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        -r /tmp/requirements/spark.txt -c /tmp/requirements/constraints.txt; \
    if /opt/sitelens/venv/bin/pip show pyspark >/dev/null 2>&1; then \
        echo "pyspark must not be installed over the image's Spark" >&2; exit 1; fi

# The connector jars, from Maven Central (SHA-256 checked), where analytics.spark_session
# looks for them (<ANALYTICS_JARS_DIR>/spark-connectors/*.jar).
COPY docker/requirements/spark-connectors.txt docker/build/fetch_maven_jars.py /tmp/jars/
RUN /opt/sitelens/venv/bin/python /tmp/jars/fetch_maven_jars.py --repository "${MAVEN_CENTRAL}" \
        /tmp/jars/spark-connectors.txt /opt/sitelens/jars/spark-connectors \
    && rm -rf /tmp/jars

COPY analytics/ /opt/sitelens/analytics/
COPY streaming/ /opt/sitelens/streaming/
# batch/ too: the executors of the batch job (its driver runs in an Airflow worker)
COPY batch/ /opt/sitelens/batch/
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
