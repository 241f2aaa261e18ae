# The write service (Falcon ASGI under gunicorn). Build from the repository root:
#   docker build -f docker/write-api.Dockerfile -t sitelens/write-api .
# The same image runs the one-shot `python -m stack schema` (Kafka topics, Cassandra
# migrations) and `python -m api.manage` (sites).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY constraints.txt docker/requirements/write-api.txt /tmp/requirements/
RUN pip install -r /tmp/requirements/write-api.txt -c /tmp/requirements/constraints.txt \
    && useradd --system --uid 10001 --home-dir /app sitelens \
    && mkdir -p /var/lib/sitelens \
    && chown sitelens /var/lib/sitelens

COPY analytics/ /app/analytics/
COPY api/ /app/api/
COPY stack/ /app/stack/
COPY tracker/dist/ /app/tracker/dist/
COPY tracker/demo/ /app/tracker/demo/
COPY docker/entrypoints/write-api-healthcheck.py /app/docker/entrypoints/

# Container defaults; compose (or any orchestrator) overrides them with ANALYTICS_* too.
# gunicorn_conf.py binds ANALYTICS_WRITE_API_HOST:ANALYTICS_WRITE_API_PORT.
ENV ANALYTICS_STATE_DIR=/var/lib/sitelens \
    ANALYTICS_WRITE_API_HOST=0.0.0.0 \
    ANALYTICS_WRITE_API_PORT=8000

USER sitelens
EXPOSE 8000
VOLUME ["/var/lib/sitelens"]

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/docker/entrypoints/write-api-healthcheck.py"]

CMD ["gunicorn", "-c", "api/write/gunicorn_conf.py", "api.write.asgi:app"]
