"""The dashboard in Chromium on data that went through the whole pipeline (the read tests'
fixture, tests/integration/read/conftest.py, run for this module: events posted to the
write service, carried by Kafka and the speed layer, days closed by the batch job, the
read service under gunicorn), signed in as a person of the accounts store.

Every number the page shows is checked against the read API's answer to the same query
(asked with an API token), formatted the way the dashboard formats it (``shown`` and
``change`` below mirror dashboard/src/format.js); and a few against the numbers worked out
by hand in tests/integration/read/test_reports.py:

  site K (Asia/Kathmandu), day D, closed by the batch layer: visitors 3, pageviews 5,
  visits 4, bounce rate 50 %, visit duration 177.5 s (shown 2m 58s), 1.25 views per visit;
  site S (America/New_York), the day its clocks went back (F): visitors 4 against 1 on the
  day before (F - 1), so "up 300 %" with the previous period compared.

Screenshots land in .state/screenshots/numbers-*.png.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.batch.test_batch_job import KURL, post
from tests.integration.dashboard.conftest import PASSWORD, Tab
from tests.integration.read import conftest as read_tests
from tests.integration.services import CHROME_UA, SpeedLayerJob, WriteService, http

pytestmark = pytest.mark.integration

STAT_METRICS = ["visitors", "sessions", "pageviews", "views_per_session", "bounce_rate",
                "visit_duration"]
STAT_LABELS = {"visitors": "UNIQUE VISITORS", "sessions": "TOTAL VISITS",
               "pageviews": "TOTAL PAGEVIEWS", "views_per_session": "VIEWS PER VISIT",
               "bounce_rate": "BOUNCE RATE", "visit_duration": "VISIT DURATION"}
KINDS = {"bounce_rate": "rate", "conversion_rate": "rate", "visit_duration": "duration",
         "views_per_session": "decimal"}
LOWER_IS_BETTER = {"bounce_rate"}
TOP = 9  # rows a card shows

# The cards and their tabs as dashboard/src/components/cards.js defines them:
# card id -> [(tab id, dimension, metrics asked, the column beside visitors)].
PROP_KEY = "plan"
CARDS = {
    "pages": [("page", "page", ["visitors"], None),
              ("entry", "entry_page", ["visitors"], None),
              ("exit", "exit_page", ["visitors"], None)],
    "sources": [("channel", "channel", ["visitors"], None),
                ("source", "source", ["visitors"], None),
                ("referrer", "referrer", ["visitors"], None),
                ("medium", "medium", ["visitors"], None),
                ("campaign", "campaign", ["visitors"], None)],
    "locations": [("country", "country", ["visitors"], None)],
    "devices": [("device", "device", ["visitors"], None),
                ("browser", "browser", ["visitors"], None),
                ("os", "os", ["visitors"], None),
                ("screen", "screen_size", ["visitors"], None)],
    "goals": [("goal", "goal", ["visitors", "conversions", "conversion_rate"],
               "conversion_rate")],
    "events": [("event", "event", ["visitors", "events"], "events"),
               ("props", f"prop:{PROP_KEY}", ["visitors", "events"], "events")],
}


# -- the dashboard's formatting (dashboard/src/format.js), for the values of these tests --

def _half_up(value: float, places: int) -> Decimal:
    """JavaScript's toFixed / Intl rounding: the exact binary value, ties away from 0."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _trim(number: Decimal) -> str:
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def shown(metric: str, value, full: bool = False) -> str:
    """formatMetric(metric, value, full) in the en-GB locale of the test's browser."""
    if value is None:
        return "—"
    kind = KINDS.get(metric, "count")
    if kind == "rate":
        return _trim(_half_up(value * 100, 1)) + "%"
    if kind == "duration":
        s = int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if s < 60:
            return f"{s}s"
        m = s // 60
        return f"{m}m {s % 60:02d}s" if m < 60 else f"{m // 60}h {m % 60:02d}m"
    if kind == "decimal":
        return _trim(_half_up(value, 2))
    assert full or abs(value) < 10_000, "compact notation is not mirrored here"
    return f"{value:,}"


