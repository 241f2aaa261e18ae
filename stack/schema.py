"""Apply the pipeline's schema to running services: Kafka topics and CQL migrations;
and register the demo site of the local run."""

from __future__ import annotations

from pathlib import Path

from analytics.config import Config
from analytics.kafka_topics import ensure_topics
from analytics.sites import Site, SiteRepository
from analytics.storage.migrate import migrate
from analytics.storage.session import connect
from api.read.tokens import TokenStore

DEMO_SITE = "demo.local"


def apply_schema(config: Config, log=print) -> None:
    created = ensure_topics(config)
    log(f"kafka topics: {'created ' + ', '.join(created) if created else 'up to date'}")
    cluster, session = connect(config)
    try:
        applied = migrate(config, session)
    finally:
        cluster.shutdown()
    log("cassandra migrations: "
        + (f"applied {', '.join(f'{v:04d}' for v in applied)}" if applied else "up to date"))


def ensure_demo_site(config: Config, log=print) -> None:
    """The site the demo page at /demo reports to (created once)."""
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        repo = SiteRepository(session)
        if repo.get(DEMO_SITE) is None:
            origins = {f"http://{host}:{config.write_api_port}"
                       for host in ("127.0.0.1", "localhost", config.write_api_host)}
            repo.save(Site(site_id=DEMO_SITE, domain="localhost", timezone="UTC",
                           goals=frozenset({"signup"}), allowed_origins=frozenset(origins)))
            log(f"created demo site {DEMO_SITE}")
        ensure_demo_token(config, session, log)
    finally:
        cluster.shutdown()


def demo_token_file(config: Config) -> Path:
    return config.state_dir / "read-api-demo-token"


def ensure_demo_token(config: Config, session, log=print) -> None:
    """A read API token for the demo site, kept in the state folder (mode 600) so the
    local run can print where it is; made again if it was revoked or lost."""
    path = demo_token_file(config)
    store = TokenStore(session)
    if path.exists() and store.verify(path.read_text().strip()):
        return
    _token, secret = store.create([DEMO_SITE], "local run demo")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    log(f"made a read API token for {DEMO_SITE} in {path}")
