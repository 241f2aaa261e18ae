"""What every generated request must get back, and the tally of requests sent.

Every answer is a 2xx, or a 4xx whose JSON body is both services' one error body: the
reason as ``title`` and the request's id (the ``X-Request-Id`` header) as ``request_id``.
On the write service's intake endpoints each refusal also says what is wrong
(``description``), is counted (its reason's ``analytics_write_events_refused_total``
moved by one) and kept on the invalid-events topic with that reason and the payload
truncated to the configured size. The compatible collectors answer as the services they
stand in for (Plausible's 202 "ok", Umami's 200, Matomo's GIF, 204 or bulk counts,
Snowplow's 200 "ok" or GIF), and each event they take is either published or counted and
kept, exactly once."""

from __future__ import annotations

import json
import sys
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import orjson

from api.write import counters
from api.write.collectors.resources import matomo_paths
from api.write.resources import PIXEL

TALLY: Counter[str] = Counter()
"""Requests sent, per test (printed at the end of the run by the fuzz conftest)."""
OUTCOMES: Counter[str] = Counter()
"""Answers by status and reason (``202``, ``400 too_deep``, ...)."""


class Sent:
    """Counts the requests one test sends (and adds them to :data:`TALLY`)."""

    def __init__(self, name: str):
        self.name = name
        self.count = 0

    def add(self) -> None:
        self.count += 1
        TALLY[self.name] += 1


def simulate(client, method: str, path: str, **kwargs):
    """``client.simulate_request`` with the stack of a server: hypothesis raises the
    recursion limit while a test runs (room for its own strategies), which would hide what
    ~1,000 nested values do to a worker; the request gets the headroom a fresh
    interpreter has (its default limit, 1,000 frames, from here on)."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    raised = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 1000)
    try:
        return client.simulate_request(method, path, **kwargs)
    finally:
        sys.setrecursionlimit(raised)


def error_body(result) -> dict:
    """The JSON object an answer holds ({} for anything else)."""
    try:
        body = json.loads(result.text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def reason(result) -> str | None:
    found = error_body(result).get("title")
    return found if isinstance(found, str) and found else None


def check(result, what: str) -> None:
    """A 2xx, or a 4xx whose JSON body names a reason and the request's id; ``what`` says
    what was sent."""
    status = result.status_code
    OUTCOMES[f"{status} {reason(result) or ''}".strip() if status >= 400 else str(status)] += 1
    assert status < 500, f"{status} for {what}: {result.text[:500]}"
    assert 200 <= status < 300 or (400 <= status < 500 and reason(result)), (
        f"{status} without a reason for {what}: {result.text[:300]!r}")
    if status >= 400:
        assert error_body(result).get("request_id") == result.headers["X-Request-Id"], (
            f"{status} without the request id for {what}: {result.text[:300]!r}")


def refused_counts() -> dict[str, float]:
    """reason -> the write service's refusal counter."""
    return {s.labels["reason"]: s.value for metric in counters.REFUSED.collect()
            for s in metric.samples if s.name.endswith("_total")}


