"""The cluster profile of the local run (stack/cluster.py) for the cluster tests: reused
when it is running (``make run-cluster``), else started here and stopped at the end.

Its write service trusts X-Forwarded-For here (the story's visitors are told apart by
address, as behind a proxy) and neither service limits rates (the drills' load comes
from one address); these settings go into the cluster's settings file like any other
given to a stack command, and running services are restarted with them.
"""

from __future__ import annotations

import json
import os

import pytest

from analytics.config import PREFIX, REPO_ROOT
from tests.cluster.pipeline import Pipeline

TEST_SETTINGS = {f"{PREFIX}TRUST_FORWARDED_FOR": "true",
                 f"{PREFIX}RATE_LIMIT_PER_S": "0",
                 f"{PREFIX}READ_RATE_LIMIT_PER_S": "0"}


@pytest.fixture(scope="session")
def cluster_config():
    from stack import cluster, jars, lifecycle, settings

    environ = cluster.apply({**os.environ, **TEST_SETTINGS})
    config = settings.load(environ, log=None)
    jars.resolve_all(config)
    was_running = any(row.state == "RUNNING" for row in lifecycle.status(config))
    lifecycle.start(config)
    yield config
    if not was_running:
        lifecycle.stop(config)


@pytest.fixture(scope="session")
def cluster_cql(cluster_config):
    from analytics.storage.session import connect

    cluster, session = connect(cluster_config, cluster_config.cassandra_keyspace)
    yield session
    cluster.shutdown()


@pytest.fixture(scope="session")
def pipeline(cluster_config, cluster_cql) -> Pipeline:
    from api.read.tokens import TokenStore

    _token, secret = TokenStore(cluster_cql).create(["*"], "cluster tests")
    return Pipeline(cluster_config, cluster_cql, secret)


DRILLS: list[dict] = []
DRILLS_FILE = REPO_ROOT / "bench" / "results" / "cluster-drills.json"


@pytest.fixture(scope="session")
def drills() -> list[dict]:
    """Each drill's figures; printed and written to bench/results at the end."""
    return DRILLS


def pytest_terminal_summary(terminalreporter):
    if not DRILLS:
        return
    DRILLS_FILE.parent.mkdir(parents=True, exist_ok=True)
    DRILLS_FILE.write_text(json.dumps(DRILLS, indent=1) + "\n")
    terminalreporter.section("cluster drills")
    for row in DRILLS:
        terminalreporter.line(json.dumps(row))
    terminalreporter.line(f"(kept in {DRILLS_FILE})")
