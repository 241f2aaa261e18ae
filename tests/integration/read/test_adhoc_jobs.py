"""Ad-hoc jobs end to end: events posted through the write service, carried by Kafka and
the speed layer into ``raw_event_chunks``, then questions submitted through
``api.read.jobs.AdhocJobs``, computed by ``batch/adhoc.py`` under spark-submit (local
mode, the config's Spark settings) and polled from Cassandra.

The events are the story of tests/unit/analytics/test_adhoc.py (without its day-after
visitor, which would lie in the future here), so the expected numbers are worked out
there in full. Site: Asia/Kathmandu (UTC+05:45), goals "signup" and "/pricing"; M = the
latest local midnight at least 50 minutes ago, D = the local day it starts; minutes
from M:
  v1  M-5 pageview / (referrer google.com; day D-1), M+2 signup {plan: pro},
      M+3 pageview /pricing                                -> S1 (starts on D-1), 480 s
  v2  M+10 pageview / (utm newsletter/email), M+11 signup {plan: free} (sent twice: one
      event), M+12 pageview /pricing, M+13 purchase {plan: free}  -> S2, 180 s
  v3  M+20 pageview /pricing, M+21 pageview /, M+22 signup {plan: pro}  -> S3, 120 s
  v4  M+30 share {plan: pro}                               -> S4, a bounce
  v5  M+1 pageview / (S5a, a bounce); M+40 signup {plan: free}, M+41 pageview /pricing
      (S5b, 60 s)
  Googlebot  M+15 pageview /, M+16 signup {plan: pro}      -> bots: in no number

Breakdown of D by prop:plan, without sessions whose source is google.com (S1, whose source
comes from its first event on D-1):
  free: v2 (signup, purchase in S2), v5 (signup in S5b): 2 visitors, 3 events, 2 sessions,
        no bounce, (180 + 60) / 2 = 120 s
  pro:  v3 (signup in S3), v4 (share in S4): 2 visitors, 2 events, 2 sessions, bounce
        rate 1/2, (120 + 0) / 2 = 60 s; a tie of visitors: ordered by value.
  Records read: 3 + 5 + 3 + 1 + 3 + 2 = 17; counted events of D: 2 + 4 + 3 + 1 + 3 = 13.
Funnel / -> signup -> /pricing over the sessions that start on D (S2, S3, S4, S5a, S5b):
  step 1: S2, S3, S5a (3 sessions, 3 visitors); step 2: S2, S3 (S3's /pricing came
  before its /); step 3: S2. Conversions 1, 2/3, 1/2 from the previous step and 1, 2/3,
  1/3 from step 1.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.sites import Site, SiteRepository
from analytics.storage.adhoc_jobs import FINAL, SUCCEEDED
from api.read.jobs import AdhocJobs, JobError, JobsBusy
from tests.integration.services import CHROME_UA, SpeedLayerJob, WriteService, post_json
from tests.integration.streaming.conftest import (
    FIREFOX_UA,
    GOOGLEBOT_UA,
    SAFARI_IPHONE_UA,
    pipeline_config,
    wait_caught_up,
)

pytestmark = pytest.mark.integration

ZONE = "Asia/Kathmandu"
URL = "https://adhoc.example"
V1, V2, V3 = ("203.0.113.21", CHROME_UA), ("203.0.113.22", FIREFOX_UA), \
    ("203.0.113.23", SAFARI_IPHONE_UA)
V4, V5, BOT = ("203.0.113.24", CHROME_UA), ("203.0.113.25", FIREFOX_UA), \
    ("66.249.66.1", GOOGLEBOT_UA)
ALL_METRICS = ["visitors", "pageviews", "events", "sessions", "bounce_rate", "visit_duration"]


def last_midnight(now: datetime, zone: str, before: timedelta) -> datetime:
    """The latest local midnight in ``zone`` at least ``before`` earlier than ``now``."""
    local = (now - before).astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def post_story(base: str, site_id: str, m: datetime) -> None:
    now_ms = int(time.time() * 1000)

    def ev(minute: float, kind: str, path: str = "/", **fields) -> dict:
        created = int((m + timedelta(minutes=minute)).timestamp() * 1000)
        return {"site_id": site_id, "kind": kind, "url": URL + path,
                "created_at": created, "sent_at": now_ms, **fields}

    def signup(minute: float, plan: str, name: str = "signup") -> dict:
        return ev(minute, "custom", name=name, props={"plan": plan})

    def post(visitor: tuple[str, str], events: list[dict]) -> None:
        ip, ua = visitor
        status, _, body = post_json(base + "/api/event", events,
                                    {"X-Forwarded-For": ip, "User-Agent": ua})
        assert status == 202 and body["refused"] == [], body

    post(V1, [ev(-5, "pageview", referrer="https://www.google.com/"), signup(2, "pro"),
              ev(3, "pageview", "/pricing")])
    twice = {**signup(11, "free"), "event_id": str(uuid.uuid4())}
    post(V2, [ev(10, "pageview", "/?utm_source=newsletter&utm_medium=email"), twice,
              dict(twice), ev(12, "pageview", "/pricing"), signup(13, "free", "purchase")])
    post(V3, [ev(20, "pageview", "/pricing"), ev(21, "pageview"), signup(22, "pro")])
    post(V4, [signup(30, "pro", "share")])
    post(V5, [ev(1, "pageview"), signup(40, "free"), ev(41, "pageview", "/pricing")])
    post(BOT, [ev(15, "pageview"), signup(16, "pro")])


@pytest.fixture(scope="module")
def story(stack, cql, tmp_path_factory):
    """The events posted and carried into raw_event_chunks; the services stopped again
    (the jobs read Cassandra only)."""
    config = pipeline_config(stack, tmp_path_factory.mktemp("adhoc"), 18250)
    site = Site(site_id=f"adhoc-{uuid.uuid4().hex[:6]}.test", domain="adhoc.example",
                timezone=ZONE, goals=frozenset({"signup", "/pricing"}))
    SiteRepository(cql).save(site)
    m = last_midnight(datetime.now(UTC), ZONE, timedelta(minutes=50))
    write = WriteService(config).start()
    speed = SpeedLayerJob(config).start()
    try:
        post_story(write.base, site.site_id, m)
        wait_caught_up(config, cql)
    finally:
        speed.stop()
        write.stop()
    # Slots of their own: jobs of other tests on this keyspace never make these wait.
    return config.replace(adhoc_max_running=8), site, m.astimezone(ZoneInfo(ZONE)).date()


def specs(site: Site, day) -> dict[str, dict]:
    common = {"site_id": site.site_id, "start": day.isoformat(), "end": day.isoformat()}
    return {
        "breakdown": {**common, "kind": "breakdown", "dimension": "prop:plan",
                      "metrics": ALL_METRICS, "limit": 10,
                      "filters": [{"dimension": "source", "op": "is_not",
                                   "value": "google.com"}]},
        "funnel": {**common, "kind": "funnel", "steps": [
            {"type": "page", "value": "/"}, {"type": "event", "value": "signup"},
            {"type": "page", "value": "/pricing"}]},
    }


def wait_done(jobs: AdhocJobs, job_ids: list[str], timeout: float = 240) -> dict[str, dict]:
    """Poll until every job is final; each one's status and seconds from submit."""
    began, done = time.monotonic(), {}
    while len(done) < len(job_ids) and time.monotonic() - began < timeout:
        for job_id in set(job_ids) - set(done):
            status = jobs.status(job_id)
            if status["status"] in FINAL:
                done[job_id] = {**status, "seconds": round(time.monotonic() - began, 1)}
        time.sleep(1)
    assert len(done) == len(job_ids), f"jobs still not done: {set(job_ids) - set(done)}"
    return done


