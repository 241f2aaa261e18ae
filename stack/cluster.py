"""The cluster profile of the local run: the same services as the single-node run, on a
3-broker Kafka, a 3-node Cassandra and a Spark standalone cluster (a master and 2
workers), each node a process of this machine on its own loopback address, with a state
folder and ports of its own (``python -m stack --cluster run``, ``make run-cluster``).

:data:`SHARED_WITH_DOCKER` are the settings the multi-node deployment in ``docker/``
sets too, with the same values (a unit test holds them equal): what the cluster tests
and fault drills prove is what that deployment runs with. The rest only places the nodes
on this machine.

Memory, from the heaps each process is given: 3 Cassandra nodes x 768 MB heap (plus
off-heap), 3 brokers x 512 MB, Spark's master and workers x 256 MB and 4 executors x 1 GB
(2 per application: the speed layer and a batch job), 2 drivers x 1 GB, Airflow, the
write and read services and PostgreSQL as in the single-node run. ``free`` showed 12 GiB
used with the whole profile running and a batch job on it (a single-node Kafka and
Cassandra running beside it): it fits this machine's 24 GiB with room for the tests.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from analytics.config import PREFIX, REPO_ROOT

NODES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")

SHARED_WITH_DOCKER = {
    f"{PREFIX}CASSANDRA_DATACENTER": "dc1",
    f"{PREFIX}CASSANDRA_REPLICATION_CLASS": "NetworkTopologyStrategy",
    f"{PREFIX}CASSANDRA_REPLICATION_FACTOR": "3",
    f"{PREFIX}CASSANDRA_CONSISTENCY": "LOCAL_QUORUM",
    f"{PREFIX}TOPIC_PARTITIONS": "12",
    f"{PREFIX}TOPIC_REPLICATION": "3",
    f"{PREFIX}SPARK_DRIVER_MEMORY": "1g",
    f"{PREFIX}BATCH_DRIVER_MEMORY": "1g",
    f"{PREFIX}BATCH_SHUFFLE_PARTITIONS": "8",
}

PLACEMENT = {
    f"{PREFIX}STATE_DIR": str(REPO_ROOT / ".state-cluster"),
    f"{PREFIX}LOCAL_NODES": str(len(NODES)),
    f"{PREFIX}KAFKA_PORT": "19092",
    f"{PREFIX}KAFKA_CONTROLLER_PORT": "19093",
    f"{PREFIX}KAFKA_BOOTSTRAP": ",".join(f"{host}:19092" for host in NODES),
    f"{PREFIX}CASSANDRA_HOSTS": ",".join(NODES),
    f"{PREFIX}CASSANDRA_PORT": "19042",
    f"{PREFIX}CASSANDRA_STORAGE_PORT": "17000",
    f"{PREFIX}CASSANDRA_JMX_PORT": "17199",
    f"{PREFIX}LOCAL_SPARK_WORKERS": "2",
    f"{PREFIX}SPARK_MASTER": "spark://127.0.0.1:17077",
    f"{PREFIX}SPARK_DRIVER_HOST": "127.0.0.1",
    f"{PREFIX}SPARK_UI_PORT": "14040",
    f"{PREFIX}WRITE_API_PORT": "18000",
    f"{PREFIX}READ_API_PORT": "18001",
    f"{PREFIX}AIRFLOW_PORT": "18080",
    f"{PREFIX}POSTGRES_PORT": "15433",
}

PROFILE = {**SHARED_WITH_DOCKER, **PLACEMENT}


def apply(environ: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Put the profile into ``environ`` (the process's by default) under what it sets
    already: a setting given explicitly wins, as everywhere in the local run."""
    environ = os.environ if environ is None else environ
    for name, value in PROFILE.items():
        environ.setdefault(name, value)
    return environ
