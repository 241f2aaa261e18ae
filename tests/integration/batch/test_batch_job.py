"""The batch job on hand-built events: every number below is worked out from
docs/metrics.md.

Events reach the master dataset the way real ones do: posted to the write service (with
``created_at``/``sent_at``, so a client that buffered them puts them hours in the past),
published to Kafka, written to ``raw_event_chunks`` by the speed layer. Times are minutes
relative to the anchor A (17:00 UTC: 22:45 in Kathmandu, noon in New York in winter),
so both sites' events lie in the local day D = A's date. Each visitor's events are posted
in one request, so their relative times, and so the session durations, are exact.

Site K (Asia/Kathmandu, +05:45; goals: custom event ``signup``, page ``/pricing``):
  v1 (Chrome/Windows): A-90 pageview / (referrer google.com), A-80 pageview /pricing,
      A-79 engagement, A+0 pageview /docs sent twice (one event: a duplicate).
      Session 1 = A-90..A-79 (660 s, 2 pageviews: engaged); 79 minutes later session 2
      = /docs alone (a bounce).
  v2 (Firefox/Linux): A-60 custom signup {plan: pro} and 50 s later pageview /, both
      tagged utm_source=newsletter, utm_medium=email: one session of 50 s (engaged).
  v3 (iPhone): A-30 pageview /pricing (a bounce).
  Googlebot: A-45 pageview / (a bot event: counted apart only).
Site N (America/New_York; goal ``download``):
  v1: A-10 pageview / (referrer blog.example.org), A-5 custom download (300 s).
  v2: A-20 pageview /about?utm_source=twitter&utm_medium=social (a bounce).

Kathmandu's hours start at :15 UTC: A-90..A-59 fall in the hour starting 15:15Z (local
21:00), A-45..A+0 in the one starting 16:15Z (local 22:00).

All these events reach the speed layer more than its 10-minute watermark after their
event time, so it counts them in its ``late`` view; the data-quality check must find the
day explained by them. Site U (Asia/Kolkata) gets events posted now, on time, so there
both layers must agree exactly.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.periods import day_bounds, read_window, utc_hours
from analytics.quality import check_days
from analytics.sites import Site, SiteRepository
from stack import postgres
from stack.schema import apply_schema
from tests.integration.airflow.conftest import (
    RunningAirflow,
    dag_run_state,
    free_port,
    nightly_logical_date,
)
from tests.integration.batch.conftest import SERIES, anchor, current, run_batch, utc_naive
from tests.integration.services import CHROME_UA, SpeedLayerJob, WriteService, post_json
from tests.integration.streaming.conftest import (
    FIREFOX_UA,
    GOOGLEBOT_UA,
    SAFARI_IPHONE_UA,
    pipeline_config,
    wait_caught_up,
)

pytestmark = pytest.mark.integration

V1, V2, V3 = ("203.0.113.1", CHROME_UA), ("203.0.113.2", FIREFOX_UA), \
    ("203.0.113.3", SAFARI_IPHONE_UA)
V4 = ("203.0.113.4", CHROME_UA)
BOT = ("66.249.66.1", GOOGLEBOT_UA)
KURL, NURL, UURL = "https://ktm.example", "https://nyc.example", "https://kol.example"
NEWSLETTER = "?utm_source=newsletter&utm_medium=email"


def at(a: datetime, minutes: float, now_ms: int) -> dict:
    """created/sent times that make the event's time A + ``minutes``."""
    event_ms = int((a + timedelta(minutes=minutes)).timestamp() * 1000)
    return {"created_at": event_ms, "sent_at": now_ms}


def post(base: str, events: list[dict], visitor: tuple[str, str]) -> None:
    ip, ua = visitor
    status, _, body = post_json(base + "/api/event", events,
                                {"X-Forwarded-For": ip, "User-Agent": ua})
    assert status == 202 and body["refused"] == [], body


