"""The dashboard in Chromium against the real read service: signing in, the site's
dashboard with every number from the API, the URL as the whole state (deep links, back
button), filters, the "needs a Spark job" state, realtime, settings and shared links,
viewers, light and dark at 1280 and 375 px; no CSP violation and no serious axe-core
finding. Screenshots land in .state/screenshots/.

The sites have no events: the speed layer serves every day of the range, so visitors
and pageviews are 0 and every session metric is "—" with the API's reason, never 0."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.integration


def signed_in(tab, dashboard, who: str | None = None, **kwargs):
    t = tab(**kwargs)
    page = t.sign_in(who or dashboard.admin)
    page.wait_for_url(re.compile(r"/dashboard/[^/]+"))
    page.locator(".stat-value").nth(1).wait_for()
    return t, page


def settled(page) -> None:
    """Until every top stat has its answer."""
    page.wait_for_function("() => [...document.querySelectorAll('.stat-value')]"
                           ".every(e => !e.textContent.includes('…'))")


def top_stats(page) -> dict[str, str]:
    """Label -> shown value (without its note marks)."""
    return page.evaluate("() => Object.fromEntries([...document.querySelectorAll('.stat')]"
                         ".map(s => [s.querySelector('.stat-label').innerText.trim(), "
                         "s.querySelector('.stat-value').firstChild.textContent.trim()]))")


def query_of(page) -> dict:
    return parse_qs(urlsplit(page.url).query)


def test_sign_in_shows_the_reason_of_a_refusal(tab, dashboard):
    t = tab()
    page = t.sign_in(dashboard.admin, "not the password")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == "Wrong email or password."
    t.screenshot("login-wrong-password-1280-light")
    assert t.csp_violations() == []


def test_login_page_has_no_serious_accessibility_issue(tab, dashboard):
    t = tab(bypass_csp=True)
    t.goto("/dashboard/").get_by_label("Email").wait_for()
    assert t.serious_axe_violations() == []


def test_the_dashboard_shows_the_apis_numbers(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    site = dashboard.site
    assert page.url.endswith(f"/dashboard/{site.site_id}")
    settled(page)
    page.locator(".card .list, .card .empty").first.wait_for()
    stats = top_stats(page)
    assert stats["UNIQUE VISITORS"] == "0" and stats["TOTAL PAGEVIEWS"] == "0"
    # no batch day: sessions are not known, so "—" with the API's reason, never 0
    for name in ("TOTAL VISITS", "BOUNCE RATE", "VISIT DURATION", "VIEWS PER VISIT"):
        assert stats[name] == "—", stats
    assert "Sessions are made by the batch layer" in page.locator(".notes").inner_text()
    why = page.locator(".stat", has_text="Total visits").get_attribute("title")
    assert "sessions are made by the batch layer" in why
    assert page.locator("header").get_by_text(site.domain).count() == 1
    assert page.get_by_role("link", name="Settings").count() == 1
    t.screenshot("dashboard-1280-light")
    assert t.script_errors() == []


def test_the_url_holds_the_state_and_back_works(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    site = dashboard.site.site_id
    page.goto(f"{dashboard.base}/dashboard/{site}?period=7d&compare=previous&metric=pageviews"
              "&f=page|is|/pricing")
    page.locator("#chart-title").wait_for()
    assert page.locator("#chart-title").inner_text().startswith("Total pageviews")
    assert page.locator(".picker-label").inner_text() == "Last 7 days"
    assert page.get_by_label("Compare").input_value() == "previous"
    chip = page.locator(".chip")
    assert chip.inner_text().replace("\n", " ").strip() == "Page is /pricing"
    assert page.locator(".stat.selected .stat-label").inner_text() == "TOTAL PAGEVIEWS"
    # a stat chooses the chart's metric; a period from the picker; back undoes each
    page.get_by_role("button", name=re.compile("Unique visitors")).click()
    assert query_of(page).get("metric") is None
    page.locator(".picker-btn").click()
    page.get_by_role("link", name="Today").click()
    assert query_of(page).get("period") is None or query_of(page)["period"] == ["today"]
    assert page.locator(".picker-label").inner_text() == "Today"
    page.go_back()
    page.wait_for_function("() => document.querySelector('.picker-label').textContent "
                           "=== 'Last 7 days'")
    page.go_back()
    page.wait_for_function("() => location.search.includes('metric=pageviews')")
    # removing the chip removes the filter from the URL
    page.get_by_role("link", name=re.compile("Remove filter")).click()
    assert "f" not in query_of(page)
    assert t.csp_violations() == []


def test_a_filter_that_needs_the_raw_events_offers_a_spark_job(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    site = dashboard.site.site_id
    filters = "&f=page|is|/pricing&f=country|is|DE"
    page.goto(f"{dashboard.base}/dashboard/{site}?period=30d{filters}")
    job = page.locator(".job").first
    job.wait_for()
    assert "needs a Spark job" in job.inner_text()
    assert job.get_by_role("button", name="Run Spark job").count() == 1
    # the totals say why instead of showing an error or zeros
    assert "raw events" in page.locator(".stats-wrap .alert").inner_text()
    t.screenshot("dashboard-needs-job-1280-light")


def test_a_row_click_filters_the_whole_dashboard(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    # goals are the site's own: the goals card lists them with a button to filter by each
    goals = page.locator("section", has=page.get_by_role("heading", name="Goal conversions"))
    goals.locator(".list, .empty").first.wait_for()
    rows = goals.locator("button.row-label")
    if rows.count():
        label = rows.first.inner_text()
        rows.first.click()
        assert query_of(page)["f"] == [f"goal|is|{label}"]
        assert page.locator(".chip").count() == 1


def test_realtime_page(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    page.get_by_role("link", name="Realtime").click()
    assert page.url.endswith(f"/dashboard/{dashboard.site.site_id}/realtime")
    page.get_by_text("Pageviews per minute").wait_for()
    page.locator(".plot canvas").wait_for()
    assert page.locator(".stat-value").first.inner_text() == "0"
    t.screenshot("realtime-1280-light")


def test_settings_shared_links_and_share_mode(tab, dashboard, browser):
    t, page = signed_in(tab, dashboard)
    site = dashboard.site
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Domain").wait_for()
    assert page.get_by_label("Domain").input_value() == site.domain
    assert page.get_by_label("Time zone").input_value() == site.timezone
    assert f'data-site="{site.site_id}"' in page.locator("pre.code").inner_text()
    page.get_by_placeholder("Label, e.g. Investors").fill("Board")
    page.get_by_role("button", name="Create link").click()
    url = page.locator(".made-link code").inner_text()
    assert re.fullmatch(rf"{re.escape(dashboard.base)}/share/\S+", url)
    t.screenshot("settings-1280-light")

    visitor = tab(width=375, scheme="dark")
    shared = visitor.goto(url[len(dashboard.base):])
    shared.locator(".stat-value").nth(1).wait_for()
    assert shared.locator("header .site-name").inner_text() == site.domain
    assert shared.get_by_role("link", name="Settings").count() == 0
    settled(shared)
    visitor.screenshot("share-375-dark")
    assert visitor.script_errors() == []

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Revoke link Board").click()
    page.wait_for_function("() => !document.querySelector('.made-link')")
    gone = tab()
    gone.goto(url[len(dashboard.base):]).get_by_text("This link is no longer available") \
        .wait_for()
    gone.screenshot("share-revoked-1280-light")


def test_viewers_have_no_settings(tab, dashboard):
    t, page = signed_in(tab, dashboard, dashboard.viewer)
    assert page.get_by_role("link", name="Settings").count() == 0
    page.goto(f"{dashboard.base}/dashboard/{dashboard.site.site_id}/settings")
    heading = page.get_by_role("heading", name="Only admins can change settings")
    heading.wait_for()
    assert "admin role" in page.locator(".panel.narrow p").inner_text()


@pytest.mark.parametrize("width,scheme", [(1280, "dark"), (375, "light"), (375, "dark")])
def test_dashboard_at_each_width_and_theme(tab, dashboard, width, scheme):
    t, page = signed_in(tab, dashboard, width=width, scheme=scheme, bypass_csp=True)
    page.locator(".card .list, .card .empty").first.wait_for()
    settled(page)
    wider = page.evaluate("() => document.documentElement.scrollWidth > innerWidth + 1 ? "
                          "[...document.querySelectorAll('body *')].filter(e => "
                          "!e.closest('.sr-only') && "
                          "e.getBoundingClientRect().right > innerWidth + 1).slice(0, 5)"
                          ".map(e => e.tagName + '.' + e.className) : []")
    assert wider == [], "the page scrolls sideways"
    t.screenshot(f"dashboard-{width}-{scheme}")
    assert t.serious_axe_violations() == []


def test_the_theme_toggle_is_kept(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    page.get_by_role("button", name="Switch to dark theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.reload()
    page.get_by_role("button", name="Switch to light theme").wait_for()


def test_sign_out_ends_the_session(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.reload()
    page.get_by_role("button", name="Sign in").wait_for()
    status = page.evaluate("async () => (await fetch('/api/v1/auth/me')).status")
    assert status == 401


def stat_labels_that_do_not_fit(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('.stat')].filter(s => {"
                         "const l = s.querySelector('.stat-label');"
                         "const box = s.getBoundingClientRect(), r = l.getBoundingClientRect();"
                         "return l.scrollWidth > l.clientWidth + 1 || r.right > box.right + 0.5"
                         "}).map(s => s.innerText)")


@pytest.mark.parametrize("width", [1280, 1100, 1024, 800, 375])
def test_every_stat_label_fits(tab, dashboard, width):
    t, page = signed_in(tab, dashboard, width=width)
    page.goto(f"{dashboard.base}/dashboard/{dashboard.site.site_id}?compare=previous")
    page.locator(".stats[data-loaded='true']").wait_for()
    assert stat_labels_that_do_not_fit(page) == []
    # a label that wraps moves every value of its row down alike
    tops = page.evaluate("() => [...document.querySelectorAll('.stat')].map(s => "
                         "[s.getBoundingClientRect().top, "
                         "s.querySelector('.stat-value').getBoundingClientRect().top])")
    rows: dict[float, set[float]] = {}
    for stat_top, value_top in tops:
        rows.setdefault(round(stat_top), set()).add(round(value_top))
    assert all(len(values) == 1 for values in rows.values()), tops


@pytest.mark.parametrize("query,offered,chosen", [
    ("period=today", [], "hour"),
    ("period=7d", ["Hours", "Days"], "Days"),
    ("period=30d", ["Hours", "Days", "Weeks"], "Days"),
    ("period=30d&f=page|is|/pricing", ["Days", "Weeks"], "Days"),
    ("period=30d&interval=hour&f=page|is|/pricing", ["Days", "Weeks"], "Days"),
    ("period=custom&from=2026-01-01&to=2026-04-30", ["Days", "Weeks", "Months"], "Weeks"),
    ("period=12mo", ["Days", "Weeks", "Months"], "Months"),
    ("period=12mo&interval=week", ["Days", "Weeks", "Months"], "Weeks"),
])
def test_the_chart_offers_the_intervals_of_the_range(tab, dashboard, query, offered, chosen):
    t, page = signed_in(tab, dashboard)
    intervals: list[str] = []
    page.on("request", lambda r: "/reports/timeseries" in r.url and intervals.append(
        parse_qs(urlsplit(r.url).query)["interval"][0]))
    page.goto(f"{dashboard.base}/dashboard/{dashboard.site.site_id}?{query}")
    page.locator(".chart-area[data-loaded='true']").wait_for()
    segments = page.locator(".segmented .seg")
    assert segments.all_inner_texts() == offered
    if offered:
        assert page.locator(".segmented .seg.active").inner_text() == chosen
    else:
        assert intervals[-1] == chosen
    if len(offered) > 1:
        other = next(o for o in offered if o != chosen)
        segments.filter(has_text=other).click()
        page.locator(".chart-area[data-loaded='true'] .seg.active", has_text=other).wait_for()
        assert intervals[-1] == {"Hours": "hour", "Days": "day", "Weeks": "week",
                                 "Months": "month"}[other]


def test_countries_show_a_code_badge_not_an_emoji_flag(tab, dashboard):
    """Chromium without an emoji font draws flags as empty boxes: the card shows the
    country code as a badge (the breakdown answer is a stand-in: the site has no data)."""
    t, page = signed_in(tab, dashboard)
    rows = [{"country": "DE", "visitors": 5}, {"country": "NP", "visitors": 3},
            {"country": None, "visitors": 1}]
    meta = {"incomplete": [], "total_rows": 3, "next_offset": None,
            "layers": {"batch": [], "speed": []}}

    def answer(route):
        if "dimension=country" in route.request.url:
            route.fulfill(json={"columns": ["country", "visitors"], "rows": rows,
                                "meta": meta})
        else:
            route.fallback()

    page.route(re.compile(r"/api/v1/reports/breakdown\?"), answer)
    page.reload()
    card = page.locator("section[data-card='locations'][data-loaded='true']")
    card.wait_for()
    assert card.locator(".cc").all_inner_texts() == ["DE", "NP"]
    labels = card.locator(".row-label").all_inner_texts()
    assert [label.replace("\n", "") for label in labels] == [
        "DEGermany", "NPNepal", "(not set)"]
    text = page.locator("body").inner_text()
    assert not re.search("[\U0001F1E6-\U0001F1FF]", text), "an emoji flag is shown"
    badge = card.locator(".cc").first.bounding_box()
    assert badge["width"] > 10 and badge["height"] > 10
    t.screenshot("countries-badges-1280-light")
