"""A request cancelled while its events are being published (the client went away): the
publishing goes on to its end and the events are counted once it succeeded, so what
reached Kafka or the spool is never left uncounted (the soak compares the counter with
Kafka: bench/soak_bench.py)."""

from __future__ import annotations

import asyncio

import pytest

from api.write.intake import _finished_even_if_cancelled


def _scenario(fails: bool) -> tuple[list, list]:
    done, counted = [], []

    async def publishing():
        await release.wait()
        if fails:
            raise RuntimeError("the spool could not keep them")
        done.append("published")
        return "published"

    async def main():
        nonlocal release
        release = asyncio.Event()
        request = asyncio.ensure_future(
            _finished_even_if_cancelled(publishing(), lambda: counted.append("counted")))
        await asyncio.sleep(0.01)  # publishing, not done yet
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        assert (done, counted) == ([], [])
        release.set()
        await asyncio.sleep(0.01)

    release = None
    asyncio.run(main())
    return done, counted


def test_a_cancelled_request_is_published_and_counted():
    assert _scenario(fails=False) == (["published"], ["counted"])


def test_a_publish_that_fails_is_not_counted():
    assert _scenario(fails=True) == ([], [])


def test_without_cancellation_the_answer_comes_after_the_count():
    counted = []

    async def publishing():
        return "published"

    async def main():
        result = await _finished_even_if_cancelled(publishing(), lambda: counted.append(1))
        return result, list(counted)

    assert asyncio.run(main()) == ("published", [1])