def post_past_events(base: str, k: str, n: str, a: datetime) -> None:
    now = int(time.time() * 1000)
    docs = {"event_id": str(uuid.uuid4()), "site_id": k, "kind": "pageview",
            "url": KURL + "/docs", **at(a, 0, now)}
    post(base, [
        {"site_id": k, "kind": "pageview", "url": KURL + "/",
         "referrer": "https://www.google.com/", **at(a, -90, now)},
        {"site_id": k, "kind": "pageview", "url": KURL + "/pricing", **at(a, -80, now)},
        {"site_id": k, "kind": "engagement", "url": KURL + "/pricing",
         "engagement_ms": 60_000, **at(a, -79, now)},
        docs, dict(docs)], V1)
    post(base, [
        {"site_id": k, "kind": "custom", "name": "signup", "props": {"plan": "pro"},
         "url": KURL + "/" + NEWSLETTER, **at(a, -60, now)},
        {"site_id": k, "kind": "pageview", "url": KURL + "/" + NEWSLETTER,
         **at(a, -60 + 50 / 60, now)}], V2)
    post(base, [{"site_id": k, "kind": "pageview", "url": KURL + "/pricing",
                 **at(a, -30, now)}], V3)
    post(base, [{"site_id": k, "kind": "pageview", "url": KURL + "/", **at(a, -45, now)}], BOT)
    post(base, [
        {"site_id": n, "kind": "pageview", "url": NURL + "/",
         "referrer": "https://blog.example.org/a-post", **at(a, -10, now)},
        {"site_id": n, "kind": "custom", "name": "download", "url": NURL + "/",
         **at(a, -5, now)}], V1)
    post(base, [{"site_id": n, "kind": "pageview",
                 "url": NURL + "/about?utm_source=twitter&utm_medium=social",
                 **at(a, -20, now)}], V2)


def post_now_events(base: str, u: str) -> None:
    post(base, [{"site_id": u, "kind": "pageview", "url": UURL + "/"},
                {"site_id": u, "kind": "custom", "name": "signup", "url": UURL + "/"}], V1)
    post(base, [{"site_id": u, "kind": "pageview", "url": UURL + "/x"}], V2)


@pytest.fixture(scope="module")
def batch(stack, cql, tmp_path_factory, dags_test):
    """Events posted and carried into raw_event_chunks; the nightly DAG run twice for day D
    with ``airflow dags test`` (recompute + data-quality check); then the job alone for
    site U's day, one more (late) event and a third run; what readers saw after each."""
    config = pipeline_config(stack, tmp_path_factory.mktemp("batch"), 18230)
    run = uuid.uuid4().hex[:6]
    k = Site(site_id=f"ktm-{run}.test", domain="ktm.example", timezone="Asia/Kathmandu",
             goals=frozenset({"signup", "/pricing"}))
    n = Site(site_id=f"nyc-{run}.test", domain="nyc.example", timezone="America/New_York",
             goals=frozenset({"download"}))
    u = Site(site_id=f"kol-{run}.test", domain="kol.example", timezone="Asia/Kolkata")
    for site in (k, n, u):
        SiteRepository(cql).save(site)
    a = anchor(datetime.now(UTC))
    day = a.date()
    write = WriteService(config).start()
    job = SpeedLayerJob(config).start()
    try:
        post_past_events(write.base, k.site_id, n.site_id, a)
        post_now_events(write.base, u.site_id)
        u_day = datetime.now(ZoneInfo(u.timezone)).date()
        wait_caught_up(config, cql)
        sites = [k.site_id, n.site_id]
        nightly = [dags_test("sitelens_nightly", nightly_logical_date(day), config=config,
                             conf={"sites": sites, "wait_for_day_end": False})]
        seen = {"first": {s: current(cql, s, day) for s in sites}}
        nightly.append(dags_test("sitelens_nightly", nightly_logical_date(day), config=config,
                                 conf={"sites": sites, "wait_for_day_end": False}))
        seen["second"] = {s: current(cql, s, day) for s in sites}
        run_batch(config, u_day, sites=[u.site_id])
        seen["u"] = current(cql, u.site_id, u_day)
        checks = check_days(config, cql, start_day=day, end_day=day, site_ids=sites,
                            now=datetime.now(UTC))
        checks += check_days(config, cql, start_day=u_day, end_day=u_day,
                             site_ids=[u.site_id], now=datetime.now(UTC))
        # A late arrival for day D: a fourth visitor's pageview of /docs at A-20.
        post(write.base, [{"site_id": k.site_id, "kind": "pageview", "url": KURL + "/docs",
                           **at(a, -20, int(time.time() * 1000))}], V4)
        wait_caught_up(config, cql)
        run_batch(config, day, sites=[k.site_id])
        seen["late"] = current(cql, k.site_id, day)
        late_checks = check_days(config, cql, start_day=day, end_day=day,
                                 site_ids=[k.site_id], now=datetime.now(UTC))
        yield {"k": k.site_id, "n": n.site_id, "u": u.site_id, "a": a, "day": day,
               "nightly": nightly, "seen": seen, "checks": checks, "late_checks": late_checks}
    finally:
        job.stop()
        write.stop()


