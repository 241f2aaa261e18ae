"""The local run's settings file: created once with generated secrets, read under the
environment, settings given in the environment written back (so they survive a later
command without them), unknown names refused."""

from __future__ import annotations

import pytest

from analytics.config import Config, ConfigError, read_settings_file
from stack import settings


def _env(tmp_path, **values) -> dict[str, str]:
    return {"ANALYTICS_STATE_DIR": str(tmp_path), "HOME": "/root", **values}


def test_first_load_creates_the_file_with_generated_secrets(tmp_path):
    notes: list[str] = []
    config = settings.load(_env(tmp_path), log=notes.append)
    path = tmp_path / "settings.env"
    assert notes == [f"settings: created {path}"]
    stored = read_settings_file(path)
    assert sorted(stored) == ["ANALYTICS_AIRFLOW_SECRET", "ANALYTICS_CLIENT_ID_HASH_KEY",
                              "ANALYTICS_POSTGRES_PASSWORD"]
    assert len(stored["ANALYTICS_POSTGRES_PASSWORD"]) == 32
    assert config.postgres_password == stored["ANALYTICS_POSTGRES_PASSWORD"]
    assert config.airflow_secret == stored["ANALYTICS_AIRFLOW_SECRET"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # every other setting is listed, commented out, at its default
    assert "# ANALYTICS_TRUST_FORWARDED_FOR=false" in path.read_text().splitlines()
    # a second load keeps the secrets
    assert settings.load(_env(tmp_path), log=None).postgres_password == config.postgres_password


def test_a_setting_from_the_environment_is_kept_for_later_commands(tmp_path):
    settings.load(_env(tmp_path), log=None)
    notes: list[str] = []
    first = settings.load(_env(tmp_path, ANALYTICS_TRUST_FORWARDED_FOR="true",
                               ANALYTICS_WRITE_API_PORT="18000"), log=notes.append)
    assert (first.trust_forwarded_for, first.write_api_port) == (True, 18000)
    assert notes == ["settings: wrote ANALYTICS_TRUST_FORWARDED_FOR, ANALYTICS_WRITE_API_PORT "
                     f"from the environment into {tmp_path / 'settings.env'}"]
    later = settings.load(_env(tmp_path), log=None)  # no variables this time
    assert (later.trust_forwarded_for, later.write_api_port) == (True, 18000)
    lines = (tmp_path / "settings.env").read_text().splitlines()
    assert lines.count("ANALYTICS_TRUST_FORWARDED_FOR=true") == 1  # set in place, once
    assert "# ANALYTICS_TRUST_FORWARDED_FOR=false" not in lines


def test_edits_to_the_file_are_read(tmp_path):
    settings.load(_env(tmp_path), log=None)
    settings.write(tmp_path / "settings.env", {"ANALYTICS_READ_API_WORKERS": "3"})
    assert settings.load(_env(tmp_path), log=None).read_api_workers == 3
    assert Config.load(_env(tmp_path)).read_api_workers == 3


def test_unknown_or_malformed_lines_are_refused_with_the_line(tmp_path):
    settings.load(_env(tmp_path), log=None)
    path = tmp_path / "settings.env"
    path.write_text(path.read_text() + "ANALYTICS_TRUST_FORWARDED=true\n")
    with pytest.raises(ConfigError, match="unknown setting.*ANALYTICS_TRUST_FORWARDED$"):
        settings.load(_env(tmp_path), log=None)
    path.write_text("ANALYTICS_READ_API_WORKERS 3\n")
    with pytest.raises(ConfigError, match=r"settings.env:1: expected ANALYTICS_NAME=value"):
        settings.load(_env(tmp_path), log=None)


def test_quoted_values_and_what_differs_from_the_defaults(tmp_path):
    (tmp_path / "settings.env").write_text(
        'ANALYTICS_STREAMING_WATERMARK="5 minutes"\nANALYTICS_POSTGRES_PASSWORD=s3cret\n')
    config = settings.load(_env(tmp_path), log=None)
    assert config.streaming_watermark == "5 minutes"
    assert settings.changed_from_defaults(config) == {
        "ANALYTICS_STREAMING_WATERMARK": "5 minutes",
        "ANALYTICS_POSTGRES_PASSWORD": "********",
        "ANALYTICS_CLIENT_ID_HASH_KEY": "********"}  # generated into the file once


def test_diff_names_what_changed():
    assert settings.diff({"A": "1", "B": "2"}, {"A": "1", "B": "3", "C": "4"}) == ["B", "C"]


def test_an_environment_that_repeats_the_settings_writes_nothing(tmp_path):
    """Every process the stack starts gets the whole config in its environment (and a
    shell may hold it from `python -m stack.airflow env`): values equal to what the file
    and the defaults give are not written, so defaults stay commented out."""
    config = settings.load(_env(tmp_path), log=None)
    before = (tmp_path / "settings.env").read_text()
    notes: list[str] = []
    again = settings.load({**config.to_env(), "HOME": "/root"}, log=notes.append)
    assert again == config and notes == []
    assert (tmp_path / "settings.env").read_text() == before
