"""A durable on-disk spool for records that Kafka could not take, on SQLite.

One database file, ``spool.sqlite3``, in WAL mode with ``synchronous=FULL``: ``append``
returns only after its transaction committed, i.e. after the write-ahead log was fsynced,
so a record the client was answered 2xx for survives a crash of the process or the
machine. A writer killed mid-transaction (or a torn page at the end of the log) leaves
nothing behind that SQLite does not discard on recovery; committed records are never
merged with it. Every gunicorn worker writes to the same file (SQLite serialises writers;
a busy timeout covers the wait), so the spool holds records in the order they were
committed across workers. Any write error (disk full, the size cap, I/O) raises
:class:`SpoolError`: the caller must then answer non-2xx.

Draining (one drainer at a time across processes, ``drain.lock``: a
:class:`DrainSession`) reads the oldest records in bounded batches and deletes what Kafka
took, so a long outage never loads the backlog into memory. Each database has an id of its
own (``spool_id``, made with the file): the relay (:mod:`api.write.relay`) records in Kafka
how far it got in this spool by that id, since ``seq`` numbers start again in a new file.
A spool folder of the earlier hand-written format (``seg-*.jsonl`` segments) is migrated
on first open (:mod:`api.write.spool_migration`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Record = tuple[str, str | None, str]  # (topic, key, value)
DB_NAME = "spool.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: order of commit
    topic TEXT NOT NULL,
    key   TEXT,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS migrated_segments (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


_INHERITED: list[sqlite3.Connection] = []


class SpoolError(RuntimeError):
    """The spool could not keep records (disk full, size cap, I/O error, locked too long):
    nothing of the request may be acknowledged."""


class PartialDelivery(RuntimeError):
    """Raised by a ``send`` when only some records of a batch were acknowledged; those at
    the indexes in ``delivered`` are deleted, the others stay at the head of the spool."""

    def __init__(self, message: str, delivered: list[int]):
        super().__init__(message)
        self.delivered = delivered


class Spool:
    def __init__(self, directory: Path, *, busy_timeout_s: float = 10.0,
                 max_bytes: int | None = None, wal_limit_bytes: int = 16 * 1024 * 1024):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / DB_NAME
        self.busy_timeout_s = busy_timeout_s
        self.max_bytes = max_bytes
        self.wal_limit_bytes = wal_limit_bytes
        self._local = threading.local()
        with _flock(self.directory / "spool.lock"):  # one opener at a time: schema, migration
            try:
                self.migrated = self._open()
            except sqlite3.Error as exc:
                raise SpoolError(f"cannot open the spool {self.path}: {exc}") from exc

    def _open(self) -> int:
        """Create the database if needed; move an old-format spool in (how many records)."""
        from api.write.spool_migration import migrate_segments

        connection = self._connection()
        # auto_vacuum must be chosen before the first table exists (a new file)
        connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
        if connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise SpoolError(f"{self.path}: SQLite refused WAL mode")
        connection.executescript(_SCHEMA)
        connection.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('spool_id', ?)",
                           (uuid.uuid4().hex,))
        self.spool_id = connection.execute(
            "SELECT value FROM meta WHERE name = 'spool_id'").fetchone()[0]
        _fsync_dir(self.directory)
        return migrate_segments(self.directory, connection)

    # -- connections: one per thread and process ----------------------------------------
    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # new thread, or a forked child
            if getattr(local, "connection", None) is not None:
                # a connection of the parent process: never use it, and never close it here
                # (closing would drop this process's POSIX locks on the file)
                _INHERITED.append(local.connection)
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout_s,
                                         isolation_level=None)  # explicit transactions
            connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            connection.execute("PRAGMA synchronous=FULL")  # fsync the log at every commit
            connection.execute(f"PRAGMA journal_size_limit={self.wal_limit_bytes}")
            if self.max_bytes:
                page = connection.execute("PRAGMA page_size").fetchone()[0]
                connection.execute(f"PRAGMA max_page_count={max(1, self.max_bytes // page)}")
            local.connection, local.pid = connection, os.getpid()
        return local.connection

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            connection.close()
        self._local = threading.local()

    # -- writing ---------------------------------------------------------------------------
    def append(self, records: list[Record]) -> None:
        """Keep ``records`` (in order); returns only once they are committed to disk."""
        if not records:
            return
        rows = [(topic, key, value.encode()) for topic, key, value in records]
        try:
            with self._transaction() as connection:
                connection.executemany(
                    "INSERT INTO records (topic, key, value) VALUES (?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise SpoolError(f"could not spool {len(rows)} records to {self.path}: "
                             f"{exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")  # the write lock now, not at the first write
        try:
            yield connection
            connection.execute("COMMIT")  # returns once the log is fsynced
        except BaseException:
            if connection.in_transaction:  # a failed COMMIT may leave it open
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    # -- reading ---------------------------------------------------------------------------
    def pending(self) -> bool:
        """Whether anything waits (a few microseconds: fine on the event loop)."""
        return self._read("SELECT EXISTS (SELECT 1 FROM records)") == 1

    def pending_count(self) -> int:
        return self._read("SELECT count(*) FROM records")

    def _read(self, query: str):
        try:
            return self._connection().execute(query).fetchone()[0]
        except sqlite3.Error as exc:
            raise SpoolError(f"could not read the spool {self.path}: {exc}") from exc

    @contextmanager
    def drain_session(self) -> Iterator[DrainSession | None]:
        """The right to drain (None while another thread or process drains); the space
        of a drained backlog is given back at the end."""
        with _flock(self.directory / "drain.lock", blocking=False) as locked:
            if not locked:
                yield None
                return
            session = DrainSession(self)
            try:
                yield session
            finally:
                if session.deleted and not self.pending():
                    self._compact(self._connection())

    def drain(self, send: Callable[[list[Record]], None], batch: int = 500) -> int:
        """Send spooled records oldest first, ``batch`` at a time; return how many were
        acknowledged (and deleted).

        ``send`` must raise when a batch was not fully acknowledged; draining then stops
        and resumes with the unacknowledged records next time (a :class:`PartialDelivery`
        names the ones that were, which are deleted). Records committed while draining are
        drained too, so this returns once the spool is empty (or a send failed).
        """
        with self.drain_session() as session:
            if session is None:
                return 0  # another worker is draining
            sent = 0
            while rows := session.oldest(batch):
                try:
                    send([record for _seq, record in rows])
                except PartialDelivery as partial:
                    session.delete([rows[i][0] for i in partial.delivered])
                    sent += len(partial.delivered)
                    raise
                session.delete_through(rows[-1][0])  # the batch is the lowest seqs
                sent += len(rows)
            return sent

    @staticmethod
    def _compact(connection: sqlite3.Connection) -> None:
        """Give the space of a drained backlog back (best effort: writers may be busy)."""
        try:
            connection.executescript("PRAGMA incremental_vacuum;")  # runs to completion
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # never waits
        except sqlite3.Error:
            pass


class DrainSession:
    """Reading and deleting the spool's oldest records while holding the drain lock."""

    def __init__(self, spool: Spool):
        self.spool = spool
        self.deleted = 0

    def oldest(self, limit: int) -> list[tuple[int, Record]]:
        """Up to ``limit`` of the oldest records, with their ``seq``."""
        rows = self.spool._connection().execute(
            "SELECT seq, topic, key, value FROM records ORDER BY seq LIMIT ?",
            (limit,)).fetchall()
        return [(seq, (topic, key, bytes(value).decode())) for seq, topic, key, value in rows]

    def delete_through(self, seq: int) -> int:
        """Delete every record up to ``seq`` (what Kafka has); how many were deleted."""
        with self.spool._transaction() as connection:
            gone = connection.execute("DELETE FROM records WHERE seq <= ?", (seq,)).rowcount
        self.deleted += gone
        return gone

    def delete(self, seqs: list[int]) -> None:
        if seqs:
            with self.spool._transaction() as connection:
                connection.executemany("DELETE FROM records WHERE seq = ?",
                                       [(s,) for s in seqs])
            self.deleted += len(seqs)


@contextmanager
def _flock(path: Path, blocking: bool = True) -> Iterator[bool]:
    """An exclusive lock between processes (and threads); released if the holder dies."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