def series(row: dict) -> tuple:
    return tuple(row[c] for c in SERIES)


def test_day_totals_of_both_sites(batch):
    k, n = (batch["seen"]["first"][s]["day"] for s in (batch["k"], batch["n"]))
    # visitors, pageviews, custom, sessions, engaged, bounces, duration, session pageviews
    assert series(k) == (3, 5, 1, 4, 2, 2, 710.0, 5)
    assert (k["raw_events"], k["duplicates"], k["bot_events"]) == (9, 1, 1)
    assert series(n) == (2, 2, 1, 2, 1, 1, 300.0, 2)
    assert (n["raw_events"], n["duplicates"], n["bot_events"]) == (3, 0, 0)
    assert k["timezone"] == "Asia/Kathmandu"
    day = batch["day"]
    assert (k["utc_start"], k["utc_end"]) == (
        datetime(day.year, day.month, day.day) - timedelta(hours=5, minutes=45),
        datetime(day.year, day.month, day.day) + timedelta(hours=18, minutes=15))


def test_hours_in_the_sites_zone(batch):
    a, day = batch["a"], batch["day"]
    k = sorted(batch["seen"]["first"][batch["k"]]["hourly"], key=lambda r: r["hour_start"])
    start = utc_naive(a) - timedelta(minutes=105)  # 15:15Z
    assert [(r["hour_start"], r["local_hour"], *series(r)) for r in k] == [
        (start, datetime(day.year, day.month, day.day, 21), 2, 3, 1, 2, 2, 0, 710.0, 3),
        (start + timedelta(hours=1), datetime(day.year, day.month, day.day, 22),
         2, 2, 0, 2, 0, 2, 0.0, 2),
    ]
    n = batch["seen"]["first"][batch["n"]]["hourly"]
    new_york_hour = (a - timedelta(hours=1)).astimezone(ZoneInfo("America/New_York"))
    assert [(r["hour_start"], r["local_hour"], *series(r)) for r in n] == [
        (utc_naive(a) - timedelta(hours=1), new_york_hour.replace(tzinfo=None),
         2, 2, 1, 2, 1, 1, 300.0, 2)]


def breakdown(found: dict, dimension: str) -> dict:
    """value -> (visitors, pageviews, events, sessions, bounces, total_duration_s)."""
    return {r["value"]: (r["visitors"], r["pageviews"], r["events"], r["sessions"],
                         r["bounces"], r["total_duration_s"])
            for r in found["breakdowns"] if r["dimension"] == dimension}


def test_breakdowns(batch):
    k = batch["seen"]["first"][batch["k"]]
    assert breakdown(k, "page") == {"/": (2, 2, 0, None, None, None),
                                    "/pricing": (2, 2, 0, None, None, None),
                                    "/docs": (1, 1, 0, None, None, None)}
    assert breakdown(k, "entry_page") == {"/": (2, 3, 1, 2, 0, 710.0),
                                          "/docs": (1, 1, 0, 1, 1, 0.0),
                                          "/pricing": (1, 1, 0, 1, 1, 0.0)}
    assert breakdown(k, "exit_page") == {"/pricing": (2, 3, 0, 2, 1, 660.0),
                                         "/docs": (1, 1, 0, 1, 1, 0.0),
                                         "/": (1, 1, 1, 1, 0, 50.0)}
    assert breakdown(k, "source") == {"google.com": (1, 2, 0, 1, 0, 660.0),
                                      "(direct)": (2, 2, 0, 2, 2, 0.0),
                                      "newsletter": (1, 1, 1, 1, 0, 50.0)}
    assert breakdown(k, "channel") == {"Organic Search": (1, 2, 0, 1, 0, 660.0),
                                       "Direct": (2, 2, 0, 2, 2, 0.0),
                                       "Email": (1, 1, 1, 1, 0, 50.0)}
    assert breakdown(k, "device") == {"desktop": (2, 4, 1, 3, 1, 710.0),
                                      "mobile": (1, 1, 0, 1, 1, 0.0)}
    assert breakdown(k, "event") == {"signup": (1, 0, 1, None, None, None)}
    assert breakdown(k, "prop:plan") == {"pro": (1, 0, 1, None, None, None)}
    n = batch["seen"]["first"][batch["n"]]
    assert breakdown(n, "channel") == {"Referral": (1, 1, 1, 1, 0, 300.0),
                                       "Organic Social": (1, 1, 0, 1, 1, 0.0)}


