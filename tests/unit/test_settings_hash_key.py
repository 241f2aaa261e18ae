"""The local run's key for hashing client ids: generated into a new settings file with the
other secrets, added once to a file made before it existed (its other lines kept), never
replaced afterwards, and never erased by an empty value in the environment."""

from __future__ import annotations

import pytest

from analytics.config import read_settings_file
from stack import settings

KEY = "ANALYTICS_CLIENT_ID_HASH_KEY"
OLD_FILE = """\
# Settings of the Sitelens local run
# -- generated for this machine (keep them: data depends on them) --
ANALYTICS_POSTGRES_PASSWORD=pg-secret
ANALYTICS_AIRFLOW_SECRET=af-secret

# -- everything else, at its default --
# ANALYTICS_TRUST_FORWARDED_FOR=false
# ANALYTICS_CLIENT_ID_HASH_KEY=
ANALYTICS_READ_API_WORKERS=3
"""


@pytest.fixture(autouse=True)
def generated(monkeypatch) -> list[str]:
    """Secrets are generated in order: secret-1, secret-2, ..."""
    made: list[str] = []

    def generate() -> str:
        made.append(f"secret-{len(made) + 1}")
        return made[-1]

    monkeypatch.setattr(settings, "_generate", generate)
    return made


def _env(tmp_path, **values) -> dict[str, str]:
    return {"ANALYTICS_STATE_DIR": str(tmp_path), "HOME": "/root", **values}


def test_a_new_settings_file_holds_a_generated_key(tmp_path):
    notes: list[str] = []
    config = settings.load(_env(tmp_path), log=notes.append)
    path = tmp_path / "settings.env"
    assert notes == [f"settings: created {path}"]
    assert read_settings_file(path) == {"ANALYTICS_POSTGRES_PASSWORD": "secret-1",
                                        "ANALYTICS_AIRFLOW_SECRET": "secret-2",
                                        KEY: "secret-3"}
    assert config.client_id_hash_key == "secret-3"
    lines = path.read_text().splitlines()
    key_line = lines.index(f"{KEY}=secret-3")
    assert lines[key_line - 1] == ("# key of the hash that turns client ids into visitor ids "
                                   "(never change it: returning visitors would get new ids)")
    assert key_line < lines.index("# -- everything else, at its default --")
    assert f"# {KEY}=" not in lines  # not listed a second time among the defaults
    assert settings.load(_env(tmp_path), log=None).client_id_hash_key == "secret-3"


def test_a_real_key_is_32_url_safe_characters(tmp_path, monkeypatch):
    monkeypatch.undo()
    first = settings.load(_env(tmp_path / "a"), log=None).client_id_hash_key
    second = settings.load(_env(tmp_path / "b"), log=None).client_id_hash_key
    assert (len(first), len(second)) == (32, 32) and first != second
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_an_older_file_gets_the_key_once_in_place_of_its_default(tmp_path):
    path = tmp_path / "settings.env"
    path.write_text(OLD_FILE)
    path.chmod(0o600)
    notes: list[str] = []
    config = settings.load(_env(tmp_path), log=notes.append)
    assert notes == [f"settings: generated {KEY} into {path}"]
    assert path.read_text() == OLD_FILE.replace(f"# {KEY}=\n", f"{KEY}=secret-1\n")
    assert (config.client_id_hash_key, config.postgres_password, config.read_api_workers) == (
        "secret-1", "pg-secret", 3)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # later loads keep it and write nothing
    again: list[str] = []
    assert settings.load(_env(tmp_path), log=again.append).client_id_hash_key == "secret-1"
    assert again == [] and path.read_text().count(KEY) == 1


def test_a_file_without_even_the_default_line_gets_it_appended(tmp_path):
    path = tmp_path / "settings.env"
    path.write_text("ANALYTICS_POSTGRES_PASSWORD=pg-secret\n")
    settings.load(_env(tmp_path), log=None)
    assert path.read_text() == f"ANALYTICS_POSTGRES_PASSWORD=pg-secret\n{KEY}=secret-1\n"


def test_a_key_already_in_the_file_is_kept_even_an_empty_one(tmp_path):
    path = tmp_path / "settings.env"
    path.write_text(f"{KEY}=mine\n")
    assert settings.load(_env(tmp_path), log=None).client_id_hash_key == "mine"
    path.write_text(f"{KEY}=\n")  # set empty on purpose: an unkeyed hash
    assert settings.load(_env(tmp_path), log=None).client_id_hash_key == ""
    assert path.read_text() == f"{KEY}=\n"


def test_a_key_from_the_environment_is_written_instead_of_a_generated_one(tmp_path, generated):
    path = tmp_path / "settings.env"
    path.write_text("ANALYTICS_POSTGRES_PASSWORD=pg-secret\n")
    notes: list[str] = []
    config = settings.load(_env(tmp_path, **{KEY: "from-env"}), log=notes.append)
    assert generated == []
    assert notes == [f"settings: wrote {KEY} from the environment into {path}"]
    assert config.client_id_hash_key == "from-env"
    assert read_settings_file(path)[KEY] == "from-env"


def test_an_empty_key_in_the_environment_does_not_erase_the_generated_one(tmp_path):
    """A process started before the key existed has ``ANALYTICS_CLIENT_ID_HASH_KEY=`` in
    its environment (the stack passes every setting)."""
    path = tmp_path / "settings.env"
    path.write_text(OLD_FILE)
    settings.load(_env(tmp_path, **{KEY: ""}), log=None)
    assert read_settings_file(path)[KEY] == "secret-1"
    settings.load(_env(tmp_path, **{KEY: ""}), log=None)
    assert read_settings_file(path)[KEY] == "secret-1"
    assert settings.load(_env(tmp_path), log=None).client_id_hash_key == "secret-1"
