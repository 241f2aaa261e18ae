"""The write service over HTTP under gunicorn, with the real Kafka broker behind it."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from analytics.event_schema import enriched_validator
from tests.integration.write.conftest import http, post_json, read_topic

pytestmark = pytest.mark.integration

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _ip() -> str:
    """A fresh public client address per test (the service trusts X-Forwarded-For here),
    so the per-client rate limit of one test does not affect another."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _pageview(run: str, **extra) -> dict:
    return {"event_id": str(uuid.uuid4()), "site_id": "shop.test", "kind": "pageview",
            "url": f"https://shop.example/p/{run}?utm_source=newsletter&utm_medium=email",
            **extra}


def _raw(write_api, run: str, expected: int) -> list[dict]:
    return read_topic(write_api.config, write_api.config.topic_raw_events,
                      lambda r: run in r.get("url", ""), expected)


def _invalid(write_api, run: str, expected: int) -> list[dict]:
    def mine(record: dict) -> bool:
        return run in (record.get("payload") or "") or run in record.get("detail", "")

    return read_topic(write_api.config, write_api.config.topic_invalid_events, mine, expected)


def test_pageview_is_enriched_and_in_kafka(write_api):
    run = uuid.uuid4().hex
    ip = "193.0.6.139"  # RIPE NCC, registered in NL
    event = _pageview(run, referrer="https://www.google.com/search?q=shoes", title="Shoes",
                      screen_width=1920, screen_height=1080, language="de-DE",
                      time_zone="Europe/Berlin", created_at=1_700_000_000_000,
                      sent_at=1_700_000_002_500)
    status, headers, body = post_json(write_api.base + "/api/event", event,
                                      {"X-Forwarded-For": ip})
    assert (status, body) == (202, {"accepted": 1, "refused": [], "spooled": 0})
    [record] = _raw(write_api, run, 1)
    enriched_validator().validate(record)
    assert ip not in json.dumps(record)  # the raw IP is never written
    assert record["received_at"] - record["event_time"] == 2500  # clock-skew correction
    assert {k: record[k] for k in (
        "event_id", "site_id", "kind", "host", "path", "referrer_host", "utm_source",
        "utm_medium", "title", "screen_width", "browser", "os", "device_type", "country",
        "is_bot", "id_source", "source_channel")} == {
        "event_id": event["event_id"], "site_id": "shop.test", "kind": "pageview",
        "host": "shop.example", "path": f"/p/{run}", "referrer_host": "google.com",
        "utm_source": "newsletter", "utm_medium": "email", "title": "Shoes",
        "screen_width": 1920, "browser": "Chrome", "os": "Windows", "device_type": "desktop",
        "country": "NL", "is_bot": False, "id_source": "cookieless", "source_channel": "tracker",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", record["visitor_id"])


def test_a_client_cannot_choose_its_address_through_x_forwarded_for(write_api):
    run = uuid.uuid4().hex
    # The client claims 203.0.113.9; the proxy (the test here) appended the real address.
    status, _, _ = post_json(write_api.base + "/api/event", _pageview(run),
                             {"X-Forwarded-For": "203.0.113.9, 193.0.6.139"})
    assert status == 202
    [record] = _raw(write_api, run, 1)
    assert record["country"] == "NL"  # 193.0.6.139 (RIPE NCC), not the claimed address


def test_batch_of_twenty_arrives_exactly(write_api):
    run = uuid.uuid4().hex
    events = [_pageview(run) for _ in range(19)]
    events.append({"event_id": str(uuid.uuid4()), "site_id": "shop.test", "kind": "custom",
                   "name": "signup", "url": f"https://shop.example/{run}",
                   "props": {"plan": "pro", "seats": 3, "trial": True}})
    status, _, body = post_json(write_api.base + "/api/event", events,
                                {"X-Forwarded-For": _ip()})
    assert (status, body["accepted"]) == (202, 20)
    records = _raw(write_api, run, 20)
    assert sorted(r["event_id"] for r in records) == sorted(e["event_id"] for e in events)
    [custom] = [r for r in records if r["kind"] == "custom"]
    assert (custom["name"], custom["props"]) == (
        "signup", {"plan": "pro", "seats": "3", "trial": "true"})
    # one visitor: same client address and user agent on the same day
    assert len({r["visitor_id"] for r in records}) == 1


def test_bot_events_are_kept_and_flagged(write_api):
    run = uuid.uuid4().hex
    status, _, _ = post_json(write_api.base + "/api/event", _pageview(run),
                             {"X-Forwarded-For": _ip(), "User-Agent": GOOGLEBOT})
    assert status == 202
    [record] = _raw(write_api, run, 1)
    assert record["is_bot"] is True


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"{not json", 400, "malformed_json"),
    (b'"just a string"', 400, "not_an_event"),
    (b"[]", 400, "empty_batch"),
    (json.dumps({"site_id": "shop.test", "kind": "custom",
                 "url": "https://shop.example/RUN"}).encode(), 400, "schema_violation"),
    (json.dumps({"site_id": "shop.test", "kind": "pageview", "url": "https://shop.example/RUN",
                 "props": {f"k{i}": "v" for i in range(31)}}).encode(), 400, "schema_violation"),
    (json.dumps({"site_id": "nobody.test", "kind": "pageview",
                 "url": "https://x.example/RUN"}).encode(), 404, "unknown_site"),
    (json.dumps([{"site_id": "shop.test", "kind": "pageview",
                  "url": "https://shop.example/RUN"}] * 51).encode(), 413, "too_many_events"),
])
def test_bad_input_gets_a_clear_4xx_and_is_kept(write_api, body, status, reason):
    run = uuid.uuid4().hex
    traceable = b"RUN" in body
    body = body.replace(b"RUN", run.encode())
    got, _, answer = http("POST", write_api.base + "/api/event", body,
                          {"X-Forwarded-For": _ip(), "Content-Type": "text/plain"})
    answer = json.loads(answer)
    assert (got, answer["title"]) == (status, reason)
    assert answer["description"]
    if traceable:
        [kept] = _invalid(write_api, run, 1)
        assert (kept["reason"], kept["status"]) == (reason, status)


