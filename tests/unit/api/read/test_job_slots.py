"""One caller's share of the ad-hoc job slots (issue 16): an API token or a person may have
``adhoc_max_jobs_per_principal`` jobs queued or running at once; one more is 429
``too_many_jobs`` with Retry-After, while other callers still get the free slots. On the
in-memory job tables (tests/unit/api/read/fakes.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.config import Config
from analytics.sites import Site
from analytics.storage.adhoc_jobs import QUEUED, SUCCEEDED, JobRow
from api.read.jobs import AdhocJobs, TooManyJobs
from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import ALL_TOKEN, BLOG_TOKEN, VIEWER, make_world
from tests.unit.api.read.fakes import MemoryAdhocJobs, MemoryJobStore

SITE = Site(site_id="shop.example", domain="shop.example", timezone="UTC")
NOW = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)
A, B = "token:aaaa", "user:bea@example.com"


def question(dimension: str, site_id: str = SITE.site_id) -> dict:
    return {"site_id": site_id, "kind": "breakdown", "start": "2026-01-01",
            "end": "2026-01-31", "dimension": dimension}


def adhoc(tmp_path, **settings) -> AdhocJobs:
    launched = []
    jobs = AdhocJobs(Config(state_dir=tmp_path, adhoc_max_running=3, **settings),
                     session=None, launcher=lambda config, job_id, log: launched.append(job_id))
    jobs.store = MemoryJobStore()
    jobs.launched = launched
    return jobs


@pytest.fixture
def jobs(tmp_path) -> AdhocJobs:
    return adhoc(tmp_path)


def test_one_caller_gets_one_slot_by_default_and_others_the_rest(jobs):
    first = jobs.submit(SITE, question("page"), NOW, owner=A)
    assert jobs.store.jobs[first["job_id"]].owner == A
    with pytest.raises(TooManyJobs) as refused:
        jobs.submit(SITE, question("source"), NOW, owner=A)
    assert (refused.value.code, refused.value.retry_after_s) == ("too_many_jobs", 30)
    assert str(refused.value) == ("1 ad-hoc job of yours is queued or running (at most 1 at "
                                  "once); try again when one has finished")
    assert list(jobs.store.jobs) == [first["job_id"]] and jobs.launched == [first["job_id"]]
    assert jobs.store.slots == {0: first["job_id"]}
    other = jobs.submit(SITE, question("source"), NOW, owner=B)
    assert (other["status"], other["cached"]) == (QUEUED, False)
    assert jobs.store.slots == {0: first["job_id"], 1: other["job_id"]}


def test_asking_the_same_question_again_joins_the_callers_own_job(jobs):
    first = jobs.submit(SITE, question("page"), NOW, owner=A)
    again = jobs.submit(SITE, question("page"), NOW + timedelta(seconds=5), owner=A)
    assert (again["job_id"], again["cached"]) == (first["job_id"], True)
    by_other = jobs.submit(SITE, question("page"), NOW + timedelta(seconds=6), owner=B)
    assert (by_other["job_id"], by_other["cached"]) == (first["job_id"], True)


def test_a_finished_or_timed_out_job_no_longer_counts(jobs):
    first = jobs.submit(SITE, question("page"), NOW, owner=A)
    jobs.store.set_status(first["job_id"], SUCCEEDED, started_at=NOW,
                          finished_at=NOW + timedelta(seconds=30))
    second = jobs.submit(SITE, question("source"), NOW + timedelta(minutes=1), owner=A)
    assert second["cached"] is False
    # Never started: after START_TIMEOUT_S (300 s) it is failed and frees the caller.
    third = jobs.submit(SITE, question("country"), NOW + timedelta(minutes=1, seconds=301),
                        owner=A)
    assert third["cached"] is False
    assert jobs.store.jobs[second["job_id"]].error == "did not start within 300 s"


def test_the_limit_is_a_setting(tmp_path):
    jobs = adhoc(tmp_path, adhoc_max_jobs_per_principal=2)
    jobs.submit(SITE, question("page"), NOW, owner=A)
    jobs.submit(SITE, question("source"), NOW, owner=A)
    with pytest.raises(TooManyJobs) as refused:
        jobs.submit(SITE, question("country"), NOW, owner=A)
    assert str(refused.value) == ("2 ad-hoc jobs of yours are queued or running (at most 2 "
                                  "at once); try again when one has finished")
    assert len(jobs.launched) == 2


def test_without_an_owner_there_is_no_per_caller_limit(jobs):
    for dimension in ("page", "source", "country"):
        jobs.submit(SITE, question(dimension), NOW)
    assert len(jobs.launched) == 3


def test_a_submit_racing_another_of_the_same_caller_gives_its_slot_back(jobs):
    """Both passed the first count; each then sees the other's slot and backs off."""
    claim = jobs.store.claim_slot
    racer = JobRow(job_id="racer", site_id=SITE.site_id, kind="breakdown", spec={},
                   spec_key="other", status=QUEUED, submitted_at=NOW, owner=A)

    def claim_while_the_other_claims(job_id, slots, ttl_s, now):
        jobs.store.insert(racer)
        jobs.store.slots[2] = racer.job_id
        return claim(job_id, slots, ttl_s, now)

    jobs.store.claim_slot = claim_while_the_other_claims
    with pytest.raises(TooManyJobs):
        jobs.submit(SITE, question("page"), NOW, owner=A)
    assert jobs.store.slots == {2: "racer"} and jobs.store.active == {}
    assert list(jobs.store.jobs) == ["racer"] and jobs.launched == []


