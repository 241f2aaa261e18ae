"""The built tracker (tracker/dist/sl.js) in real headless Chromium sends the event contract.

A small HTTP server made here serves the demo page at ``/``, the built script at
``/js/sl.js`` and records what the tracker POSTs. Chromium maps every ``*.test`` host to
127.0.0.1, so the same server also plays a real (non-localhost, non-secure) site
``shop.test`` and a separate stats host ``stats.test``. Every recorded event is validated
against analytics/schemas/event/1-0-0.json, and no page may log a console error.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TRACKER_JS = ROOT / "tracker" / "dist" / "sl.js"
DEMO_HTML = (ROOT / "tracker" / "demo" / "index.html").read_text()
SCHEMA = json.loads((ROOT / "analytics" / "schemas" / "event" / "1-0-0.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               "--host-resolver-rules=MAP *.test 127.0.0.1"]
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
CONTEXT = {"user_agent": USER_AGENT, "locale": "de-DE", "timezone_id": "Australia/Adelaide",
           "screen": {"width": 1440, "height": 900}, "viewport": {"width": 1280, "height": 720}}
SCRIPT_TAG = ('<script defer data-site="demo.local" data-track-localhost="true" '
              'src="/js/sl.js"></script>')
QUEUE_STUB_END = "push(arguments) }\n  </script>"
# what the demo page sends besides url/referrer/utm_*, from the context above
PAGE_CONTEXT = {"site_id": "demo.local", "title": "sitelens demo", "screen_width": 1440,
                "screen_height": 900, "language": "de-DE", "time_zone": "Australia/Adelaide"}
KIND_ORDER = {"engagement": 0, "pageview": 1, "custom": 2}
HIDE_JS = """state => {
  const before = Date.now()
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state})
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => state === 'hidden'})
  document.dispatchEvent(new Event('visibilitychange'))
  return before
}"""


@dataclass(frozen=True)
class Request:
    method: str
    host: str
    path: str
    content_type: str
    body: object


class Site(ThreadingHTTPServer):
    """Serves pages and the tracker; records POSTs (beacons) and OPTIONS (preflights)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port = self.server_address[1]
        self.pages: dict[str, str] = {"/": DEMO_HTML}
        self._requests: list[Request] = []
        self._lock = threading.Lock()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def events(self) -> list[dict]:
        """Every event received so far, in the order they happened on the client."""
        events = []
        for request in self.requests():
            if request.method == "POST":
                events.extend(request.body if isinstance(request.body, list) else [request.body])
        for event in events:
            VALIDATOR.validate(event)
        return sorted(events, key=lambda e: (e["created_at"], KIND_ORDER[e["kind"]],
                                             e.get("name", "")))

    def expect(self, count: int, timeout: float = 10.0) -> list[dict]:
        """Wait for `count` events, then a little longer so that extra ones show up too."""
        deadline = time.monotonic() + timeout
        while len(self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.4)
        return self.events()

    def clear(self) -> None:
        """Forget what was recorded, once nothing has arrived for a moment."""
        seen = -1
        while seen != len(self.requests()):
            seen = len(self.requests())
            time.sleep(0.3)
        with self._lock:
            self._requests.clear()


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/js/sl.js":
            self._answer(200, TRACKER_JS.read_bytes(), "text/javascript")
        elif path in self.server.pages:
            self._answer(200, self.server.pages[path].encode(), "text/html; charset=utf-8")
        else:
            self._answer(204 if path == "/favicon.ico" else 404, b"", "text/plain")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._record(json.loads(body))
        self._answer(202, b"", "text/plain")

    def do_OPTIONS(self) -> None:
        self._record(None)
        self._answer(204, b"", "text/plain")

    def _record(self, body: object) -> None:
        self.server.record(Request(self.command, self.headers.get("Host", ""),
                                   urlsplit(self.path).path,
                                   self.headers.get("Content-Type", ""), body))

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: object) -> None:
        pass


def variant(*replacements: tuple[str, str]) -> str:
    """The demo page with parts replaced (each part must be there)."""
    html = DEMO_HTML
    for old, new in replacements:
        assert old in html, old
        html = html.replace(old, new)
    return html