def test_origin_of_another_site_is_refused(write_api):
    run = uuid.uuid4().hex
    status, headers, body = post_json(write_api.base + "/api/event", _pageview(run),
                                      {"X-Forwarded-For": _ip(),
                                       "Origin": "https://evil.example"})
    assert (status, body["title"]) == (403, "origin_not_allowed")
    for origin in ("https://shop.example", "https://www.shop.example",
                   "https://partner.example"):
        status, headers, _ = post_json(write_api.base + "/api/event", _pageview(run),
                                       {"X-Forwarded-For": _ip(), "Origin": origin})
        assert status == 202
        assert headers["access-control-allow-origin"] == origin


def test_oversized_body_is_413_and_kept(write_api):
    run = uuid.uuid4().hex
    event = _pageview(run, title="x" * 500)
    body = json.dumps([event] * 40)  # ≈ 26 KB > the 16 KiB limit of the test service
    status, _, answer = http("POST", write_api.base + "/api/event", body,
                             {"X-Forwarded-For": _ip()})
    assert (status, json.loads(answer)["title"]) == (413, "body_too_large")
    [kept] = _invalid(write_api, run, 1)
    assert kept["truncated"] is True
    assert len(kept["payload"]) == write_api.config.invalid_payload_max_bytes


def test_rate_limit_per_client_is_429_with_retry_after(write_api):
    ip = _ip()
    run = uuid.uuid4().hex
    statuses = [post_json(write_api.base + "/api/event", _pageview(run),
                          {"X-Forwarded-For": ip})[0] for _ in range(12)]
    # burst 5 per worker, 2 workers: at most 10 pass before the buckets run dry
    assert statuses.count(202) <= 10 + 2
    assert 429 in statuses
    status, headers, body = post_json(write_api.base + "/api/event", _pageview(run),
                                      {"X-Forwarded-For": ip})
    if status == 429:
        assert body["title"] == "rate_limited" and int(headers["retry-after"]) >= 1
    accepted = statuses.count(202) + (status == 202)
    assert len(_raw(write_api, run, accepted)) == accepted
    # another client is not affected
    assert post_json(write_api.base + "/api/event", _pageview(run),
                     {"X-Forwarded-For": _ip()})[0] == 202


def test_referrer_spam_is_refused_counted_and_kept(write_api):
    run = uuid.uuid4().hex
    status, _, body = post_json(write_api.base + "/api/event",
                                _pageview(run, referrer="https://best.semalt.com/"),
                                {"X-Forwarded-For": _ip()})
    assert status == 202
    assert (body["accepted"], [r["reason"] for r in body["refused"]]) == (0, ["referrer_spam"])
    [kept] = _invalid(write_api, run, 1)
    assert kept["reason"] == "referrer_spam"
    metrics = http("GET", write_api.base + "/metrics")[2].decode()
    assert re.search(r'analytics_write_events_refused_total\{reason="referrer_spam"\} [1-9]',
                     metrics)