@pytest.fixture(scope="module")
def answered(story, cql):
    config, site, day = story
    jobs = AdhocJobs(config, cql)
    submitted = {name: jobs.submit(site, spec, datetime.now(UTC))
                 for name, spec in specs(site, day).items()}
    done = wait_done(jobs, [s["job_id"] for s in submitted.values()])
    for status in done.values():
        log = config.state_dir / "logs" / "adhoc" / f"{status['job_id']}.log"
        assert status["status"] == SUCCEEDED, \
            f"{status}\n{log.read_text(errors='replace')[-4000:]}"
    print({name: done[s["job_id"]]["seconds"] for name, s in submitted.items()})
    return jobs, submitted, {name: jobs.result(s["job_id"]) for name, s in submitted.items()}


def test_a_breakdown_by_a_custom_property(answered, story):
    _, submitted, results = answered
    _, site, day = story
    assert submitted["breakdown"]["cached"] is False
    result = results["breakdown"]
    assert result["columns"] == ["prop:plan", *ALL_METRICS]
    assert result["rows"] == [["free", 2, 0, 3, 2, 0.0, 120.0], ["pro", 2, 0, 2, 2, 0.5, 60.0]]
    meta = result["meta"]
    assert {k: meta[k] for k in ("site_id", "kind", "start", "end", "timezone", "events_read",
                                 "events_in_range", "rows_total")} == {
        "site_id": site.site_id, "kind": "breakdown", "start": day.isoformat(),
        "end": day.isoformat(), "timezone": ZONE, "events_read": 17, "events_in_range": 13,
        "rows_total": 2}


