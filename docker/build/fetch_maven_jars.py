"""Download the jars of a manifest (docker/requirements/spark-connectors.txt) from Maven
Central into a folder, checking each file's SHA-256 against the manifest. Used at image
build time by docker/spark.Dockerfile and docker/airflow.Dockerfile, so both images carry
the same, byte-identical connector jars as the local run.

    python fetch_maven_jars.py MANIFEST DEST [--repository URL]

Standard library only (runs with any Python 3.10+ of a build stage). Exit status 1 when a
download fails or a hash differs; nothing half-written is left in DEST.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import urllib.request
from pathlib import Path

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


def read_manifest(path: Path) -> list[tuple[str, str, str, str]]:
    """``(group, artifact, version, sha256)`` of every non-comment line."""
    entries = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        coordinates, sha256 = line.split()
        group, artifact, version = coordinates.split(":")
        if len(sha256) != 64:
            raise ValueError(f"{path}:{number}: not a SHA-256: {sha256}")
        entries.append((group, artifact, version, sha256.lower()))
    return entries


def jar_url(repository: str, group: str, artifact: str, version: str) -> str:
    return (f"{repository.rstrip('/')}/{group.replace('.', '/')}/{artifact}/{version}/"
            f"{artifact}-{version}.jar")


def download(url: str, attempts: int = 3) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.read()
        except OSError as exc:
            if attempt == attempts:
                raise
            print(f"retrying {url}: {exc}", file=sys.stderr)
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--repository", default=MAVEN_CENTRAL)
    args = parser.parse_args(argv)
    args.dest.mkdir(parents=True, exist_ok=True)
    for group, artifact, version, sha256 in read_manifest(args.manifest):
        url = jar_url(args.repository, group, artifact, version)
        data = download(url)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            print(f"SHA-256 mismatch for {url}: {actual}, manifest says {sha256}",
                  file=sys.stderr)
            return 1
        target = args.dest / f"{artifact}-{version}.jar"
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
        print(f"{target.name} {len(data)} bytes, sha256 ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
