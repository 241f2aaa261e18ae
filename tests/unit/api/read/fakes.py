"""In-memory stand-ins for the read service's stores (same methods as
``analytics.storage.*``, the view store and the ad-hoc job store), a settable clock, and
a browser that keeps its cookies, for tests of the app through ``falcon.testing`` without
Cassandra."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from analytics.storage.accounts import Membership, User
from analytics.storage.adhoc_jobs import FAILED, SUCCEEDED, JobRow
from api.read.jobs import AdhocJobs
from api.read.sketches import Part
from api.read.store import ClosedDay


class Clock:
    def __init__(self, at: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


class MemorySites:
    def __init__(self, *sites):
        self.sites = {s.site_id: s for s in sites}

    def get(self, site_id):
        return self.sites.get(site_id)

    def all(self):
        return sorted(self.sites.values(), key=lambda s: s.site_id)

    def save(self, site):
        self.sites[site.site_id] = site


class MemoryTokens:
    def __init__(self, **tokens):
        self.tokens = tokens

    def verify(self, raw):
        """The active token ``raw`` is (a revoked one is None, as in TokenStore)."""
        token = self.tokens.get(raw)
        return token if token is not None and token.active else None


class MemoryTokenTable:
    """A driver session over an in-memory ``api_tokens`` table that answers the statements
    :class:`api.read.tokens.TokenStore` makes (timestamps come back naive UTC, as from
    the driver); ``lookups`` counts the reads of one token."""

    COLUMNS = ("token_id", "secret_hash", "sites", "label", "created_at", "revoked_at",
               "expires_at")

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.lookups = 0

    def execute(self, statement, parameters=()):
        if statement.startswith("INSERT INTO api_tokens"):
            names = statement[statement.index("(") + 1:statement.index(")")].split(", ")
            row = dict(zip(names, parameters, strict=True))
            applied = row["token_id"] not in self.rows
            if applied:
                self.rows[row["token_id"]] = row
            return _Result([], applied)
        if statement.startswith("UPDATE api_tokens SET revoked_at"):
            at, token_id = parameters
            if token_id not in self.rows:
                return _Result([], False)
            self.rows[token_id]["revoked_at"] = at
            return _Result([], True)
        if statement.startswith("SELECT") and "WHERE token_id" in statement:
            self.lookups += 1
            found = self.rows.get(parameters[0])
            return _Result([self._row(found)] if found else [])
        if statement.startswith("SELECT"):
            return _Result([self._row(r) for r in self.rows.values()])
        raise AssertionError(f"unexpected statement {statement!r}")

    def _row(self, row: dict) -> SimpleNamespace:
        def naive(value):
            if isinstance(value, datetime) and value.tzinfo is not None:
                return value.astimezone(UTC).replace(tzinfo=None)
            return value
        return SimpleNamespace(**{c: naive(row.get(c)) for c in self.COLUMNS})


class _Result(list):
    def __init__(self, rows, was_applied=True):
        super().__init__(rows)
        self.was_applied = was_applied

    def one(self):
        return self[0] if self else None


class UpCassandra:
    """A session whose every statement succeeds (the health check's query)."""

    def execute(self, statement, parameters=None):
        return []


class MemoryUsers:
    def __init__(self):
        self.users: dict[str, User] = {}
        self.memberships: dict[tuple[str, str], Membership] = {}

    def get_user(self, email):
        return self.users.get(email)

    def insert_user(self, user):
        if user.email in self.users:
            return False
        self.users[user.email] = user
        return True

    def set_password(self, email, password_hash, at):
        if email not in self.users:
            return False
        self.users[email] = replace(self.users[email], password_hash=password_hash,
                                    password_changed_at=at)
        return True

    def all_users(self):
        return sorted(self.users.values(), key=lambda u: u.email)

    def roles_of(self, email):
        return {site: m.role for (e, site), m in self.memberships.items() if e == email}

    def members_of(self, site_id):
        return [m for (_e, site), m in self.memberships.items() if site == site_id]

    def set_role(self, email, site_id, role, at):
        self.memberships[(email, site_id)] = Membership(site_id, email, role, at)

    def remove_role(self, email, site_id):
        self.memberships.pop((email, site_id), None)


class MemorySessions:
    def __init__(self):
        self.rows = {}

    def insert(self, found, ttl_s):
        self.rows[found.session_id] = found

    def get(self, session_id):
        return self.rows.get(session_id)

    def ids_of(self, email):
        return [i for i, s in self.rows.items() if s.email == email]

    def delete(self, email, session_ids):
        for session_id in session_ids:
            self.rows.pop(session_id, None)


class MemoryLinks:
    def __init__(self):
        self.links = {}
        self.unlocks = {}

    def insert(self, link):
        self.links[link.link_id] = link

    def get(self, link_id):
        return self.links.get(link_id)

    def for_site(self, site_id):
        return [link for link in self.links.values() if link.site_id == site_id]

    def revoke(self, link_id, at):
        if self.links[link_id].revoked_at is None:
            self.links[link_id] = replace(self.links[link_id], revoked_at=at)

    def insert_unlock(self, unlock_id, link_id, at, ttl_s):
        self.unlocks[unlock_id] = link_id

    def unlocked_link(self, unlock_id):
        return self.unlocks.get(unlock_id)


class MemoryFailures:
    def __init__(self):
        self.failures: dict[str, list[datetime]] = {}

    def add(self, key, at, ttl_s):
        self.failures.setdefault(key, []).append(at)

    def since(self, key, start):
        return sorted(t for t in self.failures.get(key, []) if t > start)

    def clear(self, key):
        self.failures.pop(key, None)


class MemoryJobStore:
    """The AdhocJobStore calls AdhocJobs makes, on dicts (lightweight transactions are
    trivially atomic here)."""

    def __init__(self):
        self.jobs: dict[str, JobRow] = {}
        self.results: dict[str, dict] = {}
        self.by_spec: list[JobRow] = []
        self.active: dict[tuple, str] = {}
        self.slots: dict[int, str] = {}

    def insert(self, job):
        self.jobs[job.job_id] = job

    def delete(self, job_id):
        self.jobs.pop(job_id, None)

    def get(self, job_id):
        return self.jobs.get(job_id)

    def result(self, job_id):
        return self.results.get(job_id, {"columns": ["x"], "rows": [], "meta": {}})

    def set_slot(self, job_id, slot):
        self.jobs[job_id] = replace(self.jobs[job_id], slot=slot)

    def fail(self, job_id, now, error, was):
        if self.jobs[job_id].status != was:
            return False
        self.jobs[job_id] = replace(self.jobs[job_id], status=FAILED, error=error,
                                    finished_at=now)
        return True

    def index(self, job):
        self.by_spec.insert(0, job)

    def recent(self, site_id, key, limit=10):
        return [j.job_id for j in self.by_spec if j.spec_key == key][:limit]

    def claim_active(self, site_id, key, job_id, ttl_s):
        holder = self.active.setdefault((site_id, key), job_id)
        return None if holder == job_id else holder

    def release_active(self, site_id, key, job_id):
        if self.active.get((site_id, key)) == job_id:
            del self.active[(site_id, key)]

    def claim_slot(self, job_id, slots, ttl_s, now):
        free = [s for s in range(slots) if s not in self.slots]
        if free:
            self.slots[free[0]] = job_id
            return free[0]
        return None

    def slot_holders(self, slots):
        return dict(self.slots)

    def release_slot(self, slot, job_id):
        if self.slots.get(slot) == job_id:
            del self.slots[slot]

    def release(self, job):
        if job.slot is not None:
            self.release_slot(job.slot, job.job_id)
        self.release_active(job.site_id, job.spec_key, job.job_id)

    def set_status(self, job_id, status, **fields):
        self.jobs[job_id] = replace(self.jobs[job_id], status=status, **fields)


class MemoryAdhocJobs(AdhocJobs):
    """Ad-hoc jobs on a :class:`MemoryJobStore`: launching one records it, no batch day
    is closed."""

    def __init__(self, config):
        super().__init__(config, session=None, launcher=self._launch)
        self.store = MemoryJobStore()
        self.launched: list[str] = []

    def _launch(self, config, job_id, log_path) -> None:
        self.launched.append(job_id)

    def _closed_days(self, site_id, first, last):
        return {}

    def succeed(self, job_id: str, columns: list[str], rows: list[list],
                at: datetime | None = None) -> None:
        """The job ran and finished ``at`` (default: the instant it was submitted)."""
        at = at or self.store.get(job_id).submitted_at
        self.store.set_status(job_id, SUCCEEDED, started_at=at, finished_at=at)
        self.store.results[job_id] = {"columns": columns, "rows": rows, "meta": {}}


class MemoryViews:
    """The :class:`api.read.store.ViewStore` reads of :class:`api.read.reports.Reports`:
    closed days (``(site_id, day) -> Part``) and their breakdowns (``(site_id, day,
    dimension) -> {value: Part}``); the speed layer has nothing."""

    def __init__(self, closed=None, breakdowns=None):
        self.closed: dict[tuple[str, date], Part] = dict(closed or {})
        self.breakdowns: dict[tuple[str, date, str], dict[str, Part]] = dict(breakdowns or {})

    def closed_days(self, site_id, first, last):
        return {day: ClosedDay(day, SimpleNamespace(version="v1"), part)
                for (site, day), part in self.closed.items()
                if site == site_id and first <= day <= last}

    def batch_breakdown(self, site_id, day, version, dimension):
        return dict(self.breakdowns.get((site_id, day, dimension), {}))

    def batch_hours(self, site_id, day, version):
        return []

    def batch_goals(self, site_id, day, version):
        return []

    def merged(self, key, make):
        return make()

    def speed(self, site_id, view, start, end, now):
        return {}

    def speed_minutes(self, site_id, view, start, end):
        return []

    def late(self, site_id, start, end, now):
        return []


class FakeReports:
    """Only what the tests call: the realtime report."""

    def realtime(self, site, now):
        return {"site_id": site.site_id, "timezone": site.timezone, "minutes": []}


class Browser:
    """A client with a cookie jar (``falcon.testing`` keeps none) and the CSRF token the
    login answered; ``csrf=False`` leaves the header out."""

    def __init__(self, client, remote_addr: str = "198.51.100.7", https: bool = False):
        self.client = client
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None
        self.headers: dict[str, str] = {}
        self.remote_addr = remote_addr
        self.https = https

    def request(self, method: str, path: str, *, json=None, body=None, csrf: bool = True,
                headers: dict | None = None):
        sent = dict(self.headers)
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            sent["X-CSRF-Token"] = self.csrf
        sent.update(headers or {})
        result = self.client.simulate_request(
            method, path, json=json, body=body, headers=sent, cookies=self.cookies or None,
            remote_addr=self.remote_addr, protocol="https" if self.https else "http")
        for name, cookie in result.cookies.items():
            if cookie.value and (cookie.max_age is None or cookie.max_age > 0):
                self.cookies[name] = cookie.value
            else:
                self.cookies.pop(name, None)
        return result

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, email: str, password: str):
        result = self.post("/api/v1/auth/login", {"email": email, "password": password})
        if result.status_code == 200:
            self.csrf = result.json["csrf_token"]
        return result