def test_a_three_step_funnel(answered):
    _, _, results = answered
    result = results["funnel"]
    assert result["columns"] == ["step", "type", "value", "visitors", "sessions",
                                 "conversion_from_previous", "conversion_from_first"]
    assert result["rows"] == [[1, "page", "/", 3, 3, 1.0, 1.0],
                              [2, "event", "signup", 2, 2, 0.6667, 0.6667],
                              [3, "page", "/pricing", 1, 1, 0.5, 0.3333]]
    assert (result["meta"]["sessions"], result["meta"]["events_read"]) == (5, 17)


def test_status_of_a_finished_job(answered):
    jobs, submitted, _ = answered
    status = jobs.status(submitted["funnel"]["job_id"])
    assert (status["status"], status["error"], status["events_read"]) == (SUCCEEDED, None, 17)
    assert status["submitted_at"] <= status["started_at"] <= status["finished_at"]
    assert status["links"]["result"].endswith(f"/{status['job_id']}/result")


def test_the_same_question_again_is_answered_from_the_cache(answered, story):
    jobs, submitted, _ = answered
    config, site, day = story
    spec = specs(site, day)["breakdown"]
    # Equivalent, not identical: the filter value as a list, the limit spelled out.
    spec = {**spec, "filters": [{**spec["filters"][0], "value": ["google.com"]}]}
    again = jobs.submit(site, spec, datetime.now(UTC))
    assert (again["job_id"], again["status"], again["cached"]) == (
        submitted["breakdown"]["job_id"], SUCCEEDED, True)


def test_a_result_over_closed_days_lasts_until_one_is_recomputed(answered, story, cql):
    """With no time-based caching and no slot to start anything: a reuse answers, a
    miss is refused as busy (nothing is started)."""
    _, submitted, _ = answered
    config, site, day = story
    strict = AdhocJobs(config.replace(adhoc_cache_minutes=0, adhoc_max_running=0), cql)
    spec = specs(site, day)["funnel"]
    with pytest.raises(JobsBusy):  # D is still open
        strict.submit(site, spec, datetime.now(UTC))
    started = datetime.fromisoformat(strict.status(submitted["funnel"]["job_id"])["started_at"])
    close = "UPDATE batch_days SET computed_at = %s WHERE site_id = %s AND day = %s"
    cql.execute(close, (started - timedelta(minutes=1), site.site_id, day))
    reused = strict.submit(site, spec, datetime.now(UTC))
    assert (reused["job_id"], reused["cached"]) == (submitted["funnel"]["job_id"], True)
    cql.execute(close, (datetime.now(UTC), site.site_id, day))  # recomputed since
    with pytest.raises(JobsBusy):
        strict.submit(site, spec, datetime.now(UTC))


def test_an_invalid_question_is_refused_with_the_reason(answered, story):
    jobs, _, _ = answered
    _, site, day = story
    funnel = specs(site, day)["funnel"]
    with pytest.raises(JobError, match=r"steps: \[.*\] is too short"):
        jobs.submit(site, {**funnel, "steps": funnel["steps"][:1]}, datetime.now(UTC))
    tomorrow = (day + timedelta(days=2)).isoformat()
    with pytest.raises(JobError, match=f"end: {tomorrow} is after today"):
        jobs.submit(site, {**funnel, "end": tomorrow}, datetime.now(UTC))