def test_measurement_protocol(write_api):
    run = uuid.uuid4().hex
    url = write_api.base + "/mp/collect?measurement_id=mp.test&api_secret="
    happened_us = time.time_ns() // 1000 - 60_000_000  # a minute ago
    body = {"client_id": "555.777", "timestamp_micros": happened_us, "events": [
        {"name": "page_view", "params": {"page_location": f"https://mp.example/{run}",
                                         "page_title": "Home"}},
        {"name": "purchase", "params": {"page_location": f"https://mp.example/{run}",
                                        "value": 42.5, "currency": "EUR"}},
    ]}
    headers = {"X-Forwarded-For": _ip(), "User-Agent": "python-requests/2.32"}
    status, answer_headers, refusal = post_json(url + "wrong", body, headers)
    assert (status, refusal) == (
        403, {"title": "wrong_secret", "description": "api_secret is missing or does not "
              "match the site's Measurement Protocol secret",
              "request_id": answer_headers["x-request-id"]})
    assert post_json(url.replace("&api_secret=", ""), body, headers)[0] == 403
    assert post_json(url.replace("mp.test", "nobody.test") + "x", body, headers)[0] == 404
    assert post_json(url + "s3cret-for-tests", {"events": []}, headers)[0] == 400
    status, _, answer = post_json(url + "s3cret-for-tests", body, headers)
    assert (status, answer["accepted"]) == (202, 2)
    records = sorted(_raw(write_api, run, 2), key=lambda r: r["kind"])
    assert [(r["kind"], r["name"], r["is_bot"], r["id_source"], r["source_channel"])
            for r in records] == [("custom", "purchase", False, "client", "mp"),
                                  ("pageview", None, False, "client", "mp")]
    assert records[0]["props"] == {"value": "42.5", "currency": "EUR"}
    assert records[0]["visitor_id"] == records[1]["visitor_id"]
    assert [r["event_time"] for r in records] == [happened_us // 1000] * 2  # backdated
    # older than 72 h: refused as too late, counted and kept
    body["timestamp_micros"] = happened_us - 73 * 3600 * 10**6
    status, _, answer = post_json(url + "s3cret-for-tests", body, headers)
    assert (status, answer["accepted"], [r["reason"] for r in answer["refused"]]) == (
        202, 0, ["too_late", "too_late"])


def test_pixel_for_clients_without_javascript(write_api):
    run = uuid.uuid4().hex
    status, headers, body = http(
        "GET", write_api.base + f"/api/pixel.gif?site_id=shop.test&url=https%3A%2F%2Fshop."
        f"example%2F{run}", headers={"X-Forwarded-For": _ip()})
    assert (status, headers["content-type"], body[:6]) == (200, "image/gif", b"GIF89a")
    [record] = _raw(write_api, run, 1)
    assert (record["kind"], record["source_channel"]) == ("pageview", "pixel")
    status, _, body = http("GET", write_api.base + "/api/pixel.gif?site_id=shop.test",
                           headers={"X-Forwarded-For": _ip()})
    assert (status, json.loads(body)["title"]) == (400, "schema_violation")


def test_tracker_script_cors_health_and_metrics(write_api):
    status, headers, script = http("GET", write_api.base + "/js/sl.js")
    assert status == 200 and headers["content-type"] == "application/javascript"
    assert len(script) > 100
    assert http("GET", write_api.base + "/js/sl.js",
                headers={"If-None-Match": headers["etag"]})[0] == 304
    status, headers, _ = http("OPTIONS", write_api.base + "/api/event",
                              headers={"Origin": "https://shop.example",
                                       "Access-Control-Request-Method": "POST"})
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in headers["access-control-allow-methods"]
    status, _, body = http("GET", write_api.base + "/healthz")
    assert (status, json.loads(body)["kafka"]) == (200, "up")
    metrics = http("GET", write_api.base + "/metrics")[2].decode()
    assert re.search(r'analytics_write_events_accepted_total\{source="tracker"\} [1-9]',
                     metrics)


def test_no_5xx_for_any_client_input(write_api):
    samples = [b"", b"\x00\xff\xfe", b"null", b"0", b"{}", b"[[]]", b"[{}]", b'{"site_id":1}',
               b'{"site_id":"shop.test","kind":"pageview","url":"https://shop.example/",'
               b'"props":{"a":{"nested":1}}}',
               b'{"site_id":"shop.test","kind":"engagement","url":"https://shop.example/"}',
               b'{"site_id":"shop.test","kind":"pageview","url":"https://shop.example/",'
               b'"event_id":"not-a-uuid"}',
               json.dumps({"site_id": "shop.test", "kind": "pageview",
                           "url": "https://shop.example/" + "a" * 3000}).encode(),
               "{\"site_id\":\"shop.test\",\"kind\":\"pageview\",\"url\":\"https://ü.example/\"}"
               .encode()]
    for body in samples:
        for content_type in ("text/plain", "application/json", "application/x-www-form-urlencoded"):
            status = http("POST", write_api.base + "/api/event", body,
                          {"Content-Type": content_type, "X-Forwarded-For": _ip()})[0]
            assert 200 <= status < 500, (body, status)
    for query in ("", "?site_id=", "?site_id=shop.test&url=javascript:alert(1)",
                  "?site_id=shop.test&url=https://shop.example/&kind=weird"):
        assert http("GET", write_api.base + "/api/pixel.gif" + query,
                    headers={"X-Forwarded-For": _ip()})[0] < 500
