"""The SQLite spool: order across writers, nothing committed lost to torn writes or killed
writers, bounded batches, write errors raised, resuming after a failed send."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
import tracemalloc

import pytest

from api.write.spool import DB_NAME, PartialDelivery, Spool, SpoolError

FORK = multiprocessing.get_context("fork")


def _records(prefix: str, n: int, start: int = 0):
    return [("events.raw", f"k{i}", f"{prefix}{i}") for i in range(start, start + n)]


def _drain_all(spool: Spool, batch: int = 500) -> list:
    sent: list = []
    spool.drain(sent.extend, batch=batch)
    return sent


def _values(records) -> list[str]:
    return [v for _, _, v in records]


def test_two_writers_share_one_ordered_tail(tmp_path):
    worker_a, worker_b = Spool(tmp_path), Spool(tmp_path)
    worker_a.append(_records("a", 2))
    worker_b.append(_records("b", 2))
    worker_a.append(_records("c", 1))
    assert (worker_a.pending(), worker_b.pending_count()) == (True, 5)
    sent = []
    assert Spool(tmp_path).drain(sent.extend) == 5
    assert _values(sent) == ["a0", "a1", "b0", "b1", "c0"]
    assert (worker_a.pending(), worker_a.pending_count()) == (False, 0)
    worker_b.append(_records("d", 1))
    worker_a.append(_records("e", 1))
    assert _drain_all(Spool(tmp_path)) == [("events.raw", "k0", "d0"), ("events.raw", "k0", "e0")]


def test_keys_topics_and_unicode_values_round_trip(tmp_path):
    spool = Spool(tmp_path)
    records = [("events.invalid", None, '{"payload":"\u00e9\u2603 \\ud800"}'),
               ("events.raw", "v1", "x" * 70_000)]
    spool.append(records)
    assert _drain_all(Spool(tmp_path)) == records


def test_drains_100k_records_in_batches_of_1000_in_bounded_memory(tmp_path):
    spool = Spool(tmp_path)
    for start in range(0, 100_000, 10_000):
        spool.append([("events.raw", f"k{i}", f"{i:06d}" + "p" * 200)
                      for i in range(start, start + 10_000)])
    assert spool.pending_count() == 100_000
    seen = {"next": 0, "batches": 0}

    def send(batch):
        assert len(batch) == 1000
        assert [int(v[:6]) for _, _, v in batch] == list(range(seen["next"], seen["next"] + 1000))
        seen["next"] += 1000
        seen["batches"] += 1

    tracemalloc.start()
    try:
        assert Spool(tmp_path).drain(send, batch=1000) == 100_000
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (seen["next"], seen["batches"], spool.pending_count()) == (100_000, 100, 0)
    assert peak < 2_000_000  # the whole backlog is ~21 MB of values
    assert os.path.getsize(tmp_path / DB_NAME) < 100_000  # space given back after the drain


def test_failed_send_resumes_with_the_unacknowledged_batch(tmp_path):
    spool = Spool(tmp_path)
    spool.append(_records("r", 5))
    sent, calls = [], []

    def flaky(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("broker went away")
        sent.extend(batch)

    with pytest.raises(RuntimeError):
        spool.drain(flaky, batch=2)
    assert spool.pending_count() == 3  # first batch of 2 acknowledged and deleted
    spool.append(_records("late", 1))
    assert spool.drain(flaky, batch=2) == 4
    assert _values(sent) == ["r0", "r1", "r2", "r3", "r4", "late0"]
    assert not spool.pending()


def test_partial_delivery_deletes_only_what_was_acknowledged(tmp_path):
    spool = Spool(tmp_path)
    spool.append(_records("r", 4))

    def half(batch):
        raise PartialDelivery("2 of 4 not delivered", [0, 2])

    with pytest.raises(PartialDelivery):
        spool.drain(half, batch=4)
    assert _values(_drain_all(spool)) == ["r1", "r3"]


def test_one_drainer_at_a_time(tmp_path):
    spool = Spool(tmp_path)
    spool.append(_records("r", 3))
    inner = []

    def send(batch):  # a second drainer (another worker's relay) while this one sends
        inner.append(Spool(tmp_path).drain(lambda b: None))

    assert spool.drain(send) == 3
    assert inner == [0]


def test_a_full_spool_raises_and_keeps_what_was_committed(tmp_path):
    spool = Spool(tmp_path, max_bytes=64 * 1024)
    spool.append(_records("ok", 3))
    with pytest.raises(SpoolError, match="could not spool 200 records.*full"):
        spool.append([("events.raw", None, "x" * 1000)] * 200)
    assert _values(_drain_all(spool)) == ["ok0", "ok1", "ok2"]
    spool.append(_records("after", 1))  # room again once drained
    assert _values(_drain_all(spool)) == ["after0"]


def _append_under_file_size_limit(directory, out):
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    spool = Spool(directory)
    spool.append(_records("ok", 2))
    limit = max(p.stat().st_size for p in directory.iterdir()) + 50_000
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        spool.append([("events.raw", None, "x" * 4000)] * 100)
        out.put("no error")
    except SpoolError as exc:
        out.put(f"SpoolError: {exc}")


def test_a_write_error_raises(tmp_path):
    out = FORK.Queue()
    child = FORK.Process(target=_append_under_file_size_limit, args=(tmp_path, out))
    child.start()
    child.join(30)
    message = out.get(timeout=5)
    assert message.startswith("SpoolError: could not spool 100 records"), message
    assert _values(_drain_all(Spool(tmp_path))) == ["ok0", "ok1"]


# -- killed writers: nothing acknowledged is lost ------------------------------------------

def _append_one_by_one(directory, name, acks_path, n):
    spool = Spool(directory)
    with open(acks_path, "a") as acks:
        for i in range(n):
            spool.append([("events.raw", name, f"{name}-{i}")])
            acks.write(f"{name}-{i}\n")  # the 2xx: only after append returned
            acks.flush()


def test_writers_killed_mid_append_lose_nothing_acknowledged(tmp_path):
    acks_path = tmp_path / "acks.txt"
    spool_dir = tmp_path / "spool"
    Spool(spool_dir)
    for round_ in range(3):
        writers = [FORK.Process(target=_append_one_by_one,
                                args=(spool_dir, f"w{round_}{w}", acks_path, 100_000))
                   for w in range(3)]
        for writer in writers:
            writer.start()
        time.sleep(0.3 + 0.2 * round_)
        for writer in writers:
            os.kill(writer.pid, signal.SIGKILL)
        for writer in writers:
            writer.join()
    acked = acks_path.read_text().split()
    drained = _values(_drain_all(Spool(spool_dir)))
    assert len(drained) == len(set(drained))  # none twice
    assert set(acked) <= set(drained)  # every acknowledged one
    assert len(drained) - len(acked) <= 9  # at most the one in flight per killed writer
    for name in {v.rsplit("-", 1)[0] for v in drained}:  # each writer's order kept
        mine = [int(v.rsplit("-", 1)[1]) for v in drained if v.startswith(name + "-")]
        assert mine == list(range(len(mine)))


def _die_inside_a_transaction(directory, ready):
    connection = sqlite3.connect(directory / DB_NAME, isolation_level=None)
    connection.execute("PRAGMA cache_size=5")  # spill the open transaction into the WAL
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("INSERT INTO records (topic, key, value) VALUES (?, ?, ?)",
                           [("events.raw", None, b"torn" * 500) for _ in range(2000)])
    ready.set()
    time.sleep(60)


def _write_until_killed(directory, ready, go, done):
    spool = Spool(directory)
    spool.append(_records("before", 3))
    ready.set()
    go.wait(30)
    spool.append(_records("after-torn", 2))  # the dead writer's lock is gone
    done.set()
    time.sleep(60)  # killed -9 here: the log is neither checkpointed nor removed


def test_a_torn_transaction_and_a_torn_wal_tail_are_discarded(tmp_path):
    ready, go, done, torn_ready = FORK.Event(), FORK.Event(), FORK.Event(), FORK.Event()
    writer = FORK.Process(target=_write_until_killed, args=(tmp_path, ready, go, done))
    writer.start()
    assert ready.wait(30)
    torn = FORK.Process(target=_die_inside_a_transaction, args=(tmp_path, torn_ready))
    torn.start()
    assert torn_ready.wait(30)
    wal = tmp_path / (DB_NAME + "-wal")
    assert os.path.getsize(wal) > 1_000_000  # the uncommitted pages are in the log
    os.kill(torn.pid, signal.SIGKILL)
    torn.join()
    go.set()
    assert done.wait(30)
    os.kill(writer.pid, signal.SIGKILL)  # every process of the spool crashed
    writer.join()
    with open(wal, "ab") as handle:  # and a torn frame at the end of the log
        handle.write(os.urandom(3000))
    fresh = Spool(tmp_path)  # recovery from the log
    fresh.append(_records("after-crash", 2))
    assert _values(_drain_all(fresh)) == ["before0", "before1", "before2", "after-torn0",
                                          "after-torn1", "after-crash0", "after-crash1"]


def _write_and_drain(directory, role, n, out):
    spool = Spool(directory)
    if role == "drainer":
        got = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(got) < n:
            spool.drain(got.extend, batch=64)
        out.put(_values(got))
    else:
        for i in range(0, n, 2):
            spool.append([("events.raw", role, f"{role}-{i}"),
                          ("events.raw", role, f"{role}-{i + 1}")])


def test_concurrent_writer_processes_and_a_drainer_exactly_once_in_order(tmp_path):
    Spool(tmp_path)
    out = FORK.Queue()
    writers = [FORK.Process(target=_write_and_drain, args=(tmp_path, f"w{w}", 400, out))
               for w in range(4)]
    drainer = FORK.Process(target=_write_and_drain, args=(tmp_path, "drainer", 1600, out))
    for process in (*writers, drainer):
        process.start()
    got = out.get(timeout=60)
    for process in (*writers, drainer):
        process.join(10)
    assert len(got) == 1600 and len(set(got)) == 1600
    for w in range(4):
        assert [v for v in got if v.startswith(f"w{w}-")] == [f"w{w}-{i}" for i in range(400)]


# -- the earlier file format ---------------------------------------------------------------

def _line(topic, key, value) -> bytes:
    import json

    return json.dumps({"t": topic, "k": key, "v": value}, separators=(",", ":")).encode() + b"\n"


def test_an_old_format_spool_is_moved_in_once_in_order(tmp_path):
    older = tmp_path / "seg-00000000000000000001-11.draining"
    older.write_bytes(_line("events.raw", "a", "sent0") + _line("events.raw", "a", "sent1")
                      + _line("events.raw", "a", "old2"))
    (tmp_path / "seg-00000000000000000001-11.offset").write_text("2")  # 2 acknowledged
    newer = tmp_path / "seg-00000000000000000002-12.jsonl"
    newer.write_bytes(
        _line("events.raw", None, "new0")
        + b'{"t":"events.raw","k":null,"v":"tor'  # a torn append, then the next one
        + _line("events.raw", "b", "new1")
        + b"not json\n"
        + _line("events.invalid", None, "new2")
        + b'{"t":"events.raw","k":null,"v":"never acknowledged')  # torn last append
    spool = Spool(tmp_path)
    assert spool.migrated == 4
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("seg-")) == []
    assert Spool(tmp_path).migrated == 0
    assert _drain_all(spool) == [("events.raw", "a", "old2"), ("events.raw", None, "new0"),
                                 ("events.raw", "b", "new1"), ("events.invalid", None, "new2")]


def test_a_segment_already_moved_in_is_not_inserted_twice(tmp_path):
    Spool(tmp_path).append(_records("kept", 1))
    connection = sqlite3.connect(tmp_path / DB_NAME)
    with connection:  # the commit of an earlier migration, whose process died before unlink
        connection.execute("INSERT INTO migrated_segments (name) VALUES (?)",
                           ("seg-00000000000000000003-13",))
    connection.close()
    segment = tmp_path / "seg-00000000000000000003-13.jsonl"
    segment.write_bytes(_line("events.raw", None, "kept0"))
    spool = Spool(tmp_path)
    assert (spool.migrated, segment.exists()) == (0, False)
    assert _values(_drain_all(spool)) == ["kept0"]
