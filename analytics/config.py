"""The one configuration object.

Every setting comes from an environment variable (prefix ``ANALYTICS_``) with a default
that suits the embedded single-machine run. Nothing else in the project reads
``os.environ``: code receives a :class:`Config`, and tests build their own. Secrets are
left out of the repr (``field(repr=False)``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "ANALYTICS_"
SETTINGS_FILE_NAME = "settings.env"
REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """An environment variable holds a value that cannot be used."""


def _env_name(field_name: str) -> str:
    return PREFIX + field_name.upper()


@dataclass(frozen=True)
class Config:
    # -- where things live -------------------------------------------------------------
    state_dir: Path = REPO_ROOT / ".state"
    """Data, logs, PID files and rendered service configs of the local run."""
    jars_dir: Path = REPO_ROOT / ".cache" / "jars"
    """JVM pieces resolved from Maven Central (Kafka, Cassandra, Spark connectors)."""

    # -- Kafka ---------------------------------------------------------------------------
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_bootstrap: str = ""
    """Bootstrap servers; empty means the local broker at kafka_host:kafka_port."""
    kafka_heap: str = "512m"
    topic_raw_events: str = "events.raw"
    topic_invalid_events: str = "events.invalid"
    topic_spool_progress: str = "sitelens.spool-progress"
    """Where the write service's spool relay records, in the same Kafka transaction as each
    batch, how far it got (compacted; :mod:`api.write.relay`)."""
    topic_partitions: int = 3
    topic_replication: int = 1
    topic_retention_ms: int = 7 * 24 * 3600 * 1000
    """Kafka keeps a week; the master copy of every event lives in Cassandra."""
    kafka_security_protocol: str = "PLAINTEXT"
    """How every Kafka client connects (``SASL_SSL`` for the docker deployment's brokers);
    the clients' settings are made in :mod:`analytics.kafka_settings`."""
    kafka_sasl_mechanism: str = ""
    """``SCRAM-SHA-512``, ``SCRAM-SHA-256`` or ``PLAIN`` with SASL; empty: not set."""
    kafka_sasl_username: str = ""
    """The clients' SASL user; empty means no SASL login."""
    kafka_sasl_password: str = field(default="", repr=False)
    kafka_ssl_ca_file: Path | None = None
    """PEM file of the CA that signed the brokers' certificates; None: the system's CAs.
    Spark's executors read it too (the same path on every worker)."""

    # -- Cassandra -----------------------------------------------------------------------
    cassandra_hosts: tuple[str, ...] = ("127.0.0.1",)
    cassandra_port: int = 9042
    cassandra_storage_port: int = 7000
    cassandra_heap: str = "768m"
    cassandra_keyspace: str = "analytics"
    cassandra_replication_class: str = "SimpleStrategy"
    cassandra_replication_factor: int = 1
    cassandra_datacenter: str = "datacenter1"
    cassandra_username: str = ""
    """The role every Cassandra client logs in as (the driver and Spark's connector);
    empty means no authentication (the local run's node asks for none)."""
    cassandra_password: str = field(default="", repr=False)
    cassandra_consistency: str = "LOCAL_QUORUM"
    """Consistency of every read and write, the driver's and Spark's connector's alike
    (lightweight transactions use LOCAL_SERIAL). With replication 3, quorum reads see every
    acknowledged write and both keep working with one node down; with 1 it is that node."""

    # -- nodes of the local run (stack/; a deployment runs its own) -----------------------
    local_nodes: int = 1
    """Kafka brokers and Cassandra nodes the local run starts: 1, or a cluster of N with
    node i listening on 127.0.0.i (``python -m stack --cluster``)."""
    local_spark_workers: int = 0
    """Spark standalone workers the local run starts beside a master at ``spark_master``
    (spark://host:port); 0 starts none (``spark_master`` is local[N])."""
    spark_worker_cores: int = 2
    spark_worker_memory: str = "2g"
    """Cores and memory each local Spark worker offers its executors."""
    cassandra_jmx_port: int = 7199
    """JMX of the local run's Cassandra node i at this port + i - 1 (for nodetool)."""

    # -- service ports of the local run ---------------------------------------------------
    airflow_port: int = 8080
    write_api_port: int = 8000
    read_api_port: int = 8001
    access_log: bool = True
    """One JSON line per request of the write and read services on the ``sitelens.access``
    logger (stderr; :mod:`api.access_log`)."""

    # -- Airflow's metadata database (PostgreSQL) -----------------------------------------
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5433
    """The local run's PostgreSQL (5433: clear of a system cluster on 5432)."""
    postgres_user: str = "sitelens"
    postgres_password: str = field(default="", repr=False)
    """Password of ``postgres_user``; the local run generates one into its settings file."""
    airflow_database: str = "airflow"
    """Airflow's metadata database on that server (the tests use one of their own)."""
    airflow_db_url: str = ""
    """A full SQLAlchemy URL of Airflow's metadata database; empty means the local
    PostgreSQL above (``postgresql+psycopg2://user:password@host:port/airflow_database``)."""
    airflow_secret: str = field(default="", repr=False)
    """Signs Airflow's API tokens and UI sessions; the same for every Airflow process. The
    local run generates one into its settings file."""
    airflow_api_workers: int = 1
    """Worker processes of Airflow's API server (each ~250 MB)."""

    # -- write service (api/write) --------------------------------------------------------
    write_api_host: str = "127.0.0.1"
    write_api_workers: int = 2
    collect_path: str = "/api/event"
    """Where the tracker posts events; serve it first-party under any path."""
    script_path: str = "/js/sl.js"
    """Where the tracker script is served (rename it to survive ad blockers)."""
    plausible_path: str = "/plausible/api/event"
    """Where Plausible's script and Events API post (its ``data-api``; Plausible's own
    ``/api/event`` is the tracker's ``collect_path``). ``docs/collectors.md``."""
    umami_path: str = "/umami/api/send"
    """Where Umami's script and ``@umami/node`` post. They append ``/api/send`` to the
    host URL they are given, so keep that ending: their ``data-host-url`` / ``hostUrl``
    is this path without it."""
    matomo_path: str = "/matomo/matomo.php"
    """Where Matomo's trackers send (``setTrackerUrl`` of ``matomo.js``, the URL given to
    ``matomo-tracker``). When it ends in ``/matomo.php``, ``piwik.php`` in the same
    folder is served too (older snippets and clients use that name)."""
    snowplow_path: str = "/com.snowplowanalytics.snowplow/tp2"
    """Where Snowplow's trackers POST their batches (the tracker protocol's ``tp2``). They
    append this path to the collector URL they are given (``postPath`` of the browser
    tracker changes it); the default is the path they append unless told otherwise."""
    snowplow_get_path: str = "/i"
    """Where Snowplow's trackers send one event by GET (the pixel, ``/i``, appended to the
    collector URL as well)."""
    tracker_file: Path = REPO_ROOT / "tracker" / "dist" / "sl.js"
    demo_page: Path = REPO_ROOT / "tracker" / "demo" / "index.html"
    serve_demo: bool = True
    """Serve the demo page at /demo (the local run; switch off in production)."""
    max_body_bytes: int = 64 * 1024
    max_batch_events: int = 100
    invalid_payload_max_bytes: int = 4096
    """Refused payloads are kept on the invalid-events topic, truncated to this size."""
    rate_limit_per_s: float = 20.0
    """Requests per second per client address (token bucket per worker); 0 switches it off."""
    rate_limit_burst: float = 200.0
    trust_forwarded_for: bool = False
    """Take the client address from the right-most X-Forwarded-For entry, the one your own
    load balancer added (only behind one; entries the client sent are never used)."""
    kafka_linger_ms: int = 5
    """Producer linger: concurrent requests share one produce request (fewer round trips
    and less broker work for 5 ms more latency, which the client never waits for)."""
    kafka_delivery_timeout_ms: int = 5000
    """How long a request waits for Kafka's acknowledgement before spooling to disk."""
    spool_dir: Path | None = None
    """Where events wait while Kafka is unreachable; default <state_dir>/spool."""
    site_cache_ttl_s: float = 30.0

    # -- readiness -----------------------------------------------------------------------
    start_timeout_s: float = 120.0

    # -- enrichment (write path, analytics.enrich) ----------------------------------------
    referrer_spam_file: Path = REPO_ROOT / "analytics" / "data" / "referrer_spam.txt"
    """Referrer-spam block list: one domain per line (subdomains blocked too), # comments."""
    event_max_lateness_ms: int = 72 * 3600 * 1000
    """Events buffered longer than this before sending are refused as too late
    (docs/metrics.md, Events and ids)."""
    ua_cache_size: int = 20_000
    """User-agent strings whose ua-parser result is kept in memory."""
    bot_cache_size: int = 20_000
    """User-agent strings whose crawlerdetect answer is kept in memory."""
    client_id_hash_key: str = field(default="", repr=False)
    """Secret key for hashing client-kept / Measurement Protocol client ids into visitor
    ids (at most 64 bytes). Must be the same on every write-service process and must not
    change, or returning visitors get new ids. Empty means an unkeyed hash: set it in
    production."""
    require_secrets: bool = False
    """Production: the write service refuses to start while ``client_id_hash_key`` is
    empty (the docker deployment sets it; the local run generates a key instead)."""

    # -- Spark (speed and batch layers, analytics.spark_session) ------------------------
    spark_master: str = "local[2]"
    """Where jobs run: local[N] on one machine, or a cluster master URL (spark://...)."""
    spark_driver_memory: str = "1g"
    spark_shuffle_partitions: int = 4
    """Partitions after a shuffle; Spark's 200 only pays off on a cluster with big data."""
    spark_local_dir: Path | None = None
    """Spark's scratch space (shuffle and spill files); default <state_dir>/spark/local."""
    spark_ui_enabled: bool = False
    spark_ui_port: int = 4040
    spark_log_level: str = "WARN"
    spark_driver_host: str = ""
    """Address executors reach the driver at; empty means 127.0.0.1 for local masters and
    Spark's own choice otherwise."""
    cassandra_write_batch_bytes: int = 32 * 1024
    """Spark jobs group rows of one partition into unlogged batches of up to this size
    (stay under Cassandra's batch_size_fail_threshold, 50 KiB by default)."""
    cassandra_write_concurrency: int = 16
    """Batches each Spark task keeps in flight to Cassandra."""
    streaming_watermark: str = "10 minutes"
    """How late an event may arrive and still reach the speed layer's minute views (and
    how long event ids are remembered for dedup); later ones are left to the batch layer."""
    streaming_trigger: str = "1 second"
    """Micro-batch interval of the speed layer (Spark processing-time trigger)."""
    streaming_checkpoint_dir: Path | None = None
    """Offsets and state of the streaming queries (one subfolder per query); default
    <state_dir>/streaming/checkpoints. On a cluster: a shared path (HDFS, S3, NFS)."""
    streaming_starting_offsets: str = "earliest"
    """Where a query without a checkpoint starts reading the raw-events topic."""
    streaming_state_partitions: int = 2
    """Partitions of the speed layer's state (dedup and aggregation); fixed when a query's
    checkpoint is created. One or two per core of the cluster that runs the job."""
    streaming_max_offsets_per_trigger: int = 500_000
    """At most this many Kafka records per micro-batch (keeps catch-up batches bounded);
    0 means no limit."""
    streaming_stall_timeout_s: float = 120.0
    """A micro-batch running longer than this means a query is stuck (a connector waiting
    forever on a node that went away): the speed layer exits and its supervisor starts it
    again from the checkpoint. The longest batch (``streaming_max_offsets_per_trigger``
    records) takes under a minute on 2 cores."""
    streaming_fail_on_data_loss: bool = True
    """Stop the speed layer if Kafka deleted records it had not read yet (they would be
    missing from the master dataset too), instead of skipping them."""
    realtime_ttl_days: int = 8
    """How long the speed layer's minute views are kept; the batch layer's views replace
    them for closed days, and the data-quality check compares both within this time."""
    visitor_sketch_lg_k: int = 14
    """log2 of the HLL sketch's buckets for visitors (relative standard error about
    1.04 / sqrt(2**lg_k): 0.8 % at 14); every sketch that is merged must use the same."""

    # -- batch layer (batch/, dags/) -----------------------------------------------------
    batch_session_margin_minutes: int = 120
    """A recompute reads this much raw data before and after its days, so sessions that
    cross the day's edges are whole (a visitor active without a 30-minute gap for longer
    than this across midnight would be split)."""
    batch_settle_minutes: int = 60
    """The nightly run of a day waits until the day has ended in every site's zone plus
    this long (events still in flight, sessions going on after midnight)."""
    batch_shuffle_partitions: int = 8
    """Shuffle partitions of the batch job (per day computed; a cluster wants more)."""
    batch_driver_memory: str = "3g"
    """Driver heap of the batch and ad-hoc jobs (``spark_driver_memory`` is the speed
    layer's). In local mode the driver is the executor too: a 1M-event day took 1.3x as
    long in 1g (spills, GC) as in 3g."""
    quality_late_hours: int = 73
    """The data-quality check looks this long after a day for late events of it (the
    write service refuses events more than 72 h old)."""

    # -- read service (api/read) ---------------------------------------------------------
    read_api_host: str = "127.0.0.1"
    read_api_workers: int = 2
    read_api_threads: int = 8
    """gunicorn gthread workers x threads of the read service (its Cassandra reads block)."""
    read_max_body_bytes: int = 64 * 1024
    read_cors_origins: tuple[str, ...] = ("*",)
    """Origins that may call the read API from a browser (the Tableau connector page is
    loaded by Tableau from wherever the analyst points it; tokens travel in a header, never
    in cookies, so ``*`` is the default)."""
    read_cache_s: float = 2.0
    """How long a read worker reuses what can still change: which days the batch layer has
    closed, and an open speed-layer hour (final hours and batch versions never change)."""
    adhoc_max_running: int = 2
    """Ad-hoc Spark jobs that may run at once (more are refused with 429 and Retry-After)."""
    adhoc_cache_minutes: int = 10
    """How long an ad-hoc result whose range includes an open day is reused (results over
    closed days only are reused until the batch layer recomputes one of the days)."""
    adhoc_timeout_s: int = 1800
    """An ad-hoc job still running after this long is reported failed."""
    adhoc_max_jobs_per_principal: int = 1
    """Ad-hoc jobs one API token or one person may have queued or running at once (more
    are refused with 429 ``too_many_jobs`` and Retry-After), so one caller cannot hold
    every one of the ``adhoc_max_running`` slots; results reused from the cache do not
    count."""
    read_trust_proxy_headers: bool = False
    """Behind your own load balancer only: the read service takes the client address from
    the right-most X-Forwarded-For entry (login throttling) and the scheme from
    X-Forwarded-Proto (``https`` makes its cookies ``Secure``)."""
    session_ttl_s: int = 14 * 86400
    """How long a dashboard login lasts; the cookie and its Cassandra row expire together."""
    share_unlock_ttl_s: int = 86400
    """How long the password of a shared link, once given, unlocks it in that browser."""
    login_max_failures: int = 5
    """Wrong passwords per account (or per shared link) within ``login_window_s``; more
    attempts are refused with 429 until the oldest of them is that old."""
    login_client_max_failures: int = 20
    """Wrong passwords per client address within ``login_window_s`` (higher than per
    account: offices and mobile networks put many people behind one address)."""
    login_window_s: int = 900
    read_rate_limit_per_s: float = 20.0
    """Read-API requests per second per API token, browser session or shared link, or per
    client address (IPv6: per /64) without one (token bucket per worker); 0 switches it
    off. Over it: 429 ``rate_limited`` with Retry-After."""
    read_rate_burst: float = 40.0
    """Requests a principal may make at once before the rate applies (a dashboard page
    load fetches every card at once)."""

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"{self.kafka_host}:{self.kafka_port}"

    @property
    def airflow_sql_alchemy_conn(self) -> str:
        """Where Airflow keeps its metadata (``airflow_db_url`` or the local PostgreSQL)."""
        if self.airflow_db_url:
            return self.airflow_db_url
        return (f"postgresql+psycopg2://{self.postgres_user}:{self.postgres_password}"
                f"@{self.postgres_host}:{self.postgres_port}/{self.airflow_database}")

    @property
    def settings_file(self) -> Path:
        """The local run's settings (``KEY=value`` lines), read under the environment."""
        return self.state_dir / SETTINGS_FILE_NAME

    @property
    def spark_local_path(self) -> Path:
        return self.spark_local_dir or self.state_dir / "spark" / "local"

    @property
    def spark_connectors_dir(self) -> Path:
        """The Kafka source and Cassandra connector jars (``python -m stack setup``)."""
        return self.jars_dir / "spark-connectors"

    @property
    def streaming_checkpoint_path(self) -> Path:
        return self.streaming_checkpoint_dir or self.state_dir / "streaming" / "checkpoints"

    @property
    def streaming_late_after_ms(self) -> int:
        """``streaming_watermark`` in milliseconds."""
        return interval_ms(self.streaming_watermark)

    @property
    def spool_path(self) -> Path:
        return self.spool_dir or self.state_dir / "spool"

    @property
    def write_metrics_dir(self) -> Path:
        """prometheus_client multi-process folder of the write service's workers."""
        return self.state_dir / "run" / f"write-api-{self.write_api_port}-metrics"

    @property
    def replication_cql(self) -> str:
        """The keyspace replication map, from config (1 locally, 3 in a cluster)."""
        if self.cassandra_replication_class == "NetworkTopologyStrategy":
            return (
                "{'class': 'NetworkTopologyStrategy', "
                f"'{self.cassandra_datacenter}': {self.cassandra_replication_factor}}}"
            )
        return (
            "{'class': 'SimpleStrategy', "
            f"'replication_factor': {self.cassandra_replication_factor}}}"
        )

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def for_batch(self) -> Config:
        """This config as the batch and ad-hoc jobs are launched with (their driver
        memory)."""
        return self.replace(spark_driver_memory=self.batch_driver_memory)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(_env_name(f.name))
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        return cls(**values)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Config:
        """The local run's config: its settings file (``<state_dir>/settings.env``, see
        :func:`read_settings_file`) with the environment on top. Commands of the local run
        (``python -m stack``, ``python -m api.manage``) use this; services get the result
        in their environment."""
        environ = os.environ if environ is None else environ
        state_dir = cls.from_env({k: v for k, v in environ.items()
                                  if k == _env_name("state_dir")}).state_dir
        merged = dict(read_settings_file(state_dir / SETTINGS_FILE_NAME))
        merged.update({k: v for k, v in environ.items() if k.startswith(PREFIX)})
        return cls.from_env(merged)

    def to_env(self) -> dict[str, str]:
        """This config as environment variables, for the processes the stack starts."""
        env = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, tuple):
                value = ",".join(value)
            env[_env_name(f.name)] = str(value)
        return env

    @classmethod
    def env_names(cls) -> list[str]:
        """Every environment variable the config reads (for docs and deployment checks)."""
        return [_env_name(f.name) for f in dataclasses.fields(cls)]


def read_settings_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a settings file (``#`` comments, blank lines, optional
    quotes around the value); only ``ANALYTICS_*`` keys; {} when there is no file."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    values = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.startswith(PREFIX):
            raise ConfigError(f"{path}:{number}: expected ANALYTICS_NAME=value, got {line!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


_UNITS_MS = {"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000,
             "day": 86_400_000}


def interval_ms(text: str) -> int:
    """Milliseconds of a Spark interval string such as ``"10 minutes"`` or ``"1 second"``."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit():
        raise ConfigError(f"{text!r} is not an interval like '10 minutes'")
    unit = parts[1].lower().rstrip("s")
    if unit not in _UNITS_MS:
        raise ConfigError(f"{text!r}: unit must be one of {', '.join(_UNITS_MS)}")
    return int(parts[0]) * _UNITS_MS[unit]


def _parse(name: str, type_name: str, raw: str):
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if type_name in ("Path", "Path | None"):
            return Path(raw).expanduser().resolve()
        if type_name.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError:
        raise ConfigError(f"{_env_name(name)}={raw!r} is not a valid {type_name}") from None
