"""Demo traffic for the local run: after ``make run`` the demo site (``demo.local``) has a
few days of realistic visits, closed by the batch layer, today's visits so far, and a
dashboard login.

:func:`seed` is called by ``python -m stack run`` every time; each step is recorded in
``<state>/demo-data.json`` and done once:

1. traffic: the whole past days the write service still accepts (events at most
   ``ANALYTICS_EVENT_MAX_LATENESS_MS``, 72 h, old: two days by default) and today up to
   now, posted to ``POST /api/event`` as a tracker that buffered them would (``created_at``
   in the past, ``sent_at`` now). :func:`generate_day` makes them from a seeded RNG: the
   same seed and day give the same events, event ids included;
2. closing those days: once the speed layer has put the posted events into the master
   dataset, a backfill of the ``sitelens_nightly`` DAG for them through Airflow's REST API,
   not waited for. Airflow schedules no task of a paused DAG, backfills included, so a
   paused DAG is unpaused for it, and paused again by a later call once the backfill is
   done (a step recorded like the others);
3. a demo user (``demo@sitelens.local``), admin of the demo site, whose generated
   password is kept in ``<state>/demo-login.txt`` (checked every time).

Visitors and countries: the write service tells cookieless visitors apart by client
address and user agent, and takes the address from ``X-Forwarded-For`` only when
``ANALYTICS_TRUST_FORWARDED_FOR`` is on (which it must not be without a proxy in front).
So each simulated visitor connects from a loopback address of its own (127.x.y.z, all of
which reach a service on 127.0.0.1): the service really sees distinct clients. Loopback
addresses have no country, so the country breakdown stays empty — unless the service
trusts ``X-Forwarded-For``: then each visitor also sends an address from a big ISP's
registry range in its country.

After that, the ``demo-traffic`` service (:mod:`stack.demo_live`) posts the demo site's
visits as they happen, so today fills the way a real tracker's traffic would: the events
posted here for today so far reach the speed layer hours after their time, so it counts
them as late (in pageviews and events, not in visitors or the cards) until the nightly
run closes the day.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

from analytics.config import Config
from stack.demo_traffic import (
    DEMO_EMAIL,
    NIGHTLY,
    SEED,
    SITE,
    Visit,
    as_sent,
    generate_day,
    past_days,
    visitor_pool,
)


class Poster:
    """Posts visits to the write service, one request per visit, from its visitor's own
    loopback address (when the service listens on loopback)."""

    def __init__(self, config: Config, threads: int = 4):
        host = config.write_api_host
        self.host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        self.port, self.path = config.write_api_port, config.collect_path
        self.forwarded = config.trust_forwarded_for
        self.threads = threads
        try:
            self.loopback = ipaddress.ip_address(self.host).version == 4 and \
                ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            self.loopback = False

    def healthy(self) -> bool:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def post(self, visits: list[Visit], *, after_ms: int = -1,
             until_ms: int) -> tuple[int, dict[str, int]]:
        """The events of ``visits`` in (after_ms, until_ms]: (accepted, refused by reason)."""
        batches = [(v, [e for e in as_sent(v) if after_ms < e["created_at"] <= until_ms])
                   for v in visits]
        with ThreadPoolExecutor(self.threads) as pool:
            answers = list(pool.map(lambda b: self._send(*b), [b for b in batches if b[1]]))
        refused: dict[str, int] = {}
        for item in (r for a in answers for r in a.get("refused", [])):
            refused[item.get("reason", "?")] = refused.get(item.get("reason", "?"), 0) + 1
        return sum(a.get("accepted", 0) for a in answers), refused

    def _send(self, visit: Visit, events: list[dict]) -> dict:
        now = int(time.time() * 1000)
        body = json.dumps([{**e, "sent_at": max(now, e["created_at"])} for e in events])
        headers = {"Content-Type": "application/json", "User-Agent": visit.visitor.user_agent}
        if self.forwarded:
            headers["X-Forwarded-For"] = visit.visitor.forwarded_ip
        source = (visit.visitor.ip, 0) if self.loopback else None
        for attempt in range(6):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30,
                                              source_address=source)
            try:
                conn.request("POST", self.path, body, headers)
                resp = conn.getresponse()
                text = resp.read()
            except OSError:
                if attempt == 5:
                    raise
                time.sleep(1 + attempt)
                continue
            finally:
                conn.close()
            if resp.status == 429:
                time.sleep(float(resp.getheader("Retry-After") or 1))
                continue
            if resp.status != 202:
                raise RuntimeError(f"the write service answered {resp.status}: {text[:300]!r}")
            return json.loads(text)
        raise RuntimeError("the write service kept answering 429 (rate limit)")


# -- the steps -------------------------------------------------------------------------------
def state_file(config: Config):
    return config.state_dir / "demo-data.json"


def login_file(config: Config):
    return config.state_dir / "demo-login.txt"


def _load(config: Config) -> dict:
    try:
        return json.loads(state_file(config).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _save(config: Config, state: dict) -> None:
    state_file(config).parent.mkdir(parents=True, exist_ok=True)
    state_file(config).write_text(json.dumps(state, indent=2) + "\n")


def seed(config: Config, log=print) -> None:
    """The steps not done yet, then where to look (``make run`` calls this every time).
    A step that cannot be done now (a service down) is said and tried again next time;
    nothing here makes ``make run`` fail."""
    state = _load(config)
    try:
        if not state.get("traffic", {}).get("done"):
            post_traffic(config, state, log)
        if "backfill" not in state:
            found = close_days(config, state["traffic"]["past_days"], log)
            if found is not None:
                state["backfill"] = found
                _save(config, state)
        elif state["backfill"].get("repause") and repause_when_done(
                config, state["backfill"], log):
            _save(config, state)
    except Exception as exc:
        log(f"demo data: not now ({exc}); `make run` tries again")
    read_host = config.read_api_host if config.read_api_host not in ("0.0.0.0", "::") \
        else "127.0.0.1"
    log(f"dashboard      : http://{read_host}:{config.read_api_port}/dashboard/")
    try:
        log(f"demo login     : {ensure_demo_user(config, log)}, password in "
            f"{login_file(config)}")
    except Exception as exc:
        log(f"demo login     : not made ({exc})")


def post_traffic(config: Config, state: dict, log=print) -> None:
    """Posts the past days and today so far; each day done is recorded at once, so a
    failure part way posts only the unfinished day again (its copies of events already
    sent count twice in the speed layer's late view until the batch layer, which
    deduplicates by event id, closes the day)."""
    poster = Poster(config)
    if not poster.healthy():
        raise RuntimeError(f"the write service does not answer at {poster.host}:{poster.port}")
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    traffic = state.setdefault("traffic", {
        "seed": SEED, "past_days": [d.isoformat() for d in
                                    past_days(now, config.event_max_lateness_ms)],
        "posted": []})
    pool, base = visitor_pool(traffic["seed"]), f"https://{site_domain(config)}"
    for day in [*traffic["past_days"], now.date().isoformat()]:
        if day in traffic["posted"]:
            continue
        visits = generate_day(date.fromisoformat(day), base_url=base, seed=traffic["seed"],
                              pool=pool)
        accepted, refused = poster.post(visits, until_ms=now_ms)
        pageviews = sum(e["kind"] == "pageview" and e["created_at"] <= now_ms
                        for v in visits for e in v.events)
        log(f"demo data: {day}: {pageviews} pageviews ({accepted} events) posted"
            + (" so far" if day == now.date().isoformat() else "")
            + (f"; refused {refused}" if refused else ""))
        traffic["posted"].append(day)
        traffic["through_ms"] = now_ms
        _save(config, state)
    if not poster.loopback:
        log("demo data: the write service is not on loopback: every visit comes from this "
            "machine's address, so visitors differ only by user agent")
    if not config.trust_forwarded_for:
        log("demo data: no countries: the write service sees loopback addresses and does "
            "not trust X-Forwarded-For (ANALYTICS_TRUST_FORWARDED_FOR)")
    traffic["done"] = True
    _save(config, state)


def site_domain(config: Config) -> str:
    from analytics.sites import SiteRepository
    from analytics.storage.session import connect

    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        site = SiteRepository(session).get(SITE)
    finally:
        cluster.shutdown()
    if site is None:
        raise RuntimeError(f"no site {SITE} (made by the schema step of `make run`)")
    return site.domain


def master_dataset_caught_up(config: Config, timeout_s: float = 180.0) -> bool:
    """Until the speed layer's raw-events query has written everything on the topic now to
    the master dataset, which the batch layer reads (False after ``timeout_s``)."""
    from analytics.kafka_topics import end_offsets
    from analytics.storage.session import connect
    from streaming.progress import RAW_QUERY, processed_offsets, read_status

    if read_status(config) is None:
        return False  # the speed layer is not running
    target = end_offsets(config, config.topic_raw_events)
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            reached = processed_offsets(config, session, RAW_QUERY)
            if all(reached.get(p, 0) >= offset for p, offset in target.items()):
                return True
            time.sleep(2.0)
        return False
    finally:
        cluster.shutdown()


def close_days(config: Config, days: list[str], log=print) -> dict | None:
    """A backfill of the nightly DAG for ``days`` (not waited for); None when it cannot be
    made now."""
    from stack.airflow import AirflowApi, ui_url

    if not days:
        return {"id": None, "repause": False}
    api = AirflowApi(config)
    if not api.healthy():
        log("demo data: Airflow is not ready; the next `make run` closes the past days")
        return None
    if not master_dataset_caught_up(config):
        log("demo data: the speed layer has not stored the posted events yet; the next "
            "`make run` closes the past days")
        return None
    path = f"/api/v2/dags/{NIGHTLY}"
    paused = bool(api.get(path).get("is_paused"))
    if paused:
        api.patch(path, {"is_paused": False})
    try:
        found = api.post("/api/v2/backfills", {
            "dag_id": NIGHTLY, "from_date": f"{days[0]}T00:00:00Z",
            "to_date": f"{days[-1]}T00:00:00Z", "max_active_runs": 1,
            "reprocess_behavior": "completed",
            "dag_run_conf": {"sites": [SITE], "wait_for_day_end": False}})
    except Exception:
        if paused:
            api.patch(path, {"is_paused": True})
        raise
    log(f"demo data: the batch layer closes {days[0]}..{days[-1]} (a backfill of {NIGHTLY}, "
        f"a few minutes; not waited for): {ui_url(config)}/dags/{NIGHTLY}"
        + (f" — {NIGHTLY} is unpaused until it is done" if paused else ""))
    return {"id": found["id"], "repause": paused, "days": days}


def repause_when_done(config: Config, backfill: dict, log=print) -> bool:
    """Pause the nightly DAG again once the demo backfill is done (True: done now)."""
    from stack.airflow import AirflowApi

    api = AirflowApi(config)
    if not api.healthy():
        return False
    if not api.get(f"/api/v2/backfills/{backfill['id']}").get("completed_at"):
        log(f"demo data: the backfill is still running; {NIGHTLY} stays unpaused till then")
        return False
    api.patch(f"/api/v2/dags/{NIGHTLY}", {"is_paused": True})
    backfill["repause"] = False
    log(f"demo data: the backfill is done; {NIGHTLY} is paused again, as it was")
    return True


def ensure_demo_user(config: Config, log=print) -> str:
    """The demo user, admin of the demo site, with the password in the login file (made,
    or set again when the file is lost; a password changed in the dashboard is kept)."""
    from analytics.storage.accounts import ADMIN
    from analytics.storage.session import connect
    from api.manage_users import accounts_of

    path = login_file(config)
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        accounts = accounts_of(config, session)
        now = datetime.now(UTC)
        user = accounts.users.get_user(DEMO_EMAIL)
        if user is None or not path.exists():
            password = secrets.token_urlsafe(15)
            if user is None:
                accounts.create_user(DEMO_EMAIL, password, now)
            else:
                accounts.set_password(DEMO_EMAIL, password, now)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(f"{DEMO_EMAIL}\n{password}\n")
            log(f"made the demo login {DEMO_EMAIL} (password in {path})")
        if accounts.roles(DEMO_EMAIL).get(SITE) != ADMIN:
            accounts.grant(DEMO_EMAIL, SITE, ADMIN, now)
    finally:
        cluster.shutdown()
    return DEMO_EMAIL


def main(argv: list[str] | None = None) -> int:
    from stack import settings

    argv = sys.argv[1:] if argv is None else argv
    config = settings.load(log=None)
    if argv in ([], ["seed"]):
        seed(config)
        return 0
    print("usage: python -m stack.demo_data [seed]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
