"""Moves a spool folder of the earlier hand-written format into the SQLite spool.

The earlier spool appended JSON lines ``{"t": topic, "k": key, "v": value}`` to segment
files ``seg-<ns>-<pid>.jsonl`` (renamed ``.draining`` while a relay sent them) and kept
the number of lines already acknowledged by Kafka in ``seg-….offset``. On the first open
of the new spool, each segment (oldest first) is read line by line (never whole), the
lines after its offset are inserted, and the segment's name is recorded in the same
transaction, so a crash between the commit and removing the files does not insert its
records twice. Then the files are removed.

Lines are recovered as the old reader should have: a line that does not decode because a
torn write (a worker killed mid-append) was followed by the next append is read from its
last ``{"t":`` on (which cannot occur inside a JSON string); the last piece of a file
without a newline is a torn append that was never acknowledged and is skipped.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

OPEN, SEALED = ".jsonl", ".draining"
_RECORD_START = b'{"t":'


def old_segments(directory: Path) -> list[Path]:
    return sorted((p for p in directory.glob("seg-*") if p.suffix in (OPEN, SEALED)),
                  key=lambda p: p.name.split(".")[0])


def migrate_segments(directory: Path, connection: sqlite3.Connection) -> int:
    """Insert the unacknowledged records of every old segment; return how many."""
    total = 0
    for path in old_segments(directory):
        name = path.name.split(".")[0]
        done = connection.execute("SELECT 1 FROM migrated_segments WHERE name = ?",
                                  (name,)).fetchone()
        if not done:
            skip = _read_offset(directory / f"{name}.offset")
            connection.execute("BEGIN IMMEDIATE")
            try:
                count = 0
                for index, record in enumerate(read_lines(path)):
                    if index >= skip and record is not None:
                        connection.execute(
                            "INSERT INTO records (topic, key, value) VALUES (?, ?, ?)",
                            (record[0], record[1], record[2].encode()))
                        count += 1
                connection.execute("INSERT INTO migrated_segments (name) VALUES (?)",
                                   (name,))
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            total += count
            log.info("spool: moved %d records of %s into %s", count, path.name,
                     connection.execute("PRAGMA database_list").fetchone()[2])
        path.unlink(missing_ok=True)
        for leftover in (f"{name}.offset", f"{name}.tmp"):
            (directory / leftover).unlink(missing_ok=True)
    return total


def read_lines(path: Path) -> Iterator[tuple[str, str | None, str] | None]:
    """One item per complete line (None for a line that holds no record), in order."""
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                return  # a torn last append: never acknowledged
            yield decode(line)


def decode(line: bytes) -> tuple[str, str | None, str] | None:
    for candidate in (line, line[line.rfind(_RECORD_START):]):
        try:
            item = json.loads(candidate)
            topic, key, value = item["t"], item["k"], item["v"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(topic, str) and isinstance(value, str) and (
                key is None or isinstance(key, str)):
            return topic, key, value
    return None


def _read_offset(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0

