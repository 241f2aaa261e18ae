# The read service (Falcon WSGI under gunicorn, gthread workers): reports, the Tableau
# connector page (/tableau) and .hyper extracts, and the ad-hoc Spark jobs it submits.
#
# Built FROM the Spark image (docker/spark.Dockerfile), not next to it: an ad-hoc job is
# spark-submit in CLIENT mode, so its driver runs in this container and its executors
# on the Spark workers. On this base the driver has the executors' Spark 3.5.7 build
# (/opt/spark, its pyspark on PYTHONPATH), Java 17, the connector jars fetched from
# docker/requirements/spark-connectors.txt (SHA-256 checked) and the venv and code at the
# same paths (/opt/sitelens/venv/bin/python is PYSPARK_PYTHON on both sides): nothing of
# that is repeated here. Compose builds the Spark image first (additional_contexts
# `service:spark-master` under this FROM's name); by hand, from the repository root:
#   docker build -f docker/spark.Dockerfile -t sitelens/spark .
#   docker build -f docker/read-api.Dockerfile -t sitelens/read-api .
# tableauhyperapi ships a manylinux x86_64 wheel only: build both images for linux/amd64.
FROM sitelens/spark:latest

USER root

# The read service's packages into the Spark image's venv, pinned by the repo's
# constraints.txt (the venv's own packages came from the same file); still no pyspark
# from PyPI: the image's Spark is the one used.
COPY constraints.txt docker/requirements/read-api.txt /tmp/requirements/
RUN set -eux; \
    /opt/sitelens/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        -r /tmp/requirements/read-api.txt -c /tmp/requirements/constraints.txt; \
    /opt/sitelens/venv/bin/pip check; \
    if /opt/sitelens/venv/bin/pip show pyspark >/dev/null 2>&1; then \
        echo "pyspark must not be installed over the image's Spark" >&2; exit 1; fi; \
    rm -rf /tmp/requirements

# api/ next to the base's analytics/, batch/ (batch/adhoc.py, the ad-hoc job's driver)
# and streaming/, at the repository's layout (REPO_ROOT = /opt/sitelens).
COPY api/ /opt/sitelens/api/
COPY docker/entrypoints/read-api-healthcheck.py /opt/sitelens/docker/entrypoints/

# Container defaults; compose overrides them with ANALYTICS_* too. The base sets
# ANALYTICS_JARS_DIR, ANALYTICS_STATE_DIR, PATH (venv first), PYTHONPATH and PYSPARK_*.
# gunicorn_conf.py binds ANALYTICS_READ_API_HOST:ANALYTICS_READ_API_PORT.
ENV SPARK_HOME=/opt/spark \
    ANALYTICS_READ_API_HOST=0.0.0.0 \
    ANALYTICS_READ_API_PORT=8001

WORKDIR /opt/sitelens
USER spark
EXPOSE 8001

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/sitelens/docker/entrypoints/read-api-healthcheck.py"]

# tini (in the Spark image) as PID 1 instead of the base's Kubernetes entry point: it
# forwards signals to gunicorn and reaps what the ad-hoc jobs' spark-submit leaves.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gunicorn", "-c", "api/read/gunicorn_conf.py", "api.read.wsgi:app"]
