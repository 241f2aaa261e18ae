"""What the cluster tests do to the running cluster profile (stack/cluster.py), through
its own supervised services, as an operator and a data engineer would:

* the hand-worked story of the single-node read tests (tests/integration/read/conftest.py,
  numbers worked out in test_reports.py's docstring from docs/metrics.md): site K
  (Asia/Kathmandu) gets day D's events (posted now with old event times) and today's
  (posted now); the same events must give the same numbers on the cluster;
* load: client threads posting pageviews with their own event ids, counting what the
  write service acknowledged;
* the nightly DAG triggered through Airflow's REST API for a named day (the trigger
  form's ``first_day``), waited for;
* the master dataset (``raw_event_chunks``) read back, to find every acknowledged event
  there exactly once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.client import HTTPException
from urllib.parse import urlencode

from cassandra import OperationTimedOut, ReadTimeout, Unavailable

from analytics.config import Config
from analytics.kafka_topics import end_offsets
from analytics.periods import utc_hours
from analytics.sites import Site, SiteRepository
from stack.airflow import AirflowApi
from streaming.progress import QUERIES, processed_offsets
from tests.integration.batch.test_batch_job import post_past_events
from tests.integration.read.conftest import anchor, post_k_now_events
from tests.integration.services import http, post_json
from tests.integration.streaming.conftest import raw_events_of

NIGHTLY = "sitelens_nightly"

DAY_TOTALS = {"visitors": 3, "pageviews": 5, "events": 1, "sessions": 4,
              "engaged_sessions": 2, "bounce_rate": 0.5, "visit_duration": 177.5,
              "views_per_session": 1.25, "bot_events": 1}
"""Site K's day D (test_reports.py: test_closed_day_in_kathmandu)."""
DAY_PAGES = [("/", 2, 2), ("/docs", 1, 1), ("/pricing", 2, 2)]
"""(page, visitors, pageviews) of day D."""
TODAY = (2, 2, 1)
"""K's last 30 minutes from the speed layer: visitors, pageviews, custom events."""
TODAY_PAGES = [{"page": "/", "visitors": 1, "pageviews": 1},
               {"page": "/pricing", "visitors": 1, "pageviews": 1}]


@dataclass
class Story:
    site_id: str
    a: datetime
    """The anchor: day D is its date (17:00 UTC, 22:45 in Kathmandu)."""

    @property
    def d(self) -> date:
        return self.a.date()


