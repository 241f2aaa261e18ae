"""The on-disk spool: order across writers, torn writes, resuming after a failed send."""

import pytest

from api.write.spool import Spool


def _records(prefix: str, n: int):
    return [("events.raw", f"k{i}", f"{prefix}{i}") for i in range(n)]


def test_two_writers_share_one_ordered_tail(tmp_path):
    worker_a, worker_b = Spool(tmp_path), Spool(tmp_path)
    worker_a.append(_records("a", 2))
    worker_b.append(_records("b", 2))
    worker_a.append(_records("c", 1))
    assert worker_a.pending_count() == 5
    sent = []
    assert Spool(tmp_path).drain(sent.extend) == 5
    assert [v for _, _, v in sent] == ["a0", "a1", "b0", "b1", "c0"]
    assert not worker_a.pending()
    # writers move on to a new segment after a drain, and order holds again
    worker_b.append(_records("d", 1))
    worker_a.append(_records("e", 1))
    sent.clear()
    Spool(tmp_path).drain(sent.extend)
    assert [v for _, _, v in sent] == ["d0", "e0"]


def test_spool_survives_a_new_process_and_ignores_a_torn_last_line(tmp_path):
    Spool(tmp_path).append(_records("x", 3))
    [segment] = tmp_path.glob("seg-*.jsonl")
    with open(segment, "ab") as handle:
        handle.write(b'{"t":"events.raw","k":null,"v":"torn')  # crash mid-write
    sent = []
    assert Spool(tmp_path).drain(sent.extend) == 3
    assert sent == _records("x", 3)


def test_failed_send_resumes_after_the_last_acknowledged_batch(tmp_path):
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
    assert spool.pending_count() == 3  # first batch of 2 acknowledged
    spool.append(_records("late", 1))  # arrives while the sealed segment waits
    spool.drain(flaky, batch=2)
    assert [v for _, _, v in sent] == ["r0", "r1", "r2", "r3", "r4", "late0"]
    assert not spool.pending()
