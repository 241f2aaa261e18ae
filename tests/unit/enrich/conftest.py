"""Fixtures of the enrichment tests: schema validators, salts, the default pipeline."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from analytics.config import Config
from analytics.enrich import StaticSaltProvider, build_pipeline

from .samples import load_schema


@pytest.fixture(scope="session")
def enriched_validator() -> Draft202012Validator:
    schema = load_schema("enriched_event")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.fixture(scope="session")
def event_validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema("event"))


@pytest.fixture(scope="session")
def salts() -> StaticSaltProvider:
    return StaticSaltProvider(b"test-seed")


@pytest.fixture(scope="session")
def pipeline(salts):
    return build_pipeline(Config.from_env({}).replace(client_id_hash_key="test-key"), salts)