def script_tag(**attributes: str) -> tuple[str, str]:
    """A replacement of the demo's script tag by one with these data-* attributes and src."""
    src = attributes.pop("src", "/js/sl.js")
    data = " ".join(f'data-{name.replace("_", "-")}="{value}"'
                    for name, value in attributes.items())
    return SCRIPT_TAG, f'<script defer {data} src="{src}"></script>'


def check_ids_and_times(event: dict, since_ms: int) -> dict:
    """Check the client-made fields and return the rest of the event for exact comparison."""
    rest = dict(event)
    assert uuid.UUID(rest.pop("event_id")).version == 4
    created, sent = rest.pop("created_at"), rest.pop("sent_at")
    assert since_ms <= created <= sent <= time.time() * 1000 + 1
    return rest


def assert_engagement(ping: dict, started_ms: int, at_least_ms: int) -> None:
    """The ping carries the visible time from `started_ms` (client clock) to the ping."""
    assert ping["kind"] == "engagement"
    assert ping["engagement_ms"] >= at_least_ms
    assert abs(ping["engagement_ms"] - (ping["created_at"] - started_ms)) <= 10


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def site():
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    if not TRACKER_JS.exists():
        pytest.fail("tracker/dist/sl.js is missing: run `npm run build` in tracker/")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(site, browser):
    """Open a URL in a fresh browser context; no page may log a console error."""
    site.clear()
    contexts, errors = [], []

    def _open(url: str, init_script: str | None = None, context=None):
        if context is None:
            context = browser.new_context(**CONTEXT)
            contexts.append(context)
            if init_script:
                context.add_init_script(init_script)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert errors == []
    site.events()  # everything recorded validates against the schema
    site.clear()


def test_pageview_on_load_carries_page_context_and_utm(site, open_page):
    landing = "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale" \
              "&utm_term=analytics&utm_content=hero&utm_id=7&ref=x#top"
    site.pages["/from"] = f'<title>from</title><a id="go" href="{landing}">go</a>'
    start = now_ms()
    page = open_page(site.url("/from"))
    page.click("#go")

    [pageview] = site.expect(1)
    assert check_ids_and_times(pageview, start) == {
        **PAGE_CONTEXT, "kind": "pageview", "url": site.url(landing),
        "referrer": site.url("/from"), "utm_source": "newsletter", "utm_medium": "email",
        "utm_campaign": "spring sale", "utm_term": "analytics", "utm_content": "hero"}
    [request] = site.requests()
    assert (request.method, request.path, request.content_type) == \
        ("POST", "/api/event", "text/plain")


def test_custom_event_with_name_and_props(site, open_page):
    start = now_ms()
    page = open_page(site.url())
    site.expect(1)
    page.click("#signup")
    page.evaluate("sitelens('Download', {props: {file: 'report.pdf'}, callback: 1})")

    pageview, signup, download = site.expect(3)
    common = {**PAGE_CONTEXT, "url": site.url(), "referrer": ""}
    assert check_ids_and_times(pageview, start) == {**common, "kind": "pageview"}
    assert check_ids_and_times(signup, start) == {
        **common, "kind": "custom", "name": "Signup",
        "props": {"plan": "pro", "seats": 3, "trial": True}}
    assert check_ids_and_times(download, start) == {
        **common, "kind": "custom", "name": "Download", "props": {"file": "report.pdf"}}
    assert len({pageview["event_id"], signup["event_id"], download["event_id"]}) == 3


