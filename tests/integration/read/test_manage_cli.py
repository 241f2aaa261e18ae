"""The operator CLI (``python -m api.manage``) against the test keyspace: sites are made,
listed and updated; tokens are made, shown once, stored hashed, listed and revoked, and a
revoked token stops working on the running read service."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest

from analytics.config import REPO_ROOT
from analytics.sites import SiteRepository, hash_secret
from api.read.tokens import TokenStore, split

pytestmark = pytest.mark.integration


def manage(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.manage", *args], cwd=REPO_ROOT,
                          env=config.to_env() | {"PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60, check=False)


def test_sites_are_created_listed_and_updated(stack, cql):
    site = f"cli-{uuid.uuid4().hex[:6]}.test"
    made = manage(stack, "site", "create", site, "--domain", "cli.example", "--timezone",
                  "Asia/Kathmandu", "--goal", "signup", "--goal", "/pricing",
                  "--retention-days", "400", "--origin", "https://www.cli.example",
                  "--mp-secret")
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout[:made.stdout.rindex("}") + 1])
    assert shown["timezone"] == "Asia/Kathmandu" and shown["mp_secret"] == "set"
    secret = made.stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    assert SiteRepository(cql).get(site).secret_matches(secret)
    assert manage(stack, "site", "create", site, "--domain", "x.example").returncode == 1
    bad = manage(stack, "site", "create", f"z{site}", "--domain", "x", "--timezone", "Mars/Base")
    assert bad.returncode == 2 and "Mars/Base" in bad.stderr
    assert manage(stack, "site", "update", site, "--timezone", "Europe/Berlin").returncode == 0
    stored = SiteRepository(cql).get(site)
    assert (stored.timezone, stored.goals, stored.retention_days) == (
        "Europe/Berlin", frozenset({"signup", "/pricing"}), 400)
    listed = manage(stack, "site", "list").stdout
    assert any(line.split()[:3] == [site, "cli.example", "Europe/Berlin"]
               for line in listed.splitlines())


def test_tokens_are_stored_hashed_and_revocable(read_api, cql):
    made = manage(read_api.config, "token", "create", "--site", read_api.s,
                  "--label", "cli test")
    assert made.returncode == 0, made.stderr
    raw = made.stdout.strip().splitlines()[-1]
    token_id, secret = split(raw)
    row = cql.execute("SELECT secret_hash, sites FROM api_tokens WHERE token_id = %s",
                      (token_id,)).one()
    assert row.secret_hash == hash_secret(secret) and secret not in row.secret_hash
    assert set(row.sites) == {read_api.s}
    query = {"site_id": read_api.s, "date_range": "7d"}
    assert read_api.post("/api/v1/reports/aggregate", query, token=raw)[0] == 200
    assert read_api.post("/api/v1/reports/aggregate", {**query, "site_id": read_api.k},
                         token=raw)[0] == 403
    listed = manage(read_api.config, "token", "list").stdout
    assert any(line.startswith(token_id) and "active" in line for line in listed.splitlines())

    assert manage(read_api.config, "token", "revoke", token_id).returncode == 0
    assert TokenStore(cql).verify(raw) is None
    deadline = time.monotonic() + 20  # workers remember a verified token for 10 s
    while read_api.post("/api/v1/reports/aggregate", query, token=raw)[0] != 401:
        assert time.monotonic() < deadline, "the revoked token still works"
        time.sleep(1)
    listed = manage(read_api.config, "token", "list").stdout
    assert any(line.startswith(token_id) and "revoked" in line for line in listed.splitlines())
    unknown = manage(read_api.config, "token", "create", "--site", "no-such-site.test")
    assert unknown.returncode == 2 and "no-such-site.test" in unknown.stderr
    assert manage(read_api.config, "token", "revoke", "nope").returncode == 2