def goals(found: dict) -> dict:
    return {r["goal"]: (r["conversions"], r["converting_visitors"], r["visitors"])
            for r in found["goals"]}


def test_goals(batch):
    assert goals(batch["seen"]["first"][batch["k"]]) == {"/pricing": (2, 2, 3),
                                                         "signup": (1, 1, 3)}
    assert goals(batch["seen"]["first"][batch["n"]]) == {"download": (1, 1, 2)}


def without_run(found: dict) -> dict:
    """A site-day's content without what names the run (version, run id, time)."""
    day = {c: v for c, v in found["day"].items() if c not in ("version", "run_id",
                                                              "computed_at")}
    rows = {name: sorted((tuple(sorted((c, v) for c, v in r.items() if c != "version"))
                          for r in found[name]), key=repr)
            for name in ("hourly", "breakdowns", "goals")}
    return {"day": day, **rows}


def test_running_twice_replaces_the_day_with_the_same_numbers(batch):
    for site in (batch["k"], batch["n"]):
        first, second = batch["seen"]["first"][site], batch["seen"]["second"][site]
        assert without_run(second) == without_run(first)
        assert second["day"]["version"] != first["day"]["version"]
        # only the current version is left, in every table
        assert second["versions"] == second["registered"] == {second["day"]["version"]}


def test_the_nightly_dag_recomputes_and_its_quality_check_passes(batch):
    for done in batch["nightly"]:
        output = done.stdout + done.stderr
        assert done.returncode == 0 and dag_run_state(done) == "success", output[-4000:]
        # check_layers logs every site-day it compared
        for site in (batch["k"], batch["n"]):
            assert f"{site} {batch['day']}: ok" in output


def test_a_late_event_is_counted_by_the_next_run(batch):
    late = batch["seen"]["late"]
    # one more visitor, pageview and session (a bounce)
    assert series(late["day"]) == (4, 6, 1, 5, 2, 3, 710.0, 6)
    assert breakdown(late, "page")["/docs"] == (2, 2, 0, None, None, None)
    assert late["versions"] == late["registered"] == {late["day"]["version"]}


def test_on_time_events_agree_exactly_with_the_speed_layer(batch):
    u = batch["seen"]["u"]["day"]
    assert series(u) == (2, 2, 1, 2, 0, 2, 0.0, 2)
    by_site = {c.site_id: c for c in batch["checks"]}
    check = by_site[batch["u"]]
    assert check.ok, check.describe()
    assert check.batch == check.speed == {"pageviews": 2, "custom_events": 1}
    assert check.late == {"pageviews": 0, "custom_events": 0}


def test_late_events_explain_the_gap_to_the_speed_layer(batch):
    by_site = {c.site_id: c for c in batch["checks"]}
    k = by_site[batch["k"]]
    assert k.ok, k.describe()
    assert (k.batch, k.speed, k.late) == (
        {"pageviews": 5, "custom_events": 1}, {"pageviews": 0, "custom_events": 0},
        {"pageviews": 5, "custom_events": 1})
    after = batch["late_checks"][0]
    assert after.ok and after.batch == after.late == {"pageviews": 6, "custom_events": 1}


def test_a_day_the_batch_layer_has_not_closed_fails_the_check(batch, stack, cql):
    later = batch["day"] + timedelta(days=3)
    [check] = check_days(stack, cql, start_day=later, end_day=later, site_ids=[batch["n"]],
                         now=datetime.now(UTC))
    assert not check.ok and "has not closed" in check.describe()


def _copy_day(cql, config, site: Site, day: date) -> int:
    """What a recompute of ``day`` and its data-quality check read, copied into
    ``config``'s keyspace: the raw chunks of the day's read window and the speed layer's
    minute views (totals and late events up to ``quality_late_hours`` after the day)."""
    keyspace, copied = config.cassandra_keyspace, 0
    margin = timedelta(minutes=config.batch_session_margin_minutes)
    for hour in utc_hours(*read_window(day, day, site.timezone, margin)):
        for row in cql.execute("SELECT JSON * FROM raw_event_chunks WHERE site_id = %s AND "
                               "hour = %s", (site.site_id, hour)):
            cql.execute(f"INSERT INTO {keyspace}.raw_event_chunks JSON %s", (row.json,))
            copied += 1
    start, end = day_bounds(day, site.timezone)
    for view in ("totals", "late"):
        for hour in utc_hours(start, end + timedelta(hours=config.quality_late_hours)):
            for row in cql.execute("SELECT JSON * FROM realtime_views WHERE site_id = %s AND "
                                   "view_name = %s AND hour = %s",
                                   (site.site_id, view, hour)):
                cql.execute(f"INSERT INTO {keyspace}.realtime_views JSON %s", (row.json,))
                copied += 1
    return copied


