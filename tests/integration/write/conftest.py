"""The write service under gunicorn, against the real Kafka and Cassandra of the test run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from confluent_kafka import Consumer, TopicPartition

from analytics.config import REPO_ROOT, Config
from analytics.sites import Site, SiteRepository

CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/141.0.0.0 Safari/537.36")
MP_SECRET = "s3cret-for-tests"


class Gunicorn:
    """One write service process tree (gunicorn master + workers) for a config."""

    def __init__(self, config: Config):
        self.config = config
        self.base = f"http://{config.write_api_host}:{config.write_api_port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Gunicorn:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
        env.update(self.config.to_env())
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.config.state_dir / "write-api.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "api/write/gunicorn_conf.py",
             "api.write.asgi:app"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {log.name}")
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=5)
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("write service did not answer")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def http(method: str, url: str, body: bytes | str | None = None, headers: dict | None = None):
    """(status, headers with lower-case names, body bytes); 4xx/5xx do not raise."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"User-Agent": CHROME_UA, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read()


def _lower(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def post_json(url: str, payload, headers: dict | None = None):
    status, resp_headers, body = http("POST", url, json.dumps(payload),
                                      {"Content-Type": "text/plain", **(headers or {})})
    return status, resp_headers, json.loads(body) if body else None


def read_topic(config: Config, topic: str, match, expected: int, timeout: float = 30.0) -> list:
    """Records of ``topic`` (decoded JSON) for which ``match(record)`` holds; waits until
    ``expected`` are there, then reads on briefly to catch any extra (duplicates)."""
    consumer = Consumer({"bootstrap.servers": config.bootstrap_servers,
                         "group.id": f"t-{time.time_ns()}", "enable.auto.commit": False})
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
    service = Gunicorn(write_config).start()
    yield service
    service.stop()
