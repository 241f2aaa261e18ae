"""The Tableau web data connector page in real headless Chromium against the read service,
with a stand-in for Tableau's WDC library (tableau_standin.js) that drives the connector
as Tableau does; and the ``.hyper`` extract downloaded over HTTP.

Both are checked against the read API's own JSON exports of the same days."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from api.read.tables import TABLES
from tests.integration.services import CHROME_UA, http
from tests.integration.write.test_tracker_e2e import CHROMIUM, LAUNCH_ARGS

pytestmark = pytest.mark.integration

WDC_LIBRARY = "https://connectors.tableau.com/libs/tableauwdc-2.3.latest.js"
STANDIN = Path(__file__).with_name("tableau_standin.js")
DAY_TABLES = [t.id for t in TABLES.values() if t.incremental_column]


def get_json(read_api, path: str, token: str | None = None, **params) -> tuple[int, dict]:
    url = f"{read_api.base}{path}" + (f"?{urlencode(params)}" if params else "")
    status, _, body = http("GET", url,
                           headers={"Authorization": f"Bearer {token or read_api.token}"})
    return status, json.loads(body)


def export_rows(read_api, table: str, start: date | str, end: date | str) -> list[dict]:
    status, body = get_json(read_api, f"/api/v1/export/{table}", site_id=read_api.site_id,
                            start=str(start), end=str(end))
    assert status == 200, body
    return body["rows"]


def saved_connection(read_api, start: date, end: date) -> str:
    return json.dumps({"serviceUrl": read_api.base, "siteId": read_api.site_id,
                       "start": start.isoformat(), "end": end.isoformat(), "rolling": False})


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


class ConnectorPage:
    """The connector page in its own browser context, and what it asked the API for."""

    def __init__(self, page):
        self.page = page
        self.exports: list[dict] = []  # query of every export request the page made
        self.errors: list[str] = []
        self.elsewhere: list[str] = []

    def finished(self) -> dict:
        self.page.wait_for_function("() => window.__tableau.done", timeout=60_000)
        return self.page.evaluate("() => window.__tableau")


@contextmanager
def connector_page(browser, read_api, tableau_config: dict | None = None):
    """Open the page as Tableau would; ``tableau_config`` is the stand-in's (phase, saved
    connection, password, increment values)."""
    context = browser.new_context(user_agent=CHROME_UA, locale="en-GB")
    page = context.new_page()
    connector = ConnectorPage(page)
    page.on("console", lambda m: m.type == "error" and connector.errors.append(m.text))
    page.on("pageerror", lambda e: connector.errors.append(str(e)))

    def on_request(request):
        url = urlsplit(request.url)
        if url.path.startswith("/api/v1/export/") and url.path != "/api/v1/export/tables":
            connector.exports.append({"table": url.path.rsplit("/", 1)[1],
                                      **{k: v[0] for k, v in parse_qs(url.query).items()}})

    def on_route(route):
        # Tableau's library comes from the stand-in; nothing else may go to other hosts
        if route.request.url == WDC_LIBRARY:
            route.fulfill(path=STANDIN, content_type="application/javascript")
        elif route.request.url.startswith(read_api.base + "/"):
            route.continue_()
        else:
            connector.elsewhere.append(route.request.url)
            route.abort()

    page.on("request", on_request)
    page.route("**/*", on_route)
    page.add_init_script(f"window.__tableauConfig = {json.dumps(tableau_config or {})};")
    page.goto(f"{read_api.base}/tableau")
    page.wait_for_function("() => window.__tableau.phases.length > 0")  # init has run
    try:
        yield connector
    finally:
        context.close()
    assert connector.elsewhere == []


def test_an_analyst_connects_and_tableau_gets_the_schema_and_every_day(browser, read_api):
    first, last = read_api.day_range
    with connector_page(browser, read_api) as connector:
        page = connector.page
        yesterday = date.today() - timedelta(days=1)
        assert page.input_value("#service-url") == read_api.base
        assert (page.input_value("#start"), page.input_value("#end")) == (
            (yesterday - timedelta(days=29)).isoformat(), yesterday.isoformat())

        page.fill("#token", read_api.token)
        page.click("#load-sites")
        page.wait_for_selector(f"#site option[value='{read_api.site_id}']", state="attached")
        page.select_option("#site", read_api.site_id)
        page.uncheck("#rolling")
        page.fill("#start", first.isoformat())
        page.fill("#end", last.isoformat())
        page.click("#submit")
        tableau = connector.finished()

    assert (tableau["errors"], tableau["misuse"], connector.errors) == ([], [], [])
    assert tableau["phases"] == ["interactive", "gatherData"]
    submitted = tableau["submitted"]
    assert (submitted["password"], submitted["authType"]) == (read_api.token, "custom")
    assert json.loads(submitted["connectionData"]) == json.loads(
        saved_connection(read_api, first, last))

    status, body = get_json(read_api, "/api/v1/export/tables")
    assert status == 200
    assert [(t["id"], t["alias"], t.get("incrementColumnId"),
             [(c["id"], c["dataType"]) for c in t["columns"]]) for t in tableau["schema"]] == [
        (t["id"], t["alias"], t["incremental_column"],
         [(c["id"], c["type"]) for c in t["columns"]]) for t in body["tables"]]

    for table in DAY_TABLES:
        assert tableau["data"][table] == export_rows(read_api, table, first, last), table
    assert sorted(connector.exports, key=lambda e: e["table"]) == sorted(
        [{"table": t, "site_id": read_api.site_id, "start": first.isoformat(),
          "end": last.isoformat()} for t in DAY_TABLES]
        + [{"table": "realtime", "site_id": read_api.site_id}], key=lambda e: e["table"])
    assert set(tableau["data"]) == set(TABLES)


def test_a_long_range_is_asked_for_a_year_at_a_time(browser, read_api):
    first, last = read_api.day_range[1] - timedelta(days=400), read_api.day_range[1]
    config = {"phase": "gatherData", "connectionData": saved_connection(read_api, first, last),
              "password": read_api.token}
    with connector_page(browser, read_api, config) as connector:
        tableau = connector.finished()

    assert (tableau["errors"], tableau["misuse"], connector.errors) == ([], [], [])
    split = first + timedelta(days=365)
    assert sorted((e["table"], e["start"], e["end"])
                  for e in connector.exports if e["table"] in DAY_TABLES) == sorted(
        [(t, first.isoformat(), split.isoformat()) for t in DAY_TABLES]
        + [(t, (split + timedelta(days=1)).isoformat(), last.isoformat()) for t in DAY_TABLES])
    for table in DAY_TABLES:
        assert tableau["data"][table] == export_rows(read_api, table, first, last), table


@pytest.mark.parametrize("increment", ["the day before", "the first day", "the last day"])
def test_an_incremental_refresh_asks_for_and_appends_only_later_days(browser, read_api,
                                                                     increment):
    first, last = read_api.day_range
    last_value = {"the day before": first - timedelta(days=1), "the first day": first,
                  "the last day": last}[increment]
    config = {"phase": "gatherData", "connectionData": saved_connection(read_api, first, last),
              "password": read_api.token,
              "incrementValues": {t: last_value.isoformat() for t in DAY_TABLES}}
    with connector_page(browser, read_api, config) as connector:
        tableau = connector.finished()

    assert (tableau["errors"], tableau["misuse"], connector.errors) == ([], [], [])
    after = last_value + timedelta(days=1)
    asked = sorted((e["table"], e["start"], e["end"])
                   for e in connector.exports if e["table"] in DAY_TABLES)
    if after > last:  # nothing can be newer: nothing asked, nothing appended
        assert asked == []
        assert [tableau["data"][t] for t in DAY_TABLES] == [[] for _ in DAY_TABLES]
        return
    assert asked == sorted((t, after.isoformat(), last.isoformat()) for t in DAY_TABLES)
    for table in DAY_TABLES:
        assert tableau["data"][table] == export_rows(read_api, table, after, last), table
    assert tableau["data"]["daily_stats"] != []


def test_a_rolling_connection_reaches_the_latest_complete_day(browser, read_api):
    first = read_api.day_range[0]
    # no site's complete day is later than tomorrow in the browser's (the machine's) zone
    tomorrow = date.today() + timedelta(days=1)
    saved = {**json.loads(saved_connection(read_api, first, first)), "rolling": True}
    config = {"phase": "gatherData", "connectionData": json.dumps(saved),
              "password": read_api.token}
    with connector_page(browser, read_api, config) as connector:
        tableau = connector.finished()

    assert (tableau["errors"], tableau["misuse"], connector.errors) == ([], [], [])
    assert sorted((e["table"], e["start"], e["end"])
                  for e in connector.exports if e["table"] in DAY_TABLES) == sorted(
        (t, first.isoformat(), tomorrow.isoformat()) for t in DAY_TABLES)
    for table in DAY_TABLES:
        assert tableau["data"][table] == export_rows(read_api, table, first, tomorrow), table


def test_a_wrong_token_aborts_the_refresh_with_the_api_reason(browser, read_api):
    first, last = read_api.day_range
    status, body = get_json(read_api, "/api/v1/export/tables", token="not-a-token")
    assert status == 401
    config = {"phase": "gatherData", "connectionData": saved_connection(read_api, first, last),
              "password": "not-a-token"}
    with connector_page(browser, read_api, config) as connector:
        tableau = connector.finished()
    assert tableau["errors"] == [f"Sitelens answered 401: {body['description']}"]
    assert tableau["data"] == {}


def test_a_wrong_token_in_the_form_shows_the_api_reason(browser, read_api):
    _, body = get_json(read_api, "/api/v1/sites", token="not-a-token")
    with connector_page(browser, read_api) as connector:
        page = connector.page
        page.fill("#token", "not-a-token")
        page.click("#load-sites")
        page.wait_for_selector("#status.error")
        assert page.text_content("#status") == f"Sitelens answered 401: {body['description']}"
        assert page.evaluate("() => window.__tableau.submitted") is None


def test_reauthentication_asks_for_the_token_only_then_refreshes(browser, read_api):
    first, last = read_api.day_range
    config = {"phase": "auth", "connectionData": saved_connection(read_api, first, last)}
    with connector_page(browser, read_api, config) as connector:
        page = connector.page
        assert page.is_hidden("#service-url") and page.is_hidden("#site")
        assert page.text_content("#submit") == "Sign in"
        page.fill("#token", read_api.token)
        page.click("#submit")
        tableau = connector.finished()
    assert (tableau["errors"], tableau["submitted"]["password"]) == ([], read_api.token)
    assert tableau["data"]["daily_stats"] == export_rows(read_api, "daily_stats", first, last)


def test_the_hyper_extract_holds_the_json_exports(read_api, tmp_path):
    from tableauhyperapi import Connection, Date, TableName

    from api.read.extract import hyper_process

    first, last = read_api.day_range
    query = urlencode({"site_id": read_api.site_id, "start": first, "end": last,
                       "tables": "daily_stats,pages"})
    status, headers, body = http("GET", f"{read_api.base}/api/v1/extract.hyper?{query}",
                                 headers={"Authorization": f"Bearer {read_api.token}"})
    assert status == 200, body[:500]
    assert headers["content-type"] == "application/vnd.tableau.hyper"
    assert headers["content-disposition"].startswith("attachment")
    path = tmp_path / "sitelens.hyper"
    path.write_bytes(body)

    with hyper_process() as hyper, Connection(hyper.endpoint, str(path)) as connection:
        assert sorted(t.name.unescaped for t in connection.catalog.get_table_names("Extract")) == [
            "daily_stats", "pages"]
        for table in ("daily_stats", "pages"):
            got = connection.execute_list_query(f"SELECT * FROM {TableName('Extract', table)}")
            got = [[v.to_date().isoformat() if isinstance(v, Date) else v for v in row]
                   for row in got]
            ids = TABLES[table].column_ids
            expected = [[r[c] for c in ids] for r in export_rows(read_api, table, first, last)]
            assert sorted(got, key=repr) == sorted(expected, key=repr), table
