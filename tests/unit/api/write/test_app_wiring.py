"""``create_app`` builds only the collaborators it is not given: with a site store, a
sink and salts it connects to neither Cassandra nor Kafka."""

from __future__ import annotations

import pytest

from analytics.config import Config
from analytics.enrich import StaticSaltProvider
from api.write import app as write_app
from tests.unit.api.write.conftest import SHOP
from tests.unit.api.write.fakes import MemorySites, RecordingSink


def _refuse(*args, **kwargs):
    raise AssertionError("tried to connect")


def test_given_collaborators_nothing_is_connected(monkeypatch):
    monkeypatch.setattr(write_app, "connect", _refuse)
    monkeypatch.setattr(write_app, "KafkaSink", _refuse)
    app = write_app.create_app(Config(), sites=MemorySites(SHOP), sink=RecordingSink(),
                               salts=StaticSaltProvider())
    assert app is not None


@pytest.mark.parametrize("missing", ["sites", "salts"])
def test_a_missing_store_is_built_on_cassandra(monkeypatch, missing):
    monkeypatch.setattr(write_app, "connect", _refuse)
    given = {"sites": MemorySites(SHOP), "sink": RecordingSink(),
             "salts": StaticSaltProvider()}
    del given[missing]
    with pytest.raises(AssertionError, match="tried to connect"):
        write_app.create_app(Config(), **given)


def test_a_missing_sink_is_built_on_kafka(monkeypatch, tmp_path):
    monkeypatch.setattr(write_app, "KafkaSink", _refuse)
    with pytest.raises(AssertionError, match="tried to connect"):  # its spool: in tmp_path
        write_app.create_app(Config(state_dir=tmp_path), sites=MemorySites(SHOP),
                             salts=StaticSaltProvider())
