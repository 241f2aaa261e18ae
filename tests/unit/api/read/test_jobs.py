"""Ad-hoc jobs (api.read.jobs) without Cassandra: the reasons an invalid question is
refused, the canonical spec and its cache key, when a result is reused, and the submit /
status rules on an in-memory stand-in for the job tables (the real tables and the Spark
job: tests/integration/read/test_adhoc_jobs.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.config import Config
from analytics.sites import Site
from analytics.storage.adhoc_jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, JobRow
from api.read.jobs import (
    AdhocJobs,
    JobError,
    JobNotReady,
    JobsBusy,
    parse_spec,
    reusable,
    schema,
    spec_key,
)
from tests.unit.api.read.fakes import MemoryJobStore

SITE = Site(site_id="shop.example", domain="shop.example", timezone="Asia/Kathmandu",
            goals=frozenset({"signup"}))
TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)  # 02:15 on the 27th in Kathmandu
BREAKDOWN = {"site_id": "shop.example", "kind": "breakdown", "start": "2026-01-01",
             "end": "2026-11-26", "dimension": "prop:plan"}
FUNNEL = {"site_id": "shop.example", "kind": "funnel", "start": "2026-11-01",
          "end": "2026-11-26", "steps": [{"type": "page", "value": "/"},
                                         {"type": "event", "value": "signup"}]}


@pytest.mark.parametrize(("payload", "reason"), [
    ({}, "job: 'site_id' is a required property"),
    ({**BREAKDOWN, "kind": "cohort"}, "kind: 'cohort' is not one of ['breakdown', 'funnel']"),
    ({k: v for k, v in BREAKDOWN.items() if k != "dimension"},
     "job: 'dimension' is a required property"),
    ({**BREAKDOWN, "dimension": "prop:"}, "dimension: 'prop:' does not match"),
    ({**BREAKDOWN, "metrics": ["visitors", "conversion_rate"]},
     "metrics/1: 'conversion_rate' is not one of"),
    ({**BREAKDOWN, "metrics": []}, "metrics: [] should be non-empty"),
    ({**BREAKDOWN, "filters": [{"dimension": "page", "op": "like", "value": "/"}]},
     "filters/0/op: 'like' is not one of ['is', 'is_not', 'contains']"),
    ({**BREAKDOWN, "limit": 10001}, "limit: 10001 is greater than the maximum of 10000"),
    ({**BREAKDOWN, "steps": FUNNEL["steps"]}, "steps: not part of a breakdown job"),
    ({**FUNNEL, "steps": FUNNEL["steps"][:1]}, "steps: [{'type': 'page', 'value': '/'}] is "
                                               "too short"),
    ({**FUNNEL, "steps": FUNNEL["steps"] * 2}, "is too long"),
    ({**FUNNEL, "steps": [{"type": "click", "value": "x"}, {"type": "page", "value": "/"}]},
     "steps/0/type: 'click' is not one of ['page', 'event']"),
    ({**FUNNEL, "dimension": "page"}, "dimension: not part of a funnel job"),
    ({**BREAKDOWN, "start": "2026-02-30"}, "start: '2026-02-30' is not a 'date'"),
    ({**BREAKDOWN, "start": "2026-11-26", "end": "2026-11-25"},
     "end: 2026-11-25 is before start 2026-11-26"),
    ({**BREAKDOWN, "start": "2023-11-01"}, "end: a job covers 1098 days at most"),
    ({**BREAKDOWN, "start": "2023-11-25", "end": "2026-11-27"},  # 1099 days
     "end: a job covers 1098 days at most"),
    ({**BREAKDOWN, "end": "2026-11-28"},
     "end: 2026-11-28 is after today (2026-11-27 in Asia/Kathmandu)"),
    ({**BREAKDOWN, "site_id": "blog.example"},
     "site_id: 'blog.example' is not the site 'shop.example' of this request"),
    ({**BREAKDOWN, "colour": "red"}, "Additional properties are not allowed ('colour'"),
    (["not", "an", "object"], "job: ['not', 'an', 'object'] is not of type 'object'"),
])
def test_an_invalid_job_says_why(payload, reason):
    with pytest.raises(JobError) as raised:
        parse_spec(payload, SITE, TODAY)
    assert reason in str(raised.value)


def test_a_range_of_three_years_and_today_is_accepted():
    spec = parse_spec({**BREAKDOWN, "start": "2023-11-26", "end": "2026-11-27"}, SITE, TODAY)
    assert (spec["start"], spec["end"]) == ("2023-11-26", "2026-11-27")  # 1098 days


def test_the_schema_states_the_same_bound():
    assert schema()["properties"]["end"]["description"] == (
        "Not after today; at most 1098 days (3 times 366) from start to end, both included.")


def test_the_canonical_spec_fills_defaults_and_sorts_filters():
    spec = parse_spec({**BREAKDOWN, "filters": [
        {"dimension": "source", "op": "is", "value": ["b", "a", "b"]},
        {"dimension": "country", "op": "is_not", "value": "DE"}]}, SITE, TODAY)
    assert spec == {
        "site_id": "shop.example", "kind": "breakdown", "start": "2026-01-01",
        "end": "2026-11-26", "dimension": "prop:plan",
        "metrics": ["visitors", "pageviews", "events"],
        "filters": [{"dimension": "country", "op": "is_not", "value": ["DE"]},
                    {"dimension": "source", "op": "is", "value": ["a", "b"]}],
        "limit": 100}
    assert parse_spec(FUNNEL, SITE, TODAY) == FUNNEL


def test_the_same_question_has_the_same_key():
    one = parse_spec({**BREAKDOWN, "filters": [
        {"dimension": "source", "op": "is", "value": ["b", "a"]},
        {"dimension": "page", "op": "contains", "value": "/x"}]}, SITE, TODAY)
    other = parse_spec({"limit": 100, **BREAKDOWN, "metrics": ["visitors", "pageviews", "events"],
                        "filters": [{"dimension": "page", "op": "contains", "value": ["/x"]},
                                    {"dimension": "source", "op": "is", "value": ["a", "b"]}]},
                       SITE, TODAY)
    assert spec_key(one, SITE) == spec_key(other, SITE)
    assert len(spec_key(one, SITE)) == 64
    different = [
        parse_spec({**BREAKDOWN, "metrics": ["pageviews", "visitors", "events"]}, SITE, TODAY),
        parse_spec({**BREAKDOWN, "limit": 10}, SITE, TODAY),
        parse_spec({**BREAKDOWN, "end": "2026-11-25"}, SITE, TODAY),
    ]
    keys = {spec_key(one, SITE), *(spec_key(s, SITE) for s in different)}
    # The site's zone and goals change the answer, so they change the key.
    keys |= {spec_key(one, replace(SITE, timezone="UTC")),
             spec_key(one, replace(SITE, goals=frozenset()))}
    assert len(keys) == 6


def job(status=SUCCEEDED, started=NOW - timedelta(hours=2), **fields) -> JobRow:
    return JobRow(job_id="j1", site_id=SITE.site_id, kind="breakdown", spec={}, spec_key="k",
                  status=status, started_at=started, submitted_at=started, **fields)


DAYS = [date(2026, 11, 24), date(2026, 11, 25)]
BEFORE, AFTER = NOW - timedelta(hours=3), NOW - timedelta(hours=1)


@pytest.mark.parametrize(("found", "closed", "minutes", "expected"), [
    # Every day closed before the job read the events: reused however old.
    (job(), {DAYS[0]: BEFORE, DAYS[1]: BEFORE}, 10, True),
    # A day recomputed after the job read the events (late events): not reused...
    (job(), {DAYS[0]: BEFORE, DAYS[1]: AFTER}, 10, False),
    # ... nor with a day still open, unless the result is young enough.
    (job(), {DAYS[0]: BEFORE}, 10, False),
    (job(), {DAYS[0]: BEFORE}, 121, True),
    (job(started=NOW - timedelta(minutes=9)), {}, 10, True),
    (job(started=NOW - timedelta(minutes=10)), {}, 10, False),
    (job(status=FAILED), {DAYS[0]: BEFORE, DAYS[1]: BEFORE}, 10, False),
])
def test_when_a_result_is_reused(found, closed, minutes, expected):
    assert reusable(found, DAYS, closed, NOW, minutes) is expected


@pytest.fixture
def jobs(tmp_path):
    launched = []
    adhoc = AdhocJobs(Config(state_dir=tmp_path, adhoc_max_running=2, adhoc_timeout_s=600),
                      session=None, launcher=lambda config, job_id, log: launched.append(
                          (job_id, log)))
    adhoc.store = MemoryJobStore()
    adhoc.launched = launched
    return adhoc


def test_submit_starts_a_job_and_an_identical_one_is_reused(jobs, tmp_path):
    first = jobs.submit(SITE, BREAKDOWN, NOW)
    assert (first["status"], first["cached"], first["kind"]) == (QUEUED, False, "breakdown")
    assert first["links"] == {"self": f"/api/v1/jobs/{first['job_id']}"}
    assert jobs.launched == [(first["job_id"],
                              tmp_path / "logs" / "adhoc" / f"{first['job_id']}.log")]
    again = jobs.submit(SITE, {**BREAKDOWN, "limit": 100}, NOW + timedelta(seconds=5))
    assert (again["job_id"], again["cached"]) == (first["job_id"], True)
    assert len(jobs.launched) == 1
    jobs.store.set_status(first["job_id"], SUCCEEDED, started_at=NOW,
                          finished_at=NOW + timedelta(seconds=30))
    jobs._closed_days = lambda *_: {}
    done = jobs.submit(SITE, BREAKDOWN, NOW + timedelta(minutes=9))
    assert (done["job_id"], done["status"], done["cached"]) == (first["job_id"], SUCCEEDED,
                                                                True)
    assert done["links"]["result"] == f"/api/v1/jobs/{first['job_id']}/result"
    # Older than adhoc_cache_minutes over an open day: a new job.
    fresh = jobs.submit(SITE, BREAKDOWN, NOW + timedelta(minutes=11))
    assert (fresh["cached"], len(jobs.launched)) == (False, 2)


def test_a_third_job_waits_for_a_free_slot(jobs):
    one = jobs.submit(SITE, BREAKDOWN, NOW)
    jobs.submit(SITE, FUNNEL, NOW)
    with pytest.raises(JobsBusy) as busy:
        jobs.submit(SITE, {**BREAKDOWN, "dimension": "page"}, NOW)
    assert busy.value.retry_after_s == 30
    assert len(jobs.store.jobs) == 2 and len(jobs.launched) == 2  # the refused one is gone
    # A job whose process died: its slot is freed once the job is seen failed.
    jobs.store.set_status(one["job_id"], FAILED)
    third = jobs.submit(SITE, {**BREAKDOWN, "dimension": "page"}, NOW)
    assert third["status"] == QUEUED and len(jobs.launched) == 3


def test_a_job_running_too_long_is_reported_failed_and_frees_its_slot(jobs):
    submitted = jobs.submit(SITE, BREAKDOWN, NOW)
    job_id = submitted["job_id"]
    jobs.store.set_status(job_id, RUNNING, started_at=NOW + timedelta(seconds=5))
    assert jobs.status(job_id, NOW + timedelta(seconds=600))["status"] == RUNNING
    late = jobs.status(job_id, NOW + timedelta(seconds=606))
    assert (late["status"], late["error"]) == (FAILED, "timed out after 600 s")
    assert jobs.store.slots == {} and jobs.store.active == {}
    with pytest.raises(JobNotReady) as not_ready:
        jobs.result(job_id)
    assert not_ready.value.job["status"] == FAILED


def test_a_job_that_never_starts_is_reported_failed(jobs):
    job_id = jobs.submit(SITE, FUNNEL, NOW)["job_id"]
    stuck = jobs.status(job_id, NOW + timedelta(seconds=301))
    assert (stuck["status"], stuck["error"]) == (FAILED, "did not start within 300 s")


def test_a_launch_that_fails_leaves_a_failed_job(jobs):
    def broken(config, job_id, log):
        raise OSError("no spark-submit")

    jobs.launcher = broken
    with pytest.raises(OSError):
        jobs.submit(SITE, BREAKDOWN, NOW)
    [failed] = jobs.store.jobs.values()
    assert (failed.status, failed.error) == (FAILED, "could not start: no spark-submit")
    assert jobs.store.slots == {} and jobs.store.active == {}


def test_result_of_unknown_and_succeeded_jobs(jobs):
    assert jobs.status("nope") is None and jobs.result("nope") is None
    job_id = jobs.submit(SITE, BREAKDOWN, NOW)["job_id"]
    with pytest.raises(JobNotReady):
        jobs.result(job_id, NOW)
    jobs.store.set_status(job_id, SUCCEEDED, started_at=NOW)
    assert jobs.result(job_id, NOW) == {"job_id": job_id, "status": SUCCEEDED,
                                        "columns": ["x"], "rows": [], "meta": {}}
