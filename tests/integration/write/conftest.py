"""The write service under gunicorn, against the real Kafka and Cassandra of the test run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from analytics.config import Config
from analytics.sites import Site, SiteRepository
from tests.integration.services import CHROME_UA, WriteService, http, post_json  # noqa: F401

MP_SECRET = "s3cret-for-tests"
COMPAT_CLIENTS = Path(__file__).with_name("compat_clients")
"""The published clients of other trackers (package.json, package-lock.json; the Python
ones in requirements.txt)."""
CONSTRAINTS = Path(__file__).parents[3] / "constraints.txt"


def compat_clients() -> Path:
    """The folder of the other trackers' published clients, with every package its
    package.json names installed (``npm ci`` from the lockfile when one is missing)."""
    wanted = json.loads((COMPAT_CLIENTS / "package.json").read_text())["dependencies"]
    modules = COMPAT_CLIENTS / "node_modules"
    if not all((modules / name).is_dir() for name in wanted):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed (bash stack/install_system.sh installs it)")
        done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                              cwd=COMPAT_CLIENTS, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return COMPAT_CLIENTS


def compat_python_clients() -> None:
    """The other trackers' published Python clients that ``compat_clients/requirements.txt``
    pins, installed into this environment when one is missing or another version (pip,
    within the project's constraints: as ``compat_clients()`` runs ``npm ci``)."""
    lines = (COMPAT_CLIENTS / "requirements.txt").read_text().splitlines()
    wanted = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    if all(_installed(name) == version for name, version in wanted.items()):
        return
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r",
                           str(COMPAT_CLIENTS / "requirements.txt"), "-c", str(CONSTRAINTS)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def read_topic(config: Config, topic: str, match, expected: int, timeout: float = 30.0) -> list:
    """Records of ``topic`` (decoded JSON) for which ``match(record)`` holds; waits until
    ``expected`` are there, then reads on briefly to catch any extra (duplicates).
    Committed records only, as the speed layer reads them (the spool relay writes in
    transactions)."""
    consumer = Consumer({"bootstrap.servers": config.bootstrap_servers,
                         "group.id": f"t-{time.time_ns()}", "enable.auto.commit": False,
                         "isolation.level": "read_committed"})
    try:
        partitions = consumer.list_topics(topic, timeout=20).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        found: list = []
        deadline = time.monotonic() + timeout
        quiet_until = None
        while time.monotonic() < deadline:
            msg = consumer.poll(0.3)
            if msg is not None and not msg.error():
                try:
                    record = json.loads(msg.value())
                except ValueError:
                    continue  # another test's deliberately malformed record
                if isinstance(record, dict) and match(record):
                    found.append(record)
                continue
            if len(found) >= expected:
                quiet_until = quiet_until or time.monotonic() + 1.5
                if time.monotonic() > quiet_until:
                    break
        return found
    finally:
        consumer.close()


@pytest.fixture(scope="session")
def test_sites(stack, cql):
    repo = SiteRepository(cql)
    shop = Site(site_id="shop.test", domain="shop.example", timezone="Europe/Berlin",
                goals=frozenset({"signup"}),
                allowed_origins=frozenset({"https://partner.example"}))
    mp_site, _ = Site(site_id="mp.test", domain="mp.example").with_new_secret()
    from analytics.sites import hash_secret

    mp_site = replace(mp_site, mp_secret_hash=hash_secret(MP_SECRET))
    cid = Site(site_id="cid.test", domain="cid.example", client_id_opt_in=True)
    for site in (shop, mp_site, cid):
        repo.save(site)
    return {"shop": shop, "mp": mp_site, "cid": cid}


@pytest.fixture(scope="session")
def write_config(stack, tmp_path_factory) -> Config:
    return stack.replace(
        state_dir=tmp_path_factory.mktemp("write-state"), write_api_port=18000,
        trust_forwarded_for=True, rate_limit_per_s=2.0, rate_limit_burst=5.0,
        max_body_bytes=16 * 1024, max_batch_events=50, site_cache_ttl_s=1.0)


@pytest.fixture(scope="session")
def write_api(write_config, test_sites):
    service = WriteService(write_config).start()
    yield service
    service.stop()
