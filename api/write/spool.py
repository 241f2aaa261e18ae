"""A durable on-disk spool for records that Kafka could not take.

Records are appended as JSON lines to segment files ``seg-<ns>-<pid>.jsonl`` and fsynced
before the caller answers 2xx. Every gunicorn worker appends to the same newest segment
(under an exclusive ``flock``), so the spool holds records in the order they were accepted
across workers. Draining (one drainer at a time, ``drain.lock``) first seals the oldest
segment by renaming it to ``.draining`` — writers then start a new segment — sends its lines
in order, records progress in ``.offset`` after each acknowledged batch, and deletes it.
Segments left by a dead process or a crashed drainer are drained like any other, oldest
first, so the spool survives a restart of the service.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

Record = tuple[str, str | None, str]  # (topic, key, value)
OPEN, SEALED = ".jsonl", ".draining"


class Spool:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._handle = None
        self._path: Path | None = None
        self._lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------
    def append(self, records: list[Record]) -> None:
        if not records:
            return
        data = "".join(json.dumps({"t": t, "k": k, "v": v}, separators=(",", ":")) + "\n"
                       for t, k, v in records).encode()
        with self._lock:
            while True:
                handle = self._current()
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    if not self._still_open(handle):  # sealed or drained meanwhile
                        continue
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                    return
                finally:
                    if not handle.closed:
                        fcntl.flock(handle, fcntl.LOCK_UN)

    def _still_open(self, handle) -> bool:
        try:
            same = os.stat(self._path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            handle.close()
            self._handle = None
        return same

    def _current(self):
        """The newest open segment (any process's), or a new one."""
        if self._handle is not None:
            return self._handle
        newest = [p for p in self._segments() if p.suffix == OPEN]
        path = newest[-1] if newest else self.directory / (
            f"seg-{time.time_ns():020d}-{os.getpid()}{OPEN}")
        self._handle = open(path, "ab")  # noqa: SIM115
        self._path = path
        if not newest:
            _fsync_dir(self.directory)
        return self._handle

    # -- reading ---------------------------------------------------------------------------
    def _segments(self) -> list[Path]:
        return sorted((p for p in self.directory.glob("seg-*") if p.suffix in (OPEN, SEALED)),
                      key=lambda p: p.name.split(".")[0])

    def pending(self) -> bool:
        with os.scandir(self.directory) as entries:
            return any(e.name.startswith("seg-") and e.name.endswith((OPEN, SEALED))
                       for e in entries)

    def pending_count(self) -> int:
        total = 0
        for path in self._segments():
            try:
                lines = path.read_bytes().count(b"\n")
            except FileNotFoundError:
                continue
            total += max(0, lines - _read_offset(path))
        return total

    def drain(self, send: Callable[[list[Record]], None], batch: int = 500) -> int:
        """Send spooled records oldest first; return how many were sent.

        ``send`` must raise when a batch was not fully acknowledged; draining then stops
        and resumes after the last acknowledged batch next time.
        """
        with open(self.directory / "drain.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # another worker is draining
            sent = 0
            for path in self._segments():
                sealed = path if path.suffix == SEALED else _seal(path)
                if sealed is None:
                    continue
                sent += _drain_segment(sealed, send, batch)
            return sent


def _seal(path: Path) -> Path | None:
    """Rename an open segment so writers move on to a new one (under the writers' lock)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        sealed = path.with_suffix(SEALED)
        try:
            os.rename(path, sealed)
        except FileNotFoundError:
            return None
        return sealed


def _drain_segment(path: Path, send, batch: int) -> int:
    lines = path.read_bytes().split(b"\n")[:-1]  # a last piece without newline is torn
    offset = _read_offset(path)
    sent = 0
    for start in range(offset, len(lines), batch):
        chunk = [r for r in (_decode(line) for line in lines[start:start + batch]) if r]
        send(chunk)
        sent += len(chunk)
        _write_offset(path, start + batch)
    path.unlink()
    _offset_path(path).unlink(missing_ok=True)
    return sent


def _decode(line: bytes) -> Record | None:
    try:
        item = json.loads(line)
        return item["t"], item["k"], item["v"]
    except (ValueError, KeyError, TypeError):
        return None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _offset_path(path: Path) -> Path:
    return path.with_name(path.name.split(".")[0] + ".offset")


def _read_offset(path: Path) -> int:
    try:
        return int(_offset_path(path).read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _write_offset(path: Path, value: int) -> None:
    target = _offset_path(path)
    tmp = target.with_suffix(".tmp")
    with open(tmp, "w") as handle:
        handle.write(str(value))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
