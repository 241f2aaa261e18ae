"""The tracker builds with npm, stays under 1,000 bytes gzipped, and the committed
tracker/dist/sl.js (served by the write service) is what the source builds to."""

from __future__ import annotations

import gzip
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

TRACKER = Path(__file__).resolve().parents[2] / "tracker"
DIST = TRACKER / "dist" / "sl.js"
LIMIT = 1000


def npm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npm", *args], cwd=TRACKER, capture_output=True, text=True,
                          timeout=300)


def sizes(output: str) -> tuple[int, int]:
    raw = re.search(r"^raw: (\d+) bytes$", output, re.MULTILINE)
    gzipped = re.search(r"^gzipped: (\d+) bytes", output, re.MULTILINE)
    assert raw and gzipped, output
    return int(raw.group(1)), int(gzipped.group(1))


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed (make setup installs it)")
    if not (TRACKER / "node_modules").is_dir():
        done = npm("ci", "--no-audit", "--no-fund")
        assert done.returncode == 0, done.stdout + done.stderr


def test_committed_build_is_a_fresh_build(tmp_path):
    fresh = tmp_path / "sl.js"
    done = npm("run", "build", "--", str(fresh))
    assert done.returncode == 0, done.stdout + done.stderr
    assert DIST.read_bytes() == fresh.read_bytes(), \
        "tracker/dist/sl.js is stale: run `npm run build` in tracker/ and commit it"


def test_size_check_passes_under_1000_bytes_gzipped():
    done = npm("run", "size")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "size check passed" in done.stdout
    raw, gzipped = sizes(done.stdout)
    assert raw == DIST.stat().st_size
    assert gzipped <= LIMIT
    # an independent measure (Python's zlib; Node bundles another zlib build, a few bytes off)
    python_gzipped = len(gzip.compress(DIST.read_bytes(), compresslevel=9))
    assert python_gzipped <= LIMIT
    assert abs(python_gzipped - gzipped) <= 16


def test_size_check_fails_above_the_budget(tmp_path):
    too_big = tmp_path / "big.js"
    too_big.write_bytes(random.Random(7).randbytes(4096))  # gzip cannot shrink random bytes
    done = npm("run", "size", "--", str(too_big))
    assert done.returncode != 0
    assert sizes(done.stdout)[1] > LIMIT
    assert "size check failed" in done.stderr
