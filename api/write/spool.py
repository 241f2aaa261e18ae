"""A durable on-disk spool for records that Kafka could not take.

Records are appended as JSON lines to segment files ``seg-<ns>-<pid>.jsonl`` and fsynced
before the caller answers 2xx. Several gunicorn workers share one spool folder: each
appends to its own segment under an exclusive ``flock``; whoever drains takes the same lock,
sends the lines in order, records progress in ``<segment>.offset`` and deletes the segment
when every line was acknowledged. The spool survives a restart of the service: segments
left by a dead process are drained like any other, oldest first.
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


class Spool:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._file = None
        self._lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------
    def append(self, records: list[Record]) -> None:
        if not records:
            return
        data = "".join(json.dumps({"t": t, "k": k, "v": v}, separators=(",", ":")) + "\n"
                       for t, k, v in records).encode()
        with self._lock:
            while True:
                handle = self._segment()
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    if os.fstat(handle.fileno()).st_nlink == 0:  # drained meanwhile
                        handle.close()
                        self._file = None
                        continue
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                    return
                finally:
                    if not handle.closed:
                        fcntl.flock(handle, fcntl.LOCK_UN)

    def _segment(self):
        if self._file is None or self._file.closed:
            name = f"seg-{time.time_ns():020d}-{os.getpid()}.jsonl"
            self._file = open(self.directory / name, "ab")  # noqa: SIM115
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return self._file

    # -- reading ---------------------------------------------------------------------------
    def segments(self) -> list[Path]:
        return sorted(self.directory.glob("seg-*.jsonl"))

    def pending(self) -> bool:
        with os.scandir(self.directory) as entries:
            return any(e.name.startswith("seg-") and e.name.endswith(".jsonl") for e in entries)

    def pending_count(self) -> int:
        total = 0
        for path in self.segments():
            try:
                lines = path.read_bytes().count(b"\n")
            except FileNotFoundError:
                continue
            total += max(0, lines - _read_offset(path))
        return total

    def drain(self, send: Callable[[list[Record]], None], batch: int = 500) -> int:
        """Send spooled records oldest first; return how many were sent.

        ``send`` must raise when a batch was not fully acknowledged; draining then stops
        and resumes from the last acknowledged batch next time.
        """
        sent = 0
        for path in self.segments():
            try:
                handle = open(path, "rb")  # noqa: SIM115
            except FileNotFoundError:
                continue
            with handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return sent  # a writer is appending; keep the order, try again later
                if os.fstat(handle.fileno()).st_nlink == 0:
                    continue
                lines = handle.read().split(b"\n")
                complete = lines[:-1]  # a last piece without newline is a torn write
                offset = _read_offset(path)
                for start in range(offset, len(complete), batch):
                    chunk = [_decode(line) for line in complete[start:start + batch]]
                    send([r for r in chunk if r is not None])
                    sent += len(chunk)
                    _write_offset(path, start + len(chunk))
                path.unlink()
                _offset_path(path).unlink(missing_ok=True)
        return sent


def _decode(line: bytes) -> Record | None:
    try:
        item = json.loads(line)
        return item["t"], item["k"], item["v"]
    except (ValueError, KeyError, TypeError):
        return None


def _offset_path(path: Path) -> Path:
    return path.with_suffix(".offset")


def _read_offset(path: Path) -> int:
    try:
        return int(_offset_path(path).read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _write_offset(path: Path, value: int) -> None:
    tmp = _offset_path(path).with_suffix(".offset.tmp")
    with open(tmp, "w") as handle:
        handle.write(str(value))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, _offset_path(path))
