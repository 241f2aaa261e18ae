"""The local run's Kafka brokers and Cassandra nodes: one of each, or a cluster of
``local_nodes`` with node i listening on 127.0.0.i (Linux routes all of 127/8 to the
loopback device), every node on the same ports, each with its own folders.

One node keeps the names ``kafka`` and ``cassandra`` and the folders it always had;
cluster nodes are ``kafka-1``.. and ``cassandra-1``... A cluster's Kafka brokers are
KRaft controllers too (a quorum of all of them); its Cassandra nodes are in the
datacenter ``cassandra_datacenter`` (GossipingPropertyFileSnitch), node 1 the seed, and
join one after the other the first time (a new node must not take tokens beside another
joining one). A cluster node is not restarted when it dies (a fault drill's lost machine).
"""

from __future__ import annotations

import base64
import subprocess
import uuid

from analytics.config import Config
from analytics.kafka_topics import broker_ready
from analytics.storage.session import node_ready
from stack.service_spec import Layout, Service, classpath, marker, render

# Cassandra's own conf/jvm17-server.options (5.0): module access the node needs on Java 17.
CASSANDRA_JAVA17_OPTIONS = [
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
    "--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.math=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/java.net=ALL-UNNAMED",
]


def node_host(config: Config, base_host: str, i: int) -> str:
    """Where node ``i`` (1-based) listens: ``base_host`` for a single node."""
    return base_host if config.local_nodes == 1 else f"127.0.0.{i}"


def _name(config: Config, kind: str, i: int) -> str:
    return kind if config.local_nodes == 1 else f"{kind}-{i}"


def kafka_nodes(config: Config) -> list[Service]:
    return [kafka_node(config, i) for i in range(1, config.local_nodes + 1)]


def cassandra_nodes(config: Config) -> list[Service]:
    return [cassandra_node(config, i) for i in range(1, config.local_nodes + 1)]


def kafka_cluster_id(config: Config) -> str:
    """The id every broker's storage is formatted with (made once per state folder)."""
    path = Layout(config).data / "kafka-cluster-id"
    if not path.exists() or path.read_text().startswith("-"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_cluster_id())
    return path.read_text().strip()


def new_cluster_id() -> str:
    """A random id as Kafka makes them: 16 bytes in URL-safe base64, never starting with
    "-" (the storage tool would read such an id as an option; one in 64 did)."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found


def kafka_properties(config: Config, i: int) -> dict:
    """The values of node ``i``'s ``server.properties`` (stack/templates)."""
    n = config.local_nodes
    voters = ",".join(f"{k}@{node_host(config, config.kafka_host, k)}:"
                      f"{config.kafka_controller_port}" for k in range(1, n + 1))
    return dict(node_id=i, voters=voters, kafka_host=node_host(config, config.kafka_host, i),
                kafka_port=config.kafka_port, kafka_controller_port=config.kafka_controller_port,
                data_dir=Layout(config).data / _name(config, "kafka", i),
                partitions=config.topic_partitions, replication=min(3, n),
                min_insync=min(2, n))


def kafka_node(config: Config, i: int) -> Service:
    layout = Layout(config)
    name = _name(config, "kafka", i)
    n = config.local_nodes
    conf = layout.conf / name
    data = layout.data / name
    properties = conf / "server.properties"
    host = node_host(config, config.kafka_host, i)
    java = ["java", f"-Xms{config.kafka_heap}", f"-Xmx{config.kafka_heap}",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={conf / 'log4j2.xml'}", marker(config),
            "-cp", classpath(config.jars_dir / "kafka")]

    def prepare() -> None:
        render("kafka.server.properties", properties, **kafka_properties(config, i))
        render("kafka.log4j2.xml", conf / "log4j2.xml")
        if not (data / "meta.properties").exists():
            subprocess.run(java + ["kafka.tools.StorageTool", "format", "-t",
                                   kafka_cluster_id(config), "-c", str(properties)],
                           check=True, capture_output=True, text=True, timeout=120)

    node = config.replace(kafka_bootstrap=f"{host}:{config.kafka_port}")
    return Service(
        name=name,
        command=java + ["kafka.Kafka", str(properties)],
        ports={"kafka": config.kafka_port, "kafka-controller": config.kafka_controller_port},
        ready=lambda: broker_ready(node, node_id=i),
        address=f"kafka://{host}:{config.kafka_port}",
        prepare=prepare,
        start_timeout_s=min(config.start_timeout_s, 90.0),
        bind_host=host,
        restart_on_crash=n == 1,
    )