def test_a_backfill_and_the_trigger_form_recompute_the_days_they_name(
        batch, airflow_db, cql, tmp_path_factory):
    """Airflow's parts as the local run runs them, in a keyspace of its own holding only
    site K (and K's raw events and speed-layer views of day D): unpausing the DAG
    (backfill and manual runs need it) also starts the latest scheduled run, for every
    site of the keyspace.

    1. ``airflow backfill create`` over three days before D (K had no events then: zero
       days, each closed by its own run);
    2. the trigger form with ``first_day`` D (a past day, any logical date): D is
       recomputed and closed with the same numbers as in the test keyspace;
    3. the trigger form with ``first_day`` K's today: the run succeeds at once (no waiting
       for the day's end) and leaves the day open — no ``batch_days`` row."""
    k, day = batch["k"], batch["day"]
    site = SiteRepository(cql).get(k)
    suffix = uuid.uuid4().hex[:6]
    config = airflow_db.replace(cassandra_keyspace=f"analytics_backfill_{suffix}",
                                airflow_database=f"airflow_test_backfill_{suffix}",
                                state_dir=tmp_path_factory.mktemp("backfill"),
                                airflow_port=free_port())
    apply_schema(config, log=lambda _: None)
    cql.execute(f"INSERT INTO {config.cassandra_keyspace}.sites JSON %s", (cql.execute(
        "SELECT JSON * FROM sites WHERE site_id = %s", (k,)).one().json,))
    assert _copy_day(cql, config, site, day) > 0
    today = datetime.now(ZoneInfo(site.timezone)).date()
    airflow = RunningAirflow(config).start()
    try:
        airflow.set_paused("sitelens_nightly", False)
        done = airflow.cli(
            "backfill", "create", "--dag-id", "sitelens_nightly",
            "--from-date", (day - timedelta(days=5)).isoformat(),
            "--to-date", (day - timedelta(days=3)).isoformat(), "--max-active-runs", "1",
            "--dag-run-conf", json.dumps({"sites": [k], "wait_for_day_end": False}))
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        runs = airflow.wait_for_runs("sitelens_nightly", 3, run_type="backfill", timeout=900)
        at = datetime.now(UTC) - timedelta(minutes=1)
        past = airflow.trigger("sitelens_nightly", at, {"sites": [k],
                                                        "first_day": day.isoformat()})
        now_run = airflow.trigger("sitelens_nightly", at + timedelta(seconds=1),
                                  {"sites": [k], "first_day": today.isoformat()})
        manual = {r["dag_run_id"]: r for r in airflow.wait_for_runs(
            "sitelens_nightly", 2, run_type="manual", timeout=900)}
        airflow.set_paused("sitelens_nightly", True)
    finally:
        airflow.stop()
    assert [r["state"] for r in runs] == ["success"] * 3, runs
    days = sorted(date.fromisoformat(r["data_interval_start"][:10]) for r in runs)
    assert [(d - days[0]).days for d in days] == [0, 1, 2] and days[-1] < day
    keyspace = config.cassandra_keyspace
    for run in runs:
        row = cql.execute(f"SELECT * FROM {keyspace}.batch_days WHERE site_id = %s AND "
                          "day = %s",
                          (k, date.fromisoformat(run["data_interval_start"][:10]))).one()
        assert row.run_id == run["dag_run_id"]
        assert series(row._asdict()) == (0, 0, 0, 0, 0, 0, 0.0, 0)
    assert (manual[past]["state"], manual[now_run]["state"]) == ("success", "success")
    closed = cql.execute(f"SELECT * FROM {keyspace}.batch_days WHERE site_id = %s AND "
                         "day = %s", (k, day)).one()
    assert closed.run_id == past
    assert series(closed._asdict()) == series(current(cql, k, day)["day"])
    assert cql.execute(f"SELECT * FROM {keyspace}.batch_days WHERE site_id = %s AND "
                       "day = %s", (k, today)).one() is None  # today stays open
    cql.execute(f"DROP KEYSPACE {keyspace}")
    postgres.drop_database(config, config.airflow_database)