def change(metric: str, now, before) -> tuple[str, str] | None:
    """delta(metric, now, before) of format.js as (text, css class), None when there is
    no comparison."""
    if now is None or before is None:
        return None
    if KINDS.get(metric) == "rate":
        moved = (now - before) * 100
        text = f"{_half_up(abs(moved), 1)} pts"
    else:
        if before == 0:
            return ("0%", "flat") if now == 0 else None
        moved = (now - before) / before * 100
        size = abs(moved)
        text = (f"{_half_up(size, 0)}%" if size >= 100
                else f"{_half_up(size, 0 if moved == 0 else 1)}%")
    if abs(moved) < 0.05:
        return text, "flat"
    return text, "good" if (moved > 0) != (metric in LOWER_IS_BETTER) else "bad"


# -- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def read_api(stack, cql, tmp_path_factory):
    """The read tests' pipeline fixture (its own code), for this module only: ended with
    it, so its services' fixed ports are free again when the read tests start theirs."""
    yield from read_tests.read_api.__wrapped__(stack, cql, tmp_path_factory)


@dataclass
class Board:
    """The pipeline's read service, its sites, and the people made for these tests."""

    base: str
    token: str  # an API token of sites K and S
    k: str
    s: str
    d: date
    dst_day: date
    owner: str  # admin of K and S
    locked: str  # a person whose password is guessed until the login is throttled
    run: str

    def report(self, kind: str, document: dict) -> tuple[int, dict]:
        status, _, body = http("POST", f"{self.base}/api/v1/reports/{kind}",
                               json.dumps(document),
                               {"Authorization": f"Bearer {self.token}",
                                "Content-Type": "application/json"})
        return status, json.loads(body)

    def answer(self, kind: str, document: dict) -> dict:
        status, found = self.report(kind, document)
        assert status == 200, found
        return found

    def realtime(self, site: str) -> dict:
        status, _, body = http("GET", f"{self.base}/api/v1/realtime?site_id={site}",
                               headers={"Authorization": f"Bearer {self.token}"})
        assert status == 200, body
        return json.loads(body)


@pytest.fixture(scope="module")
def board(read_api, cql):
    from api.manage_users import accounts_of
    from stack.frontend import build_dashboard

    build_dashboard()
    run = uuid.uuid4().hex[:6]
    owner, locked = f"owner-{run}@example.com", f"locked-{run}@example.com"
    accounts = accounts_of(read_api.config, cql)
    now = datetime.now(UTC)
    for email in (owner, locked):
        accounts.create_user(email, PASSWORD, now)
    accounts.grant(owner, read_api.k, "admin", now)
    accounts.grant(owner, read_api.s, "admin", now)
    accounts.grant(locked, read_api.k, "viewer", now)
    return Board(base=read_api.base, token=read_api.tokens["both"], k=read_api.k,
                 s=read_api.s, d=read_api.d, dst_day=read_api.dst_day, owner=owner,
                 locked=locked, run=run)


@pytest.fixture
def tabs(browser):
    opened: list[Tab] = []

    def make(base: str, **kwargs) -> Tab:
        t = Tab(browser, base, **kwargs)
        opened.append(t)
        return t

    yield make
    for t in opened:
        t.close()


# -- the page ---------------------------------------------------------------------------

def custom(site: str, start: date, end: date, **rest) -> dict:
    return {"site_id": site, "date_range": "custom", "start": start.isoformat(),
            "end": end.isoformat(), **rest}


def view(site: str, start: date, end: date, extra: str = "") -> str:
    """The dashboard's URL state of a custom range."""
    return f"/dashboard/{site}?period=custom&from={start}&to={end}{extra}"


def signed_in(tabs, board: Board, **kwargs) -> tuple[Tab, object]:
    """A fresh browser signed in through the login page."""
    t = tabs(board.base, **kwargs)
    page = t.sign_in(board.owner)
    page.wait_for_url(re.compile(r"/dashboard/[^/?]+"))
    return t, page


def stats_loaded(page) -> None:
    """Until the top stats show the answer of the current URL's query (data-loaded)."""
    page.wait_for_selector(".stats[data-loaded='true']", timeout=30_000)


