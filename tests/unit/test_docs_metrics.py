"""docs/metrics.md stays checkable: every function it names exists, and nothing in the
repository still points to the old contract outside the repository."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import pytest

from analytics.config import REPO_ROOT

DOC = REPO_ROOT / "docs" / "metrics.md"
PACKAGES = ("analytics", "api", "batch", "streaming", "stack")
NAMED = re.compile(r"`((?:" + "|".join(PACKAGES) + r")(?:\.\w+)+(?::\w+(?:\.\w+)*)?)`")
"""A code span naming ``module:attribute`` (``Class.method`` allowed) or a dotted path."""
OLD_CONTRACT = "shared/" + "METRICS.md"  # split so that this file does not name it
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache",
                ".ruff_cache", ".hypothesis", ".cache"}
SKIPPED_PATHS = {Path("analytics/storage/migrations"), Path("dashboard/dist"),
                 Path("bench/results")}
"""Migrations are frozen (checksummed); the others are build output and local state."""


def named_in_doc() -> list[str]:
    return sorted(set(NAMED.findall(DOC.read_text(encoding="utf-8"))))


def resolve(name: str):
    """The object a ``module:attr.attr`` or ``package.module.attr`` name refers to."""
    if ":" in name:
        module_name, attribute = name.split(":", 1)
        target = importlib.import_module(module_name)
        parts = attribute.split(".")
    else:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            parts = parts[cut:]
            break
        else:
            raise ModuleNotFoundError(name)
    for part in parts:
        target = getattr(target, part)
    return target


def test_doc_names_functions():
    names = named_in_doc()
    assert len(names) > 40, names
    assert "analytics.metrics.sessions:sessionize" in names


@pytest.mark.parametrize("name", named_in_doc())
def test_every_named_function_exists(name):
    try:
        resolve(name)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"docs/metrics.md names {name}, which does not exist: {error}")


def _skipped(relative: Path) -> bool:
    return (relative.name in SKIPPED_DIRS or relative.name.startswith(".state")
            or relative in SKIPPED_PATHS)


def repo_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(REPO_ROOT):
        here = Path(folder).relative_to(REPO_ROOT)
        dirs[:] = [d for d in dirs if not _skipped(here / d)]
        found += [here / f for f in files if not f.endswith((".pyc", ".pyo"))]
    return found


def test_no_file_points_to_the_old_contract():
    needle = OLD_CONTRACT.encode()
    files = repo_files()
    assert Path("docs/metrics.md") in files
    citing = [str(f) for f in files if needle in (REPO_ROOT / f).read_bytes()]
    assert citing == [], f"still cite {OLD_CONTRACT} (use docs/metrics.md): {citing}"