def cassandra_node(config: Config, i: int) -> Service:
    layout = Layout(config)
    name = _name(config, "cassandra", i)
    n = config.local_nodes
    conf = layout.conf / name
    data = layout.data / name
    jars = config.jars_dir / "cassandra"
    jamm = next(iter(sorted(jars.glob("jamm-*.jar"))), jars / "jamm.jar")
    host = node_host(config, config.cassandra_hosts[0], i)
    seed = node_host(config, config.cassandra_hosts[0], 1)

    def prepare() -> None:
        render("cassandra.yaml", conf / "cassandra.yaml", data_dir=data,
               cassandra_host=host, cassandra_port=config.cassandra_port,
               cassandra_storage_port=config.cassandra_storage_port,
               seeds=f"{seed}:{config.cassandra_storage_port}",
               snitch="SimpleSnitch" if n == 1 else "GossipingPropertyFileSnitch",
               replication=min(3, n))
        (conf / "cassandra-rackdc.properties").write_text(
            f"dc={config.cassandra_datacenter}\nrack=rack{i}\n")
        render("cassandra.logback.xml", conf / "logback.xml")
        for sub in ("data", "commitlog", "saved_caches", "hints", "cdc_raw"):
            (data / sub).mkdir(parents=True, exist_ok=True)

    cluster_options = [] if n == 1 else [
        # nodetool's way in; local JMX binds 127.0.0.1 only, so each node has its own port
        f"-Dcassandra.jmx.local.port={config.cassandra_jmx_port + i - 1}",
    ]
    command = [
        "java", f"-Xms{config.cassandra_heap}", f"-Xmx{config.cassandra_heap}", "-Xss256k",
        "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=200",
        "-XX:MaxDirectMemorySize=512m", "-Djava.net.preferIPv4Stack=true",
        f"-javaagent:{jamm}", *CASSANDRA_JAVA17_OPTIONS, *cluster_options,
        f"-Dcassandra.config=file://{conf / 'cassandra.yaml'}",
        f"-Dlogback.configurationFile={conf / 'logback.xml'}",
        f"-Dcassandra.logdir={layout.logs}", f"-Dcassandra.storagedir={data}",
        "-Dcassandra-foreground=yes", "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=1000",  # loopback peers: nothing slow to wait for
        marker(config),
        "-cp", f"{conf}:{classpath(jars)}",
        "org.apache.cassandra.service.CassandraDaemon",
    ]
    node = config.replace(cassandra_hosts=(host,))
    return Service(
        name=name,
        command=command,
        ports={"cql": config.cassandra_port, "storage": config.cassandra_storage_port},
        ready=lambda: node_ready(node, only_host=True),
        address=f"cql://{host}:{config.cassandra_port}",
        prepare=prepare,
        start_timeout_s=config.start_timeout_s,
        stop_wait_s=90,
        bind_host=host,
        after=() if i == 1 else (_name(config, "cassandra", i - 1),),
        restart_on_crash=n == 1,
    )


def nodetool(config: Config, i: int, *args: str, timeout: float = 600.0
             ) -> subprocess.CompletedProcess:
    """Cassandra's nodetool against local node ``i`` (a cluster's: JMX is on there only)."""
    jars = config.jars_dir / "cassandra"
    quiet = Layout(config).conf / "nodetool.logback.xml"  # its jars log DEBUG otherwise
    quiet.parent.mkdir(parents=True, exist_ok=True)
    quiet.write_text('<configuration><root level="OFF"/></configuration>\n')
    return subprocess.run(
        ["java", "-Xmx128m", *CASSANDRA_JAVA17_OPTIONS,
         f"-Dlogback.configurationFile={quiet}", "-cp", classpath(jars),
         "org.apache.cassandra.tools.NodeTool", "-h", "127.0.0.1",
         "-p", str(config.cassandra_jmx_port + i - 1), *args],
        capture_output=True, text=True, timeout=timeout)