def top_stats(page) -> dict[str, dict]:
    """Label -> {value, delta, cls, sub} as shown (the value without its note marks)."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.stat')]
        .map(s => {
          const d = s.querySelector('.delta')
          const sub = s.querySelector('.stat-sub')
          return [s.querySelector('.stat-label').innerText.trim(), {
            value: s.querySelector('.stat-value').firstChild.textContent.trim(),
            delta: d ? d.lastChild.textContent.trim() : null,
            cls: d ? [...d.classList].find(c => c !== 'delta') : null,
            sub: sub ? sub.textContent.trim() : null}]
        }))""")


def card_rows(section) -> list[dict]:
    return section.evaluate("""sec => [...sec.querySelectorAll('.list-row')].map(r => {
        const label = r.querySelector('.row-label').cloneNode(true)
        const cc = label.querySelector('.cc')
        if (cc) cc.remove()
        const cells = r.querySelectorAll('[role=cell]')
        return {value: r.dataset.value, label: label.textContent.trim(),
                code: cc ? cc.textContent : null,
                visitors: cells[cells.length - 1].textContent.trim(),
                side: cells.length > 2 ? cells[1].textContent.trim() : null}
    })""")


def value_label(page, dimension: str, value) -> str:
    """valueLabel of format.js (country names from the browser's Intl, as the page)."""
    if value is None or value == "":
        return "(not set)"
    if dimension == "country" and re.fullmatch(r"[A-Za-z]{2}", value):
        return page.evaluate("c => new Intl.DisplayNames(undefined, {type: 'region'})"
                             ".of(c.toUpperCase()) || c", value)
    if dimension == "device":
        return value[:1].upper() + value[1:]
    return value


def stats_match_the_api(page, board: Board, query: dict) -> dict:
    """Every top stat equals the API's aggregate of ``query``; the API's row."""
    found = board.answer("aggregate", {**query, "metrics": STAT_METRICS})
    row = found["rows"][0]
    stats = top_stats(page)
    assert {STAT_LABELS[m]: stats[STAT_LABELS[m]]["value"] for m in STAT_METRICS} == {
        STAT_LABELS[m]: shown(m, row[m], full=True) for m in STAT_METRICS}
    return row


def labels_that_do_not_fit(page) -> list[str]:
    """Top-stat labels cut or spilling out of their stat."""
    return page.evaluate("""() => [...document.querySelectorAll('.stat')].filter(s => {
        const l = s.querySelector('.stat-label')
        const box = s.getBoundingClientRect(), r = l.getBoundingClientRect()
        return l.scrollWidth > l.clientWidth + 1 || r.right > box.right + 0.5
          || r.left < box.left - 0.5
      }).map(s => s.querySelector('.stat-label').innerText)""")


# -- tests ------------------------------------------------------------------------------

def test_top_stats_and_every_card_equal_the_api(tabs, board):
    """Site K, day D (closed by the batch layer), as a custom range in the URL."""
    t, page = signed_in(tabs, board)
    live_before = board.realtime(board.k)["visitors"]
    page.goto(board.base + view(board.k, board.d, board.d))
    stats_loaded(page)
    query = custom(board.k, board.d, board.d)
    row = stats_match_the_api(page, board, query)
    # the hand-worked numbers of test_reports.py's docstring
    stats = top_stats(page)
    assert [stats[STAT_LABELS[m]]["value"] for m in STAT_METRICS] == [
        "3", "4", "5", "1.25", "50%", "2m 58s"]
    assert row["visit_duration"] == 177.5
    # the live count is the realtime API's (the fixture's events of minutes ago)
    page.wait_for_function("() => !document.querySelector('.stat.live .stat-value')"
                           ".textContent.includes('…')")
    live = page.locator(".stat.live .stat-value").inner_text()
    assert live in {shown("visitors", live_before), shown("visitors",
                                                         board.realtime(board.k)["visitors"])}
    assert page.locator(".picker-label").inner_text() == "Custom"
    assert labels_that_do_not_fit(page) == []
    t.screenshot("numbers-overview-1280-light")

    checked = []
    for card_id, card_tabs in CARDS.items():
        section = page.locator(f"section[data-card='{card_id}']")
        for tab_id, dimension, metrics, side in card_tabs:
            if len(card_tabs) > 1:
                section.locator(f"[role=tab][data-tab='{tab_id}']").click()
            if dimension.startswith("prop:"):
                section.get_by_label("Property key").fill(PROP_KEY)
                section.get_by_role("button", name="Show").click()
            page.wait_for_selector(f"section[data-card='{card_id}']"
                                   f"[data-dimension='{dimension}'][data-loaded='true']")
            api = board.answer("breakdown", {**query, "dimensions": [dimension],
                                             "metrics": metrics, "limit": TOP})
            rows = card_rows(section)
            expected = [{"value": r[dimension] if r[dimension] is not None else "",
                         "label": value_label(page, dimension, r[dimension]),
                         "code": (r[dimension].upper() if dimension == "country"
                                  and re.fullmatch(r"[A-Za-z]{2}", r[dimension] or "")
                                  else None),
                         "visitors": shown("visitors", r["visitors"]),
                         "side": shown(side, r[side]) if side else None}
                        for r in api["rows"]]
            assert rows == expected, (dimension, api)
            if not api["rows"]:
                assert section.locator(".empty").count() == 1, dimension
            checked.append((dimension, len(rows)))
    assert len(checked) == 16
    # the data of day D has rows in these, worked out in test_reports.py
    assert dict(checked)["page"] == 3 and dict(checked)["source"] == 3
    assert dict(checked)["goal"] == 2 and dict(checked)[f"prop:{PROP_KEY}"] == 1
    t.screenshot("numbers-cards-1280-light")
    assert t.script_errors() == []


