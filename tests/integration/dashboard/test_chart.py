"""The main chart and the top stats in Chromium: the y axis's round ticks (compact: 1.2k,
3.4M) with a gridline each, x labels that fit for hours, days, weeks and months, weeks that
start on Monday as the read API's buckets do, and the note on session metrics while a page
filter is on. Screenshots of the demo site's main view (tests/integration/dashboard/demo.py)
at 1440 x 900 and 390 x 844, light and dark, land in .state/screenshots/main-*.png."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.integration.dashboard import demo
from tests.integration.dashboard.conftest import SCREENSHOTS

pytestmark = pytest.mark.integration

OCTOBER = "period=custom&from=2026-10-01&to=2026-10-31"


def signed_in(tab, dashboard, **kwargs):
    t = tab(**kwargs)
    page = t.sign_in(dashboard.admin)
    page.wait_for_url(re.compile(r"/dashboard/[^/]+"))
    page.locator(".stat-value").nth(1).wait_for()
    return t, page


def open_view(page, dashboard, query: str) -> None:
    page.goto(f"{dashboard.base}/dashboard/{dashboard.site.site_id}?{query}")
    page.locator(".chart-area[data-loaded='true']").wait_for()
    page.locator(".stats[data-loaded='true']").wait_for()


def everything_loaded(page) -> None:
    page.wait_for_function("() => [...document.querySelectorAll('section.card')]"
                           ".every(c => c.dataset.loaded === 'true') && "
                           "!document.querySelector('.stat.live .stat-value')"
                           ".textContent.includes('…')")


@pytest.mark.parametrize("width,height,scheme", [
    (1440, 900, "light"), (1440, 900, "dark"), (390, 844, "light"), (390, 844, "dark")])
def test_main_view_screenshots(tab, dashboard, width, height, scheme):
    t, page = signed_in(tab, dashboard, width=width, height=height, scheme=scheme)
    demo.serve(page)
    open_view(page, dashboard, OCTOBER)
    everything_loaded(page)
    t.screenshot(f"main-{width}-{scheme}")
    over = page.locator(".chart-area .u-over")
    box = over.bounding_box()
    over.hover(position={"x": box["width"] * 0.42, "y": box["height"] / 2})
    page.locator(".chart-tip").wait_for()
    page.locator(".main-panel").screenshot(
        path=str(SCREENSHOTS / f"main-tooltip-{width}-{scheme}.png"))
    page.goto(f"{dashboard.base}/dashboard/{dashboard.site.site_id}?{OCTOBER}"
              "&f=page|is|/pricing")
    page.locator(".chart-area[data-loaded='true']").wait_for()
    everything_loaded(page)
    t.screenshot(f"main-filtered-{width}-{scheme}")
    assert t.script_errors() == []


# -- the y axis: round ticks, compact labels ----------------------------------------------

def october(values) -> list:
    assert len(values) == 31
    return list(values)


# a known month: visitors peak at 1,180, pageviews at 3.4 million, bounce rate at 47 %,
# visit duration at 3m 07s, views per visit at 2.37, visits at 12
KNOWN = {
    "visitors": october([400 + (i * 37) % 700 for i in range(13)] + [1180]
                        + [400 + (i * 53) % 700 for i in range(17)]),
    "pageviews": october([1_000_000 + i * 50_000 for i in range(30)] + [3_400_000]),
    "bounce_rate": october([0.31 + (i % 17) / 100 for i in range(31)]),
    "visit_duration": october([100 + (i * 29) % 88 for i in range(30)] + [187]),
    "views_per_session": october([1.5 + (i % 10) / 20 for i in range(30)] + [2.37]),
    "sessions": october([i % 13 for i in range(31)]),
}
TICKS_1280 = {  # metric -> y labels of a plot 270 px high (5 intervals at most)
    "visitors": ["0", "250", "500", "750", "1k", "1.25k"],
    "pageviews": ["0", "1M", "2M", "3M", "4M"],
    "bounce_rate": ["0%", "10%", "20%", "30%", "40%", "50%"],
    "visit_duration": ["0s", "1m", "2m", "3m", "4m"],
    "views_per_session": ["0", "0.5", "1", "1.5", "2", "2.5"],
    "sessions": ["0", "5", "10", "15"],
}


def chart_ticks(page) -> tuple[list[str], list[str]]:
    """The labels the chart drew on its x and y axes (uPlot draws on a canvas; the chart
    writes what it drew into data-x-ticks and data-y-ticks)."""
    plot = page.locator(".chart-area[data-loaded='true'] .uplot")
    plot.wait_for()
    found = plot.evaluate("u => [u.dataset.xTicks, u.dataset.yTicks]")
    return json.loads(found[0]), json.loads(found[1])


def test_y_ticks_are_round_and_compact(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    demo.serve(page, KNOWN)
    for metric, expected in TICKS_1280.items():
        open_view(page, dashboard, f"{OCTOBER}&metric={metric}")
        x, y = chart_ticks(page)
        assert y == expected, metric
        # a month by day: a label on every Monday
        assert x == ["5 Oct", "12 Oct", "19 Oct", "26 Oct"], metric
    t.screenshot("chart-known-ticks-1280-light")
    assert t.script_errors() == []


def test_a_phone_gets_fewer_ticks(tab, dashboard):
    t, page = signed_in(tab, dashboard, width=390, height=844)
    demo.serve(page, KNOWN)
    open_view(page, dashboard, OCTOBER)
    x, y = chart_ticks(page)
    assert y == ["0", "500", "1k", "1.5k"]
    assert x == ["5 Oct", "12 Oct", "19 Oct", "26 Oct"]
    assert t.script_errors() == []


def test_a_grid_line_on_each_y_tick(tab, dashboard):
    """A month without visitors: the axis still reads 0 to 4, and the grid colour crosses
    the plot at each tick above 0, evenly spaced (the line itself lies on the 0)."""
    t, page = signed_in(tab, dashboard)
    demo.serve(page, {"visitors": [0] * 31})
    open_view(page, dashboard, OCTOBER)
    assert chart_ticks(page)[1] == ["0", "1", "2", "3", "4"]
    rows = page.locator(".chart-area .uplot canvas").evaluate("""c => {
        const ctx = c.getContext('2d'), w = c.width, h = c.height
        const probe = document.createElement('canvas').getContext('2d')
        probe.fillStyle = getComputedStyle(document.documentElement)
            .getPropertyValue('--chart-grid').trim()
        probe.fillRect(0, 0, 1, 1)
        const [r, g, b] = probe.getImageData(0, 0, 1, 1).data
        const found = []
        for (let y = 0; y < h; y++) {
          const line = ctx.getImageData(0, y, w, 1).data
          let same = 0
          for (let x = 0; x < w; x++) {
            const i = x * 4
            if (Math.abs(line[i] - r) < 4 && Math.abs(line[i + 1] - g) < 4
                && Math.abs(line[i + 2] - b) < 4) same++
          }
          if (same > w / 2) found.push(y)
        }
        return found
    }""")
    lines = [y for i, y in enumerate(rows) if i == 0 or y - rows[i - 1] > 2]
    assert len(lines) == 4, rows
    gaps = {b - a for a, b in zip(lines, lines[1:], strict=False)}
    assert max(gaps) - min(gaps) <= 1, lines
    assert t.script_errors() == []


# -- weeks start on Monday ----------------------------------------------------------------

def test_weeks_start_on_monday_like_the_apis_buckets(tab, dashboard):
    """A range from a Thursday to a Wednesday by week, on the read API's own answer: each
    bucket is named by its Monday (the first one before the range starts), the x labels
    are those Mondays, and the first and last weeks say they are partial."""
    t, page = signed_in(tab, dashboard)
    today = datetime.now(ZoneInfo(dashboard.site.timezone)).date()
    end = today - timedelta(days=7 + (today.weekday() - 2) % 7)  # a Wednesday
    start = end - timedelta(days=7 * 16 - 1)  # a Thursday
    assert (start.weekday(), end.weekday()) == (3, 2)
    with page.expect_response(lambda r: "/reports/timeseries" in r.url
                              and "interval=week" in r.url) as got:
        open_view(page, dashboard, f"period=custom&from={start}&to={end}&interval=week")
    periods = [date.fromisoformat(r["period"]) for r in got.value.json()["rows"]]
    assert periods[0] == start - timedelta(days=3)
    assert periods == [periods[0] + timedelta(weeks=n) for n in range(17)]
    assert {p.weekday() for p in periods} == {0}
    assert page.locator(".segmented .seg.active").inner_text() == "Weeks"

    x, _ = chart_ticks(page)
    names = {}  # "29 Dec" and "29 Dec 2025" (as the browser's en-GB writes them) -> day
    for day, short, full in page.evaluate("""days => days.map(d => [d, ...[
            {day: 'numeric', month: 'short'},
            {day: 'numeric', month: 'short', year: 'numeric'}].map(o =>
            new Intl.DateTimeFormat(undefined, {timeZone: 'UTC', ...o})
                .format(new Date(d + 'T00:00:00Z')))])""", [p.isoformat() for p in periods]):
        names[short] = names[full] = date.fromisoformat(day)
    assert x and all(label in names for label in x), x
    labelled = [names[label] for label in x]
    steps = {(b - a).days for a, b in zip(labelled, labelled[1:], strict=False)}
    assert len(steps) <= 1 and steps <= {7, 14, 28, 56}, x

    # the table the chart reads out: "Week of Mon, 29 Dec 2025", partial weeks said so
    weeks = page.locator(".chart .sr-only tbody th").all_inner_texts()
    assert len(weeks) == 17
    for p, text in zip(periods, weeks, strict=True):
        found = re.fullmatch(r"Week of Mon, (\d{1,2} \w{3,4} \d{4})"
                             r"( \(only \d.+ in the range\))?( \(provisional\))?", text)
        assert found, text
        assert datetime.strptime(found[1].replace("Sept", "Sep"), "%d %b %Y").date() == p
        assert bool(found[2]) == (p in (periods[0], periods[-1])), text
    # and the tooltip of the first week
    over = page.locator(".chart-area .u-over")
    box = over.bounding_box()
    over.hover(position={"x": 2, "y": box["height"] / 2})
    tip = page.locator(".chart-tip")
    tip.wait_for()
    lines = tip.locator(".tip-line").all_inner_texts()
    assert lines[0] == weeks[0].split(" (")[0]
    assert lines[1].startswith("Only ") and lines[1].endswith(" in the range")
    t.screenshot("chart-weeks-1280-light")
    assert t.script_errors() == []


# -- visit metrics under a page filter ----------------------------------------------------

SCOPE = ("Visits, views per visit, bounce rate and visit duration are measured over whole "
         "visits that included /pricing, not over that page alone.")
MISSING = ("The daily views do not split visits by every page they saw, so these are not "
           "available here.")


def scope_marks(page) -> dict:
    """metric -> [has the info mark, its aria-describedby] of each top stat."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '.stat[data-metric]')].map(s => [s.dataset.metric,
        [!!s.querySelector('.stat-info'), s.getAttribute('aria-describedby')]]))""")


def test_the_visit_metrics_say_what_they_cover_under_a_page_filter(tab, dashboard):
    t, page = signed_in(tab, dashboard)
    demo.serve(page)
    unmarked = {m: [False, None] for m in ("visitors", "sessions", "pageviews",
                                           "views_per_session", "bounce_rate",
                                           "visit_duration")}
    for filters in ("", "&f=country|is|DE", "&f=entry_page|is|/pricing"):
        open_view(page, dashboard, OCTOBER + filters)
        assert scope_marks(page) == unmarked, filters
        assert page.locator("#visit-scope").count() == 0, filters

    open_view(page, dashboard, OCTOBER + "&f=page|is|/pricing")
    assert scope_marks(page) == {**unmarked, **{
        m: [True, "visit-scope"] for m in ("sessions", "views_per_session", "bounce_rate",
                                           "visit_duration")}}
    note = page.locator("#visit-scope")
    assert note.is_visible() and note.inner_text() == SCOPE  # the demo has the numbers
    title = page.locator(".stat[data-metric='bounce_rate']").get_attribute("title")
    assert title == SCOPE
    t.screenshot("stats-page-filter-1280-light")
    # removing the filter removes the note
    page.get_by_role("link", name=re.compile("Remove filter")).click()
    page.locator(".stats[data-loaded='true']").wait_for()
    assert page.locator("#visit-scope").count() == 0
    assert t.script_errors() == []


def test_the_read_api_has_no_visit_metrics_for_a_page(tab, dashboard):
    """The real read service: with a page filter the daily views have no visit numbers
    (null), and the note says why instead of leaving four bare dashes."""
    t, page = signed_in(tab, dashboard, width=390, height=844)
    with page.expect_response(lambda r: "/reports/aggregate" in r.url
                              and "filters" in r.url) as got:
        open_view(page, dashboard, "period=7d&f=page|is|/pricing")
    row = got.value.json()["rows"][0]
    assert [row[m] for m in ("sessions", "views_per_session", "bounce_rate",
                             "visit_duration")] == [None] * 4
    assert page.locator("#visit-scope").inner_text() == f"{SCOPE} {MISSING}"
    t.screenshot("stats-page-filter-api-390-light")
    assert t.script_errors() == []


# -- provisional days ------------------------------------------------------------------------

def provisional_rows(page) -> list[int]:
    """The chart's data table: the rows (0: the range's first period) it says are
    provisional."""
    return page.evaluate("""() => [...document.querySelectorAll('.chart-area tbody th')]
        .map((th, i) => th.textContent.endsWith('(provisional)') ? i : -1)
        .filter(i => i >= 0)""")


def test_days_before_the_first_data_are_not_provisional(tab, dashboard):
    """October served by the speed layer from the 20th on; the site's first visitors came
    on the 25th: the 25th to the 31st are provisional (the 27th too, a day without
    visitors after the first), the empty days before are not (no nightly run could
    change them), and a month with no data has no provisional day."""
    t, page = signed_in(tab, dashboard)
    demo.serve(page, {"visitors": [0] * 24 + [5, 9, 0, 7, 12, 3, 8]}, speed_days=12)
    open_view(page, dashboard, OCTOBER)
    assert provisional_rows(page) == list(range(24, 31))
    assert page.locator(".legend", has_text="Provisional (speed layer)").count() == 1
    t.screenshot("chart-first-data-1280-light")

    demo.serve(page, {"visitors": [0] * 31}, speed_days=12)  # the newest route answers
    open_view(page, dashboard, OCTOBER + "&metric=visitors")
    assert provisional_rows(page) == []
    assert page.locator(".legend", has_text="Provisional").count() == 0
    assert t.script_errors() == []
