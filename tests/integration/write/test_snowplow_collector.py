"""The published ``snowplow-tracker`` client (PyPI), unmodified, against the write service
under gunicorn with the real Kafka behind it: two pageviews, a structured event and two
self-describing events (one a link click to another host) POSTed as one ``tp2`` batch,
and a pageview by GET to ``/i``, arrive enriched on the raw-events topic with the site
their app id names, each under the event id the client gave it; an event of an unknown
app id is refused (404, the client told so) and kept on the invalid-events topic.

The client is pinned in ``compat_clients/requirements.txt`` and installed from PyPI when
it is missing (``conftest.compat_python_clients``).
"""

from __future__ import annotations

import time
import uuid

import pytest

from analytics.sites import Site, SiteRepository
from tests.integration.write.conftest import WriteService, compat_python_clients, read_topic

pytestmark = pytest.mark.integration

APP_ID = "snowplow-it"
SITE_ID = "snowplow.test"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"


@pytest.fixture
def snowplow_service(write_config, test_sites, cql):
    """The write service (no rate limit, client addresses as they connect); the site
    ``snowplow.test`` (a domain of its own) takes Snowplow's events for its app id."""
    compat_python_clients()
    config = write_config.replace(write_api_port=18420, rate_limit_per_s=0.0,
                                  trust_forwarded_for=False)
    SiteRepository(cql).save(Site(site_id=SITE_ID, domain=SITE_ID, snowplow_app_id=APP_ID))
    service = WriteService(config).start()
    yield service
    service.stop()


def emitter(port: int, method: str, answers: list):
    """The client's own emitter, recording what it was answered (404 is not retried, so
    that a refused event does not keep the test waiting)."""
    from snowplow_tracker import Emitter

    return Emitter(f"127.0.0.1:{port}", protocol="http", method=method, batch_size=10,
                   on_success=lambda sent: answers.append(("ok", len(sent))),
                   on_failure=lambda good, bad: answers.append(("failed", len(bad))),
                   custom_retry_codes={404: False})


def test_snowplow_tracker_posts_a_batch_and_gets_the_pixel(snowplow_service):
    from snowplow_tracker import SelfDescribingJson, Subject, Tracker
    from snowplow_tracker.events import PageView, SelfDescribing, StructuredEvent

    config = snowplow_service.config
    port, run = config.write_api_port, uuid.uuid4().hex
    page = f"https://snowplow.test/sp/{run}"
    answers: list = []
    visitor = (Subject().set_useragent(FIREFOX).set_lang("de-DE")
               .set_screen_resolution(1280, 720).set_timezone("Europe/Berlin"))
    posting = Tracker("sp", emitters=emitter(port, "post", answers), subject=visitor,
                      app_id=APP_ID)
    ids = [
        posting.track(PageView(page_url=f"{page}?utm_source=server", page_title="From Snowplow",
                               referrer="https://referrer.example/")),
        posting.track(PageView(page_url=f"{page}/next", page_title="Next")),
        posting.track(StructuredEvent("video", "play", label=run, value=3)),
        posting.track(SelfDescribing(
            SelfDescribingJson("iglu:com.acme/signup/jsonschema/1-0-0",
                               {"plan": "pro", "run": run}),
            true_timestamp=time.time() * 1000 - 60_000)),
        posting.track(SelfDescribing(SelfDescribingJson(
            LINK_CLICK, {"targetUrl": f"https://partner.example/{run}"})))]
    posting.flush()
    getting = Tracker("sp", emitters=emitter(port, "get", answers), app_id=APP_ID)
    ids.append(getting.track(PageView(page_url=f"{page}/pixel")))  # no ua: the request's
    getting.flush()
    unknown = Tracker("sp", emitters=emitter(port, "get", answers), app_id=f"x-{run}")
    unknown.track(PageView(page_url=f"{page}/unknown"))
    unknown.flush()
    assert answers == [("ok", 5), ("ok", 1), ("failed", 1)]

    records = read_topic(config, config.topic_raw_events,
                         lambda r: r.get("site_id") == SITE_ID and run in str(r),
                         expected=6)
    assert sorted(r["event_id"] for r in records) == sorted(ids)  # the client's eids
    home = "https://snowplow.test/"
    records.sort(key=lambda r: ids.index(r["event_id"]))
    assert [(r["kind"], r["name"], r["url"], r["title"], r["referrer_host"], r["props"])
            for r in records] == [
        ("pageview", None, f"{page}?utm_source=server", "From Snowplow", "referrer.example",
         None),
        ("pageview", None, f"{page}/next", "Next", None, None),
        ("custom", "play", home, None, None,
         {"se_category": "video", "se_label": run, "se_value": "3"}),
        ("custom", "signup", home, None, None, {"plan": "pro", "run": run}),
        ("custom", "Outbound Link: Click", home, None, None,
         {"url": f"https://partner.example/{run}"}),
        ("pageview", None, f"{page}/pixel", None, None, None)]
    first = records[0]
    assert (first["host"], first["path"], first["utm_source"], first["screen_width"],
            first["language"], first["time_zone"]) == (
        "snowplow.test", f"/sp/{run}", "server", 1280, "de-DE", "Europe/Berlin")
    stated = records[3]  # ttm: a minute before it was sent
    assert 55_000 <= stated["received_at"] - stated["event_time"] <= 65_000
    # the visitor's user agent comes as ua (the Subject's); the GET has none, and the
    # client's own User-Agent (python-requests) is flagged as a bot's
    assert [r["is_bot"] for r in records] == [False] * 5 + [True]
    assert {r["browser"] for r in records[:5]} == {"Firefox"}
    assert {r["source_channel"] for r in records} == {"tracker"}

    [refused] = read_topic(config, config.topic_invalid_events,
                           lambda r: f"x-{run}" in str(r.get("payload")), expected=1)
    assert (refused["reason"], refused["status"]) == ("unknown_site", 404)