def test_clicking_a_page_row_filters_everything(tabs, board):
    t, page = signed_in(tabs, board)
    page.goto(board.base + view(board.k, board.d, board.d))
    pages = page.locator("section[data-card='pages']")
    page.wait_for_selector("section[data-card='pages'][data-loaded='true']")
    pages.get_by_role("button", name="/pricing", exact=True).click()
    assert parse_qs(urlsplit(page.url).query)["f"] == ["page|is|/pricing"]
    page.wait_for_function("() => document.querySelector('.chip') && "
                           "document.querySelector('.stats').dataset.loaded === 'true'")
    assert page.locator(".chip").inner_text().replace("\n", " ").strip() == \
        "Page is /pricing"
    query = custom(board.k, board.d, board.d,
                   filters=[{"dimension": "page", "op": "is", "value": "/pricing"}])
    status, found = board.report("aggregate", {**query, "metrics": STAT_METRICS})
    if status == 200:
        row = stats_match_the_api(page, board, query)
        # /pricing on day D: v1 and v3 (test_reports.py)
        assert row["visitors"] == 2 and row["pageviews"] == 2
    else:  # the totals need the raw events: the page says so instead of numbers
        assert (status, found["title"]) == (400, "needs_adhoc_job")
        assert "raw events" in page.locator(".stats-wrap .alert").inner_text()
    # the pages card itself shows the filtered breakdown, its row no longer a button
    page.wait_for_selector("section[data-card='pages'][data-loaded='true']")
    api = board.answer("breakdown", {**query, "dimensions": ["page"], "metrics": ["visitors"],
                                     "limit": TOP})
    assert [(r["label"], r["visitors"]) for r in card_rows(pages)] == [
        (r["page"], shown("visitors", r["visitors"])) for r in api["rows"]]
    assert pages.locator("button.row-label").count() == 0
    t.screenshot("numbers-filtered-1280-light")
    assert t.script_errors() == []


@pytest.mark.parametrize("width", [1280, 1024, 375])
def test_comparison_deltas_are_the_apis_two_answers(tabs, board, width):
    """Site S, the day its clocks went back against the day before (both closed)."""
    t, page = signed_in(tabs, board, width=width)
    f = board.dst_day
    page.goto(board.base + view(board.s, f, f, "&compare=previous"))
    stats_loaded(page)
    now = stats_match_the_api(page, board, custom(board.s, f, f))
    before = board.answer("aggregate", {**custom(board.s, f - timedelta(days=1),
                                                 f - timedelta(days=1)),
                                        "metrics": STAT_METRICS})["rows"][0]
    stats = top_stats(page)
    for metric in STAT_METRICS:
        shown_stat = stats[STAT_LABELS[metric]]
        expected = change(metric, now[metric], before[metric])
        if expected is None:
            assert (shown_stat["delta"], shown_stat["sub"]) == (None, "no comparison"), metric
        else:
            assert (shown_stat["delta"], shown_stat["cls"]) == expected, metric
    # the hand-worked numbers: 4 visitors against 1
    assert (now["visitors"], before["visitors"]) == (4, 1)
    assert (stats["UNIQUE VISITORS"]["delta"], stats["UNIQUE VISITORS"]["cls"]) == \
        ("300%", "good")
    assert labels_that_do_not_fit(page) == []
    # the chart draws the comparison too
    page.wait_for_selector(".chart-area[data-loaded='true'] .legend .swatch.compare")
    t.screenshot(f"numbers-compare-{width}-light")
    assert t.script_errors() == []


