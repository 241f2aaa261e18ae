# Airflow 3.3.2 (CeleryExecutor) with the project's DAGs, plugins and batch job: the image
# of the api-server, scheduler, dag-processor, triggerer, the Celery workers and the
# one-shot airflow-init. Build from the repository root:
#   docker build -f docker/airflow.Dockerfile -t sitelens/airflow .
#
# python:3.11-slim + the repo's own pins rather than apache/airflow:3.3.2-python3.11 (see
# docker/README.md, "Why not the official Airflow image"): the package set is the one
# proven locally (constraints.txt) plus the image-only pins, and the venv and the code live
# at the Spark image's paths (/opt/sitelens/venv, /opt/sitelens), because the batch job's
# driver runs here and tells the executors to start its own Python (PYSPARK_PYTHON).
#
# The nightly recompute is spark-submit in CLIENT mode (PySpark apps cannot use cluster
# deploy mode on a standalone master): the driver runs in the Celery worker, so this image
# has Java 17, pyspark 3.5.7 (its spark-submit; same version as the Spark image) and the
# same connector jars as docker/spark.Dockerfile (docker/requirements/spark-connectors.txt).
FROM python:3.11-slim

ARG MAVEN_CENTRAL=https://repo1.maven.org/maven2

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    JAVA_HOME=/opt/java/openjdk

# Java 17 for the Spark driver (Spark 3.5 runs on Java 8/11/17 only), copied from the
# Eclipse Temurin image as Adoptium documents for other base images: the same JVM vendor
# as the Spark image (spark:3.5.7-... is built on eclipse-temurin:17), independent of the
# Java versions the Debian release under python:3.11-slim packages.
COPY --from=eclipse-temurin:17-jre /opt/java/openjdk /opt/java/openjdk

# Airflow, its providers, pyspark and the drivers in a venv at the Spark image's path: the
# task's Python (sys.executable) is what analytics.spark_submit passes as PYSPARK_PYTHON,
# and the executors on the Spark workers run the same path there.
COPY constraints.txt docker/requirements/airflow.txt docker/requirements/airflow-constraints.txt /tmp/requirements/
RUN set -eux; \
    python -m venv /opt/sitelens/venv; \
    /opt/sitelens/venv/bin/pip install -r /tmp/requirements/airflow.txt \
        -c /tmp/requirements/constraints.txt -c /tmp/requirements/airflow-constraints.txt; \
    /opt/sitelens/venv/bin/pip check; \
    /opt/java/openjdk/bin/java -version; \
    rm -rf /tmp/requirements

# The connector jars, from Maven Central (SHA-256 checked), where analytics.spark_session
# looks for them (<ANALYTICS_JARS_DIR>/spark-connectors/*.jar): the driver puts them on
# its class path and serves them to the executors.
COPY docker/requirements/spark-connectors.txt docker/build/fetch_maven_jars.py /tmp/jars/
RUN python /tmp/jars/fetch_maven_jars.py --repository "${MAVEN_CENTRAL}" \
        /tmp/jars/spark-connectors.txt /opt/sitelens/jars/spark-connectors \
    && rm -rf /tmp/jars

# The code at the repository's layout (REPO_ROOT = /opt/sitelens, as in the Spark image).
COPY analytics/ /opt/sitelens/analytics/
COPY batch/ /opt/sitelens/batch/
COPY dags/ /opt/sitelens/dags/
COPY plugins/ /opt/sitelens/plugins/
COPY stack/__init__.py stack/airflow.py stack/postgres.py stack/process_groups.py stack/settings.py /opt/sitelens/stack/
COPY docker/entrypoints/airflow-entrypoint.py docker/entrypoints/airflow-healthcheck.py /opt/sitelens/docker/entrypoints/

# The airflow user (uid 50000, group 0, as in Airflow's own image); AIRFLOW_HOME with the
# logs and the simple auth manager's passwords (named volumes mounted there start with
# this ownership), and the project's state folder.
RUN set -eux; \
    useradd --uid 50000 --gid 0 --home-dir /opt/airflow --no-create-home --shell /bin/bash airflow; \
    mkdir -p /opt/airflow/logs /opt/airflow/auth /var/lib/sitelens; \
    chown -R airflow:0 /opt/airflow /var/lib/sitelens; \
    chmod 0700 /opt/airflow/auth

# What every Airflow process of this project has (stack.airflow.airflow_env, at the
# image's paths): the DAGs and plugins folders, no example DAGs, the repo and the plugins
# on the path. The deployment's settings (executor, database, broker, secrets, API
# address) are AIRFLOW__* variables in docker/compose.yaml; the connections are made by
# the entry point from the ANALYTICS_* config.
ENV PATH=/opt/sitelens/venv/bin:/opt/java/openjdk/bin:${PATH} \
    PYTHONPATH=/opt/sitelens:/opt/sitelens/plugins \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/sitelens/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/sitelens/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    ANALYTICS_JARS_DIR=/opt/sitelens/jars \
    ANALYTICS_STATE_DIR=/var/lib/sitelens

WORKDIR /opt/sitelens
USER airflow
EXPOSE 8080

ENTRYPOINT ["python", "/opt/sitelens/docker/entrypoints/airflow-entrypoint.py"]
CMD ["version"]