def test_the_api_answers_429_too_many_jobs_with_retry_after(tmp_path):
    config = Config(state_dir=tmp_path, adhoc_max_running=3)
    world = make_world(config, jobs=MemoryAdhocJobs(config))

    def post(body, **kw):
        return world.client.simulate_post("/api/v1/jobs", json=body, **kw)

    token = {"headers": {"Authorization": f"Bearer {BLOG_TOKEN}"}}
    first = post(question("page", "blog.example"), **token)
    assert first.status_code == 202
    assert first.json["submitted_at"] == "2026-12-01T12:00:00.000Z"  # the app's clock
    refused = post(question("source", "blog.example"), **token)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert error_body(refused) == {"title": "too_many_jobs", "description": (
        "1 ad-hoc job of yours is queued or running (at most 1 at once); try again when "
        "one has finished")}
    # Another token and a person have their own share.
    assert post(question("source", "blog.example"),
                headers={"Authorization": f"Bearer {ALL_TOKEN}"}).status_code == 202
    viewer = world.signed_in(VIEWER)
    assert viewer.post("/api/v1/jobs", question("country", "blog.example")).status_code == 202
    assert [j.owner for j in world.jobs.store.jobs.values()] == [
        "token:blogtoken", "token:alltoken", f"user:{VIEWER}"]


def test_the_api_asks_the_apps_clock_what_today_is_and_how_long_a_job_waited(tmp_path):
    """Not the wall clock: the same requests give the same answers on any day."""
    config = Config(state_dir=tmp_path, adhoc_max_running=3)
    world = make_world(config, jobs=MemoryAdhocJobs(config))
    token = {"Authorization": f"Bearer {BLOG_TOKEN}"}
    world.clock.at = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    early = world.client.simulate_post("/api/v1/jobs", json=question("page", "blog.example"),
                                       headers=token)
    assert (early.status_code, early.json["description"]) == (
        400, "end: 2026-01-31 is after today (2026-01-15 in UTC)")
    world.clock.at = datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
    job = world.client.simulate_post("/api/v1/jobs", json=question("page", "blog.example"),
                                     headers=token).json
    assert (job["status"], job["submitted_at"]) == (QUEUED, "2026-02-01T00:00:00.000Z")
    world.clock.advance(seconds=300)
    assert world.client.simulate_get(f"/api/v1/jobs/{job['job_id']}",
                                     headers=token).json["status"] == QUEUED
    world.clock.advance(seconds=1)
    stuck = world.client.simulate_get(f"/api/v1/jobs/{job['job_id']}", headers=token).json
    assert (stuck["status"], stuck["error"], stuck["finished_at"]) == (
        "failed", "did not start within 300 s", "2026-02-01T00:05:01.000Z")