def test_realtime_shows_an_event_posted_now(tabs, board, read_api):
    config = read_api.config
    write = WriteService(config).start()
    job = SpeedLayerJob(config)
    try:
        job.start()
        t, page = signed_in(tabs, board)
        page.goto(f"{board.base}/dashboard/{board.k}/realtime")
        page.get_by_text("Pageviews per minute").wait_for()
        path = f"/live-{board.run}"
        post(write.base, [{"site_id": board.k, "kind": "pageview", "url": KURL + path}],
             ("203.0.113.66", CHROME_UA))
        pages = page.locator("section[aria-label='Top pages']")
        pages.get_by_text(path, exact=True).wait_for(timeout=90_000)
        # the page's totals are the API's (asked again until both agree: the page polls
        # every 5 s and the oldest minute may leave the window meanwhile)
        deadline = time.monotonic() + 20
        while True:
            api = board.realtime(board.k)
            values = page.locator(".stat-value").all_inner_texts()
            if values == [shown("visitors", api["visitors"]), shown("pageviews",
                                                                     api["pageviews"]),
                          shown("events", api["events"])] or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert values == [shown("visitors", api["visitors"]),
                          shown("pageviews", api["pageviews"]), shown("events", api["events"])]
        assert {"page": path, "visitors": 1, "pageviews": 1} in api["pages"]
        row = pages.locator(".list-row", has_text=path)
        assert row.locator("[role=cell].num").all_inner_texts() == ["1", "1"]
        t.screenshot("numbers-realtime-1280-light")
        assert t.script_errors() == []
    finally:
        job.stop()
        write.stop()


def test_a_change_without_the_csrf_token_is_refused(tabs, board):
    t, page = signed_in(tabs, board)
    path = f"/api/v1/sites/{board.k}/shared-links"
    answer = page.evaluate("""async (path) => {
        const r = await fetch(path, {method: 'POST', body: JSON.stringify({label: 'x'}),
                                     headers: {'Content-Type': 'application/json'}})
        return {status: r.status, body: await r.json()}
    }""", path)
    assert answer["status"] == 403 and answer["body"]["title"] == "csrf_failed"
    outside = page.request.post(board.base + path, data={"label": "x"})
    assert outside.status == 403 and outside.json()["title"] == "csrf_failed"
    # the same request with the session's token goes through (then the link is revoked)
    made = page.evaluate("""async (path) => {
        const me = await (await fetch('/api/v1/auth/me')).json()
        const r = await fetch(path, {method: 'POST', body: JSON.stringify({label: 'csrf'}),
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token}})
        const link = await r.json()
        const gone = await fetch(path + '/' + link.link_id, {method: 'DELETE',
            headers: {'X-CSRF-Token': me.csrf_token}})
        return [r.status, gone.status]
    }""", path)
    assert made == [201, 204]


def forget_failures(cql, key: str, start: datetime, end: datetime) -> None:
    """Remove the failed logins this test made from a throttle key shared with others."""
    cql.execute("DELETE FROM login_failures WHERE throttle_key = %s AND failed_at >= %s "
                "AND failed_at <= %s", (key, start, end))


