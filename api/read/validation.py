"""The read API's versioned JSON Schemas (``api/read/schemas/``): loaded and compiled
once per file, for the query model and the ad-hoc job spec alike."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from analytics import client_json


@cache
def load(path: Path) -> dict:
    return json.loads(path.read_text())


@cache
def _validator(path: Path):
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(load(path), format_checker=FormatChecker())


def errors(path: Path, payload: object) -> list:
    """Every way ``payload`` breaks the schema at ``path``, in document order. A payload
    nested deeper than :data:`analytics.client_json.MAX_DEPTH` is not validated (the
    validator and its messages recurse): its one error says so."""
    from jsonschema import ValidationError

    where = client_json.too_deep(payload)
    if where is not None:
        return [ValidationError(f"nested deeper than {client_json.MAX_DEPTH} levels at "
                                f"{where[:200]}")]
    return sorted(_validator(path).iter_errors(payload), key=lambda e: list(e.absolute_path))
