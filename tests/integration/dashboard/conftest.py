"""The dashboard against the real read service (gunicorn, Cassandra's test keyspace) in
Debian's Chromium driven by Playwright. The fixture builds the dashboard the way
``make setup`` does (``stack.frontend``), makes two sites and two people (an admin of
both, a viewer of one) and starts a read service of its own."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.config import REPO_ROOT, Config
from analytics.sites import Site, SiteRepository
from tests.integration.services import CHROME_UA, ReadService, http

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO_ROOT / ".state" / "screenshots"
AXE = REPO_ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"


@dataclass
class Dashboard:
    base: str
    config: Config
    site: Site
    other: Site
    admin: str
    viewer: str

    def get(self, path: str, headers: dict | None = None):
        return http("GET", self.base + path, headers=headers)

    def api(self, method: str, path: str, cookie: str, body=None, csrf: str | None = None):
        headers = {"Cookie": cookie, "Content-Type": "application/json"}
        if csrf:
            headers["X-CSRF-Token"] = csrf
        status, _, raw = http(method, self.base + path, json.dumps(body) if body else None,
                              headers)
        return status, json.loads(raw) if raw else None


@pytest.fixture(scope="session")
def dashboard(stack, cql, tmp_path_factory):
    from api.manage_users import accounts_of
    from stack.frontend import build_dashboard

    build_dashboard()
    # 18291 beside the default ports; a stack on other ports (ANALYTICS_READ_API_PORT)
    # moves it along, so a second test run on those ports does not collide with the first
    config = stack.replace(state_dir=tmp_path_factory.mktemp("dashboard") / "state",
                           read_api_port=stack.read_api_port + 10_290, site_cache_ttl_s=1.0)
    run = uuid.uuid4().hex[:6]
    site = Site(site_id=f"dash-{run}.test", domain=f"dash-{run}.example",
                timezone="Asia/Kathmandu", goals=frozenset({"signup", "/pricing"}))
    other = Site(site_id=f"dash2-{run}.test", domain=f"shop-{run}.example",
                 timezone="America/New_York")
    for s in (site, other):
        SiteRepository(cql).save(s)
    accounts = accounts_of(config, cql)
    now = datetime.now(UTC)
    admin, viewer = f"admin-{run}@example.com", f"viewer-{run}@example.com"
    for email in (admin, viewer):
        accounts.create_user(email, PASSWORD, now)
    accounts.grant(admin, site.site_id, "admin", now)
    accounts.grant(admin, other.site_id, "admin", now)
    accounts.grant(viewer, site.site_id, "viewer", now)
    read = ReadService(config).start()
    try:
        yield Dashboard(base=read.base, config=config, site=site, other=other, admin=admin,
                        viewer=viewer)
    finally:
        read.stop()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module: Playwright's sync API runs an event loop while it is
    open, and other modules' own sync_playwright() refuse to start inside it."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A page in a fresh browser context (a desktop user agent: HeadlessChrome is a bot),
    with the console errors it logged (CSP violations among them)."""

    def __init__(self, browser, base: str, width: int = 1280, scheme: str = "light",
                 bypass_csp: bool = False, *, height: int = 900):
        self.base = base
        self.context = browser.new_context(
            user_agent=CHROME_UA, viewport={"width": width, "height": height},
            color_scheme=scheme, locale="en-GB", bypass_csp=bypass_csp)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def goto(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def sign_in(self, email: str, password: str = PASSWORD):
        page = self.goto("/dashboard/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        return page

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def script_errors(self) -> list[str]:
        """Errors other than an API answer of 4xx the page expects and shows (401 before
        signing in, 400 needs_adhoc_job): exceptions and CSP violations."""
        return [e for e in self.errors if not e.startswith("Failed to load resource")]

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]

    def serious_axe_violations(self) -> list[dict]:
        """axe-core's serious and critical findings (the context must bypass the CSP to
        inject it)."""
        self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate("async () => (await axe.run(document, {resultTypes: "
                                   "['violations']})).violations.map(v => ({id: v.id, "
                                   "impact: v.impact, nodes: v.nodes.map(n => n.target)}))")
        return [v for v in found if v["impact"] in ("serious", "critical")]

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, dashboard):
    opened: list[Tab] = []

    def make(**kwargs) -> Tab:
        t = Tab(browser, dashboard.base, **kwargs)
        opened.append(t)
        return t

    yield make
    for t in opened:
        t.close()