def test_wrong_passwords_then_the_throttle(tabs, board, read_api, cql):
    limit = read_api.config.login_max_failures
    t = tabs(board.base)
    started = datetime.now(UTC) - timedelta(seconds=1)
    try:
        page = t.sign_in(board.locked, "not the password")
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert alert.inner_text() == "Wrong email or password."
        t.screenshot("numbers-login-wrong-password-1280-light")
        for _ in range(limit - 1):
            with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login")) as got:
                page.get_by_role("button", name="Sign in").click()
            assert got.value.status == 401
        with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login")) as got:
            page.get_by_role("button", name="Sign in").click()
        answer = got.value
        assert answer.status == 429 and answer.json()["title"] == "too_many_attempts"
        retry = int(answer.headers["retry-after"])
        assert read_api.config.login_window_s - 60 < retry <= read_api.config.login_window_s
        page.wait_for_function("() => document.querySelector('[role=alert]')"
                               ".textContent.startsWith('Too many')")
        text = alert.inner_text()
        wait = re.fullmatch(r"Too many sign-in attempts\. Try again in (\d+) min (\d\d) s\.",
                            text)
        assert wait, text
        assert retry - 5 <= int(wait[1]) * 60 + int(wait[2]) <= retry
        button = page.locator("form.login button[type=submit]")
        assert button.is_disabled() and button.inner_text().startswith("Wait ")
        t.screenshot("numbers-login-throttled-1280-light")
        # while throttled even the right password is not checked
        status, _, body = http("POST", f"{board.base}/api/v1/auth/login",
                               json.dumps({"email": board.locked, "password": PASSWORD}),
                               {"Content-Type": "application/json"})
        assert status == 429, body
    finally:
        ended = datetime.now(UTC) + timedelta(seconds=1)
        forget_failures(cql, "client:127.0.0.1", started, ended)
        forget_failures(cql, f"account:{board.locked}", started, ended)


def test_a_shared_link_reads_only_and_a_revoked_one_is_gone(tabs, board):
    t, page = signed_in(tabs, board)
    page.goto(f"{board.base}/dashboard/{board.k}/settings")
    label = f"Board {board.run}"
    page.get_by_placeholder("Label, e.g. Investors").fill(label)
    page.get_by_role("button", name="Create link").click()
    url = page.locator(".made-link code").inner_text()
    assert re.fullmatch(rf"{re.escape(board.base)}/share/\S+", url)
    secret = url.rsplit("/share/", 1)[1]
    t.screenshot("numbers-settings-1280-light")

    visitor = tabs(board.base)
    shared = visitor.goto(url[len(board.base):] + f"?period=custom&from={board.d}"
                                                  f"&to={board.d}")
    stats_loaded(shared)
    stats_match_the_api(shared, board, custom(board.k, board.d, board.d))
    assert shared.get_by_role("link", name="Settings").count() == 0
    me = shared.evaluate("async (secret) => (await fetch('/api/v1/auth/me', "
                         "{headers: {'X-Share-Token': secret}})).json()", secret)
    assert me["share"]["site_id"] == board.k and "user" not in me
    refused = shared.evaluate("""async ([site, secret]) => {
        const answers = []
        for (const [method, path, body] of [
            ['POST', `/api/v1/sites/${site}/shared-links`, {label: 'mine now'}],
            ['PATCH', `/api/v1/sites/${site}/settings`, {domain: 'evil.example'}],
            ['POST', '/api/v1/auth/logout', {}]]) {
          const r = await fetch(path, {method, body: JSON.stringify(body),
              headers: {'Content-Type': 'application/json', 'X-Share-Token': secret}})
          answers.push([r.status, (await r.json().catch(() => ({}))).title || null])
        }
        return answers
    }""", [board.k, secret])
    assert refused[:2] == [[403, "forbidden"], [403, "forbidden"]]
    assert refused[2][0] in (204, 403)  # logout is public: it has no session to end
    visitor.screenshot("numbers-share-1280-light")
    assert visitor.script_errors() == []

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name=f"Revoke link {label}").click()
    page.wait_for_function("() => !document.querySelector('.made-link')")
    gone = tabs(board.base)
    gone.goto(url[len(board.base):]).get_by_text("This link is no longer available").wait_for()
    gone.screenshot("numbers-share-revoked-1280-light")
    status, _, body = http("GET", f"{board.base}/api/v1/share/{secret}")
    assert status == 404 and json.loads(body)["title"] == "unknown_link"
    status, _, _ = http("GET", f"{board.base}/api/v1/realtime?site_id={board.k}",
                        headers={"X-Share-Token": secret})
    assert status == 404