def test_spa_navigation_sends_engagement_then_pageview(site, open_page):
    start = now_ms()
    page = open_page(site.url())
    [home] = site.expect(1)
    time.sleep(0.3)
    page.click("a[href='/pricing']")
    home_left, pricing = site.expect(3)[1:]

    # URL did not change (replace/push of the same path, hash without data-hash): nothing
    page.evaluate("history.replaceState({n: 1}, '', location.href)")
    page.click("a[href='/pricing']")
    page.evaluate("location.hash = 'faq'")
    time.sleep(0.2)
    page.click("a[href='/docs?page=intro']")
    pricing_left, docs = site.expect(5)[3:]
    page.go_back()  # popstate back to /pricing#faq
    docs_left, back = site.expect(7)[5:]

    def view(path: str, referrer: str) -> dict:
        return {**PAGE_CONTEXT, "kind": "pageview", "url": site.url(path), "referrer": referrer}

    assert [check_ids_and_times(e, start) for e in (home, pricing, docs, back)] == [
        view("/", ""),
        view("/pricing", site.url("/")),
        view("/docs?page=intro", site.url("/pricing")),
        view("/pricing#faq", site.url("/docs?page=intro")),
    ]
    assert [e["url"] for e in (home_left, pricing_left, docs_left)] == \
        [site.url("/"), site.url("/pricing"), site.url("/docs?page=intro")]
    assert_engagement(home_left, home["created_at"], 300)
    assert_engagement(pricing_left, pricing["created_at"], 200)
    assert_engagement(docs_left, docs["created_at"], 1)
    assert check_ids_and_times(home_left, start) == {
        **PAGE_CONTEXT, "kind": "engagement", "url": site.url("/"), "referrer": "",
        "engagement_ms": home_left["engagement_ms"]}


def test_hash_changes_are_pageviews_only_with_data_hash(site, open_page):
    site.pages["/hash/"] = variant(script_tag(site="demo.local", track_localhost="true",
                                              hash="true"))
    page = open_page(site.url("/hash/"))
    site.expect(1)
    page.click("a[href='#faq']")
    time.sleep(0.1)
    page.evaluate("location.hash = 'pricing'")

    events = site.expect(5)
    assert [(e["kind"], e["url"], e["referrer"]) for e in events] == [
        ("pageview", site.url("/hash/"), ""),
        ("engagement", site.url("/hash/"), ""),
        ("pageview", site.url("/hash/#faq"), site.url("/hash/")),
        ("engagement", site.url("/hash/#faq"), site.url("/hash/")),
        ("pageview", site.url("/hash/#pricing"), site.url("/hash/#faq")),
    ]


def test_engagement_counts_only_visible_time_and_is_sent_once(site, open_page):
    page = open_page(site.url())
    [pageview] = site.expect(1)
    time.sleep(0.3)
    page.evaluate(HIDE_JS, "hidden")
    [first] = site.expect(2)[1:]
    time.sleep(0.4)  # hidden: not counted
    visible_again = page.evaluate(HIDE_JS, "visible")
    time.sleep(0.2)
    page.evaluate(HIDE_JS, "hidden")
    page.evaluate(HIDE_JS, "hidden")  # the same hidden stretch again: no second ping
    page.evaluate("dispatchEvent(new PageTransitionEvent('pagehide'))")  # already sent

    events = site.expect(3)
    assert [e["kind"] for e in events] == ["pageview", "engagement", "engagement"]
    assert_engagement(first, pageview["created_at"], 300)
    assert_engagement(events[2], visible_again, 200)
    assert events[2]["engagement_ms"] < events[2]["created_at"] - first["created_at"] - 350
    assert all(e["url"] == site.url() for e in events)


def test_engagement_ping_when_the_page_is_left_or_closed(site, open_page):
    site.pages["/elsewhere"] = "<title>elsewhere</title><p>no tracker here</p>"
    page = open_page(site.url())
    [pageview] = site.expect(1)
    time.sleep(0.3)
    page.goto(site.url("/elsewhere"))
    pageview, left = site.expect(2)
    assert_engagement(left, pageview["created_at"], 300)
    assert (left["url"], left["title"]) == (site.url(), "sitelens demo")

    page = open_page(site.url("/?closed=1"), context=page.context)
    time.sleep(0.3)
    page.close(run_before_unload=True)
    events = site.expect(4)
    assert [(e["kind"], e["url"]) for e in events[2:]] == \
        [("pageview", site.url("/?closed=1")), ("engagement", site.url("/?closed=1"))]
    assert_engagement(events[3], events[2]["created_at"], 300)