class WriteProbe:
    """Sends requests to the write app and checks each answer, its counters and what
    the sink was given."""

    def __init__(self, world, sent: Sent):
        self.world = world
        self.sent = sent
        self.limit = world.config.invalid_payload_max_bytes
        self.plausible, self.umami = world.config.plausible_path, world.config.umami_path
        self.matomo = matomo_paths(world.config)  # matomo.php, piwik.php
        self.snowplow = (world.config.snowplow_path, world.config.snowplow_get_path)
        self.intake = {("POST", world.config.collect_path), ("GET", "/api/pixel.gif"),
                       ("POST", "/mp/collect"), ("POST", self.plausible), ("POST", self.umami),
                       *((method, path) for path in self.matomo for method in ("GET", "POST")),
                       ("POST", self.snowplow[0]), ("GET", self.snowplow[1])}

    def send(self, method: str, path: str, *, body: bytes | None = None,
             query: str = "", headers: dict | None = None):
        sink = self.world.sink
        sink.clear()
        before = refused_counts()
        result = simulate(self.world.client, method, path, body=body, query_string=query,
                          headers=headers)
        self.sent.add()
        what = f"{method} {path}?{query[:200]} {(body or b'')[:300]!r}"
        check(result, what)
        if (method, urlsplit(path).path) in self.intake:
            self._counted(result, before, what, urlsplit(path).path)
            if urlsplit(path).path in self.matomo and result.status_code < 400:
                self._matomo(result, what, query, (body or b"") if method == "POST" else b"")
            if urlsplit(path).path in self.snowplow and result.status_code < 400:
                self._snowplow(result, what, body if method == "POST" else None)
        return result

    def _counted(self, result, before: dict, what: str, path: str) -> None:
        after = refused_counts()
        moved = {k: after[k] - before.get(k, 0.0) for k in after
                 if after[k] != before.get(k, 0.0)}
        kept = self.world.sink.invalid
        for record in kept:
            assert record["payload"] is None or len(record["payload"]) <= self.limit
            assert record["truncated"] in (True, False)
        if 400 <= result.status_code < 500:
            refused = result.json["title"]
            assert result.json["description"], what
            assert moved == {refused: 1.0}, (what, moved)
            assert [r["reason"] for r in kept] == [refused], what
            assert self.world.sink.accepted == [], what
            return
        if path in (self.plausible, self.umami, *self.matomo, *self.snowplow):  # as they do
            accepted = len(self.world.sink.accepted)
            reasons = Counter(r["reason"] for r in kept)
            assert moved == {k: float(v) for k, v in reasons.items()}, (what, moved)
            assert accepted + len(kept) >= 1, what
            if path in (*self.matomo, *self.snowplow):
                return  # the answer: _matomo, _snowplow
            if path == self.plausible:
                assert (result.status_code, result.text) == (202, "ok"), what
                dropped = result.headers.get("x-plausible-dropped") == "1"
                assert dropped == (accepted == 0), what
            else:
                assert result.status_code == 200 and result.text.isascii(), what
                assert result.json["accepted"] == accepted, what
                assert sorted(r["reason"] for r in result.json["refused"]) == sorted(
                    reasons.elements()), what
            return
        if result.status_code == 202:
            reasons = Counter(r["reason"] for r in result.json["refused"])
            assert moved == {k: float(v) for k, v in reasons.items()}, (what, moved)
            assert sorted(r["reason"] for r in kept) == sorted(reasons.elements())
            assert len(self.world.sink.accepted) == result.json["accepted"], what
        else:  # the pixel: one event, accepted or refused by the enrichment
            assert len(self.world.sink.accepted) + len(kept) == 1, what
            assert moved == ({kept[0]["reason"]: 1.0} if kept else {}), (what, moved)

    def _matomo(self, result, what: str, query: str, body: bytes) -> None:
        """Matomo's answers: a bulk's counts (every request tracked or invalid, the
        invalid ones each kept with its reason), else one request's GIF, or 204 with
        ``send_image=0`` (of the form body and the URL's parameters, the URL's win)."""
        accepted, kept = len(self.world.sink.accepted), len(self.world.sink.invalid)
        if result.headers.get("content-type", "").startswith("application/json"):
            requests = orjson.loads(body)["requests"]
            answer = result.json
            indices = answer["invalid_indices"]
            assert (result.status_code, answer["status"]) == (200, "success"), what
            assert (answer["tracked"], answer["invalid"]) == (accepted, kept), what
            assert answer["tracked"] + answer["invalid"] == len(requests), what
            assert indices == sorted(set(indices)) and len(indices) == kept, what
            assert set(indices) <= set(range(len(requests))), what
            return
        assert accepted + kept == 1, what
        form = body.decode("utf-8", errors="replace").strip()
        params = dict(parse_qsl("&".join(t for t in (form, query) if t),
                                keep_blank_values=True))
        if params.get("send_image") == "0":
            assert (result.status_code, result.content) == (204, b""), what
        else:
            assert (result.status_code, result.headers["content-type"],
                    result.content) == (200, "image/gif", PIXEL), what

    def _snowplow(self, result, what: str, body: bytes | None) -> None:
        """Snowplow's answers: a batch (tp2) is 200 "ok" with every event of it published
        or kept (each refused one with its reason) once; one event by GET the GIF, the
        event published or kept."""
        accepted, kept = len(self.world.sink.accepted), len(self.world.sink.invalid)
        if body is None:
            assert (result.status_code, result.headers["content-type"],
                    result.content) == (200, "image/gif", PIXEL), what
            assert accepted + kept == 1, what
            return
        assert (result.status_code, result.text) == (200, "ok"), what
        assert accepted + kept == len(orjson.loads(body)["data"]), what