@dataclass
class Pipeline:
    config: Config
    cql: object
    token: str
    """A read API token for every site."""

    @property
    def write_base(self) -> str:
        return f"http://{self.config.write_api_host}:{self.config.write_api_port}"

    @property
    def read_base(self) -> str:
        return f"http://{self.config.read_api_host}:{self.config.read_api_port}"

    # -- the story -------------------------------------------------------------------------
    def story_site(self, tag: str) -> Story:
        run = uuid.uuid4().hex[:6]
        site = Site(site_id=f"ck-{tag}-{run}.test", domain="ktm.example",
                    timezone="Asia/Kathmandu", goals=frozenset({"signup", "/pricing"}))
        repo = SiteRepository(self.cql)
        repo.save(site)
        # day D's events of the story's second site (New York) go here
        repo.save(Site(site_id=f"{site.site_id}.other", domain="nyc.example",
                       timezone="America/New_York"))
        return Story(site.site_id, anchor(datetime.now(UTC)))

    def load_site(self, tag: str) -> str:
        """A site of its own for a drill's load (UTC)."""
        site = Site(site_id=f"cl-{tag}-{uuid.uuid4().hex[:6]}.test", domain="load.example",
                    timezone="UTC")
        SiteRepository(self.cql).save(site)
        return site.site_id

    def post_story(self, story: Story) -> None:
        """Day D's events, then today's (every request answered 202, nothing refused)."""
        post_past_events(self.write_base, story.site_id, story.site_id + ".other", story.a)
        post_k_now_events(self.write_base, story.site_id)

    def caught_up(self, timeout: float = 600.0) -> None:
        """Until both speed-layer queries have processed everything on the topic now
        (the demo site's live traffic keeps coming: at least that far)."""
        target = end_offsets(self.config, self.config.topic_raw_events)
        deadline = time.monotonic() + timeout
        while True:
            reached = {q: processed_offsets(self.config, self.cql, q) for q in QUERIES}
            if all(done.get(p, -1) >= end for done in reached.values()
                   for p, end in target.items()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"speed layer not caught up to {target}: {reached}")
            time.sleep(0.5)

    def realtime(self, story: Story) -> dict:
        return self.get("/api/v1/realtime", {"site_id": story.site_id})

    def day(self, story: Story) -> dict:
        query = {"site_id": story.site_id, "date_range": "custom",
                 "start": story.d.isoformat(), "end": story.d.isoformat()}
        totals = self.report("aggregate", {**query, "metrics": list(DAY_TOTALS)})
        pages = self.report("breakdown", {**query, "dimensions": ["page"],
                                          "metrics": ["visitors", "pageviews"]})
        return {"totals": totals["rows"], "layers": totals["meta"]["layers"],
                "pages": sorted((r["page"], r["visitors"], r["pageviews"])
                                for r in pages["rows"])}

    def expect_story(self, story: Story) -> None:
        """The hand-worked numbers: day D closed by the batch layer, today from the speed
        layer (this is what every drill ends with)."""
        found = self.day(story)
        assert found == {"totals": [DAY_TOTALS], "pages": DAY_PAGES,
                         "layers": {"batch": [story.d.isoformat()], "speed": []}}, found
        today = self.realtime(story)
        assert (today["visitors"], today["pageviews"], today["events"]) == TODAY, today
        assert today["pages"] == TODAY_PAGES

    # -- read API --------------------------------------------------------------------------
    def get(self, path: str, params: dict) -> dict:
        status, _, body = self.get_raw(path, params)
        assert status == 200, body
        return json.loads(body)

    def get_raw(self, path: str, params: dict):
        return http("GET", f"{self.read_base}{path}?{urlencode(params)}",
                    headers={"Authorization": f"Bearer {self.token}"})

    def report(self, kind: str, query: dict) -> dict:
        status, _, body = self._report(kind, query)
        assert status == 200, body
        return json.loads(body)

    def report_status(self, kind: str, query: dict) -> int:
        return self._report(kind, query)[0]

    def _report(self, kind: str, query: dict):
        return http("POST", f"{self.read_base}/api/v1/reports/{kind}", json.dumps(query),
                    {"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})

    # -- the batch layer through Airflow ---------------------------------------------------
    def close_day(self, site_ids: list[str], day: date, timeout: float = 900.0) -> dict:
        """Trigger the nightly DAG for ``day`` and ``site_ids`` (the trigger form's
        ``first_day``) and wait for the run to end; the run (its state is the caller's to
        check)."""
        run = self.start_close_day(site_ids, day)
        return self.wait_run(run, timeout)

    def start_close_day(self, site_ids: list[str], day: date) -> dict:
        """The run triggered (Airflow runs no task of a paused DAG: a paused nightly DAG is
        unpaused for it, and :meth:`wait_run` pauses it again)."""
        api = AirflowApi(self.config)
        paused = bool(api.get(f"/api/v2/dags/{NIGHTLY}").get("is_paused"))
        if paused:
            api.patch(f"/api/v2/dags/{NIGHTLY}", {"is_paused": False})
        run = api.post(f"/api/v2/dags/{NIGHTLY}/dagRuns", {
            "dag_run_id": f"cluster-test-{uuid.uuid4().hex[:8]}",
            "logical_date": datetime.now(UTC).isoformat(),
            "conf": {"sites": site_ids, "first_day": day.isoformat()}})
        return {**run, "repause": paused}

    def wait_run(self, run: dict, timeout: float = 900.0) -> dict:
        api = AirflowApi(self.config)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                found = api.get(f"/api/v2/dags/{NIGHTLY}/dagRuns/{run['dag_run_id']}")
                if found["state"] in ("success", "failed"):
                    return found
                time.sleep(3)
        finally:
            if run.get("repause"):
                api.patch(f"/api/v2/dags/{NIGHTLY}", {"is_paused": True})
        raise AssertionError(f"{run['dag_run_id']} still {found['state']} after {timeout} s")

    def task_states(self, run: dict) -> dict[str, str]:
        api = AirflowApi(self.config)
        return {t["task_id"]: t["state"] for t in api.task_instances(NIGHTLY, run["dag_run_id"])}

    # -- the master dataset ----------------------------------------------------------------
    def master_ids(self, site_id: str, start: datetime, end: datetime) -> Counter:
        """How many times each event id of ``site_id`` is in ``raw_event_chunks`` between
        ``start`` and ``end`` (UTC hours)."""
        found = Counter()
        for hour in utc_hours(start, end):
            for attempt in range(6):  # a replica just restarted can be slow to answer
                try:
                    events = raw_events_of(self.cql, site_id, [hour])
                    break
                except (ReadTimeout, Unavailable, OperationTimedOut):
                    if attempt == 5:
                        raise
                    time.sleep(5)
            found.update(e["event_id"] for e in events)
        return found


@dataclass
class Load:
    """Client threads, each posting ``batch`` new pageviews (own event ids) per request to
    the write service until stopped; what was acknowledged (202) and every status seen."""

    base: str
    site_id: str
    threads: int = 4
    batch: int = 10
    acked: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self):
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = [threading.Thread(target=self._loop, daemon=True)
                         for _ in range(self.threads)]

    def __enter__(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            events = [{"event_id": str(uuid.uuid4()), "site_id": self.site_id,
                       "kind": "pageview", "url": "https://load.example/p"}
                      for _ in range(self.batch)]
            try:
                status, _, body = post_json(self.base + "/api/event", events)
            except (OSError, HTTPException, ValueError) as exc:
                status, body = type(exc).__name__, None
            with self._lock:
                self.statuses[status] += 1
                if status == 202 and body and body.get("refused") == []:
                    self.acked.extend(e["event_id"] for e in events)
            time.sleep(0.01)

    def window(self) -> tuple[datetime, datetime]:
        """UTC hours that hold the load's events."""
        return (self.started_at - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
