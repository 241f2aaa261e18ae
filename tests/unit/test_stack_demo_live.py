"""The demo site's live traffic (stack/demo_live.py) on a fake poster: it waits for the
demo seed, then posts each round exactly the visits' events since the last round, never
more than an hour back, across midnight too; its readiness is a fresh progress file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from analytics.config import Config
from stack import demo_live
from stack.demo_data import state_file
from stack.demo_traffic import as_sent, generate_day

BASE = "https://demo.example"


class FakePoster:
    def __init__(self):
        self.posted: list[dict] = []

    def post(self, visits, *, after_ms=-1, until_ms):
        events = [e for v in visits for e in as_sent(v) if after_ms < e["created_at"] <= until_ms]
        self.posted += events
        return len(events), {}


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _live(tmp_path, seeded_through: int | None):
    config = Config(state_dir=tmp_path)
    if seeded_through is not None:
        state_file(config).write_text(json.dumps(
            {"traffic": {"done": True, "through_ms": seeded_through}}))
    poster = FakePoster()
    return config, poster, demo_live.LiveTraffic(config, log=lambda _: None, poster=poster,
                                                 base_url=BASE)


def _expected(day: date, after_ms: int, until_ms: int) -> list[str]:
    return [e["event_id"] for v in generate_day(day, base_url=BASE) for e in v.events
            if after_ms < e["created_at"] <= until_ms]


def test_waits_for_the_seed(tmp_path):
    _config, poster, live = _live(tmp_path, None)
    progress: dict = {}
    assert live.round(progress, _ms("2026-11-30T12:00:00")) == 0
    assert (poster.posted, progress) == ([], {})


def test_each_round_posts_what_happened_since_the_last(tmp_path):
    seeded = _ms("2026-11-30T12:00:00")
    _config, poster, live = _live(tmp_path, seeded)
    progress: dict = {}
    first, second = _ms("2026-11-30T12:05:00"), _ms("2026-11-30T12:09:30")
    done = live.round(progress, first)
    assert [e["event_id"] for e in poster.posted] == _expected(date(2026, 11, 30), seeded,
                                                               first)
    assert done == len(poster.posted) > 0  # a weekday noon: visits every few seconds
    assert progress == {"through_ms": first}
    poster.posted.clear()
    live.round(progress, second)
    assert [e["event_id"] for e in poster.posted] == _expected(date(2026, 11, 30), first,
                                                               second)


def test_never_more_than_an_hour_back_and_across_midnight(tmp_path):
    _config, poster, live = _live(tmp_path, _ms("2026-11-29T20:00:00"))
    progress: dict = {}
    now = _ms("2026-11-30T00:20:00")
    live.round(progress, now)
    back = now - demo_live.MAX_CATCH_UP_MS
    assert [e["event_id"] for e in poster.posted] == (
        _expected(date(2026, 11, 29), back, now) + _expected(date(2026, 11, 30), back, now))
    assert min(e["created_at"] for e in poster.posted) > back


def test_ready_while_the_progress_file_is_fresh(tmp_path):
    config = Config(state_dir=tmp_path)
    assert demo_live.ready(config, now=1000.0) is False
    demo_live._save(config, {"beat_at": 1000.0})
    assert demo_live.ready(config, now=1000.0 + demo_live.FRESH_S - 1) is True
    assert demo_live.ready(config, now=1000.0 + demo_live.FRESH_S + 1) is False