def test_calls_queued_before_the_script_loaded_are_replayed(site, open_page):
    queued = (QUEUE_STUB_END, QUEUE_STUB_END + "\n  <script>sitelens('Queued', {props: "
              "{step: 1}}); sitelens('Queued again')</script>")
    site.pages["/queue"] = variant(queued)
    page = open_page(site.url("/queue"))
    assert page.evaluate("typeof sitelens.q") == "undefined"  # replaced by the tracker

    events = site.expect(3)
    assert [(e["kind"], e.get("name"), e.get("props")) for e in events] == [
        ("pageview", None, None), ("custom", "Queued", {"step": 1}),
        ("custom", "Queued again", None)]
    assert "props" not in events[2]


@pytest.mark.parametrize("signal", ["doNotTrack", "globalPrivacyControl"])
def test_dnt_and_gpc_are_respected_with_data_respect_dnt(site, open_page, signal):
    value = "'1'" if signal == "doNotTrack" else "true"
    init = (f"Object.defineProperty(Navigator.prototype, '{signal}', "
            f"{{configurable: true, get: () => {value}}})")
    site.pages["/dnt"] = variant(script_tag(site="demo.local", track_localhost="true",
                                            respect_dnt="true"))
    page = open_page(site.url("/dnt"), init_script=init)
    page.click("#signup")
    page.evaluate("sitelens('Called'); history.pushState({}, '', '/other')")
    page.evaluate(HIDE_JS, "hidden")
    assert site.expect(1, timeout=1) == []

    # the signal alone does nothing: the site must ask for it with data-respect-dnt
    page = open_page(site.url("/"), context=page.context)
    assert page.evaluate(f"navigator.{signal}") in ("1", True)
    assert [e["kind"] for e in site.expect(1)] == ["pageview"]


def test_no_client_id_or_storage_unless_the_site_opts_in(site, open_page):
    page = open_page(site.url())
    page.click("#signup")
    events = site.expect(2)
    assert [e["kind"] for e in events] == ["pageview", "custom"]
    assert all("client_id" not in e for e in events)
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []

    site.clear()
    site.pages["/id"] = variant(script_tag(site="demo.local", track_localhost="true",
                                           client_id="true"))
    page = open_page(site.url("/id"))
    page.reload()
    events = site.expect(2)
    client_ids = {e["client_id"] for e in events}
    assert len(client_ids) == 1
    [client_id] = client_ids
    assert uuid.UUID(client_id).version == 4
    assert page.evaluate("localStorage.sl_id") == client_id
    assert page.context.cookies() == []


def test_localhost_is_ignored_unless_data_track_localhost(site, open_page):
    site.pages["/plain"] = variant(script_tag(site="demo.local"))
    for host in ("127.0.0.1", "localhost"):
        page = open_page(site.url("/plain", host))
        page.click("#signup")  # the function exists and does nothing
    assert site.expect(1, timeout=1) == []

    # a real (non-secure) site is tracked without the attribute; crypto.randomUUID is
    # missing there, so event_id comes from the fallback
    page = open_page(site.url("/plain", "shop.test"))
    assert page.evaluate("typeof crypto.randomUUID") == "undefined"
    [pageview] = site.expect(1)
    assert (pageview["url"], pageview["site_id"]) == (site.url("/plain", "shop.test"),
                                                      "demo.local")
    assert uuid.UUID(pageview["event_id"]).version == 4


def test_api_defaults_to_the_script_origin_and_data_api_overrides_it(site, open_page):
    stats_js = site.url("/js/sl.js", "stats.test")
    site.pages["/remote"] = variant(script_tag(site="shop.test", src=stats_js))
    site.pages["/first-party"] = variant(script_tag(site="shop.test", api="/p/e"))
    open_page(site.url("/remote", "shop.test"))
    open_page(site.url("/first-party", "shop.test"))
    site.expect(2)
    requests = sorted(site.requests(), key=lambda r: r.host)
    assert [(r.method, r.host, r.path, r.content_type) for r in requests] == [
        ("POST", f"shop.test:{site.port}", "/p/e", "text/plain"),
        ("POST", f"stats.test:{site.port}", "/api/event", "text/plain"),  # no preflight
    ]
    assert {r.body["url"] for r in requests} == {site.url("/remote", "shop.test"),
                                                 site.url("/first-party", "shop.test")}
