"""A production config (``require_secrets``, set by the docker deployment) without a key
for hashing client ids stops the write service when its app is made, with a message
saying what to set; without ``require_secrets`` (the local run, tests) it starts."""

from __future__ import annotations

import pytest
import yaml

from analytics.config import REPO_ROOT, Config, ConfigError
from analytics.enrich import StaticSaltProvider
from api.write.app import create_app
from tests.unit.api.write.conftest import SHOP
from tests.unit.api.write.fakes import MemorySites, RecordingSink

MESSAGE = ("ANALYTICS_CLIENT_ID_HASH_KEY is empty while ANALYTICS_REQUIRE_SECRETS=true: "
           "client ids would be hashed without a key (and could be guessed back). Set it "
           "to a secret of at most 64 bytes (e.g. `openssl rand -hex 32`), the same on "
           "every write-service replica and never changed.")


def _app(config: Config):
    return create_app(config, sites=MemorySites(SHOP), sink=RecordingSink(),
                      salts=StaticSaltProvider())


def test_no_start_without_the_key_when_secrets_are_required():
    config = Config.from_env({"ANALYTICS_REQUIRE_SECRETS": "true"})
    assert (config.require_secrets, config.client_id_hash_key) == (True, "")
    with pytest.raises(ConfigError) as refused:
        _app(config)
    assert str(refused.value) == MESSAGE


def test_it_starts_with_a_key_or_when_secrets_are_not_required():
    assert Config().require_secrets is False
    _app(Config.from_env({"ANALYTICS_REQUIRE_SECRETS": "true",
                          "ANALYTICS_CLIENT_ID_HASH_KEY": "k" * 64}))
    _app(Config())


def test_the_docker_deployment_requires_them():
    compose = yaml.safe_load((REPO_ROOT / "docker" / "compose.yaml").read_text())
    write_env = compose["x-write-api-env"]
    assert write_env["ANALYTICS_REQUIRE_SECRETS"] == "true"
    assert Config.from_env({"ANALYTICS_REQUIRE_SECRETS": write_env[
        "ANALYTICS_REQUIRE_SECRETS"]}).require_secrets is True
    assert write_env["ANALYTICS_CLIENT_ID_HASH_KEY"].startswith(
        "${ANALYTICS_CLIENT_ID_HASH_KEY:?")
