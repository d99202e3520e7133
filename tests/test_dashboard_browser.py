"""The dashboards in a real browser (Debian's chromium via Playwright) over a demo warehouse built by Dagster runs.

One warehouse and one app server (a thread on 127.0.0.1) per module; one browser for the module.
Screenshots go to test-artifacts/. The browser tests FAIL when chromium is missing (CI installs it)
and skip when IMPACT_SKIP_BROWSER=1. The report tests need no browser, only the warehouse.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from pipelines import warehouse
from pipelines.resources import NewsSourceResource, PriceSourceResource
from pipelines.runner import run_job

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("IMPACT_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TICKERS = ["NVDA", "MSFT", "META", "AVGO", "AMD", "SPY"]
START, END = date(2024, 1, 2), date(2025, 3, 31)
XSS_TITLE = "<script>window.__xss = 1</script> Nvidia <b>headline</b> with markup"
STORY_URL = "https://news.example.com/nvidia-story"
JS_TITLE = "Nvidia story behind a javascript: link"
PAGE_TIMEOUT_MS = 30_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory) -> Path:
    """The demo market for a few tickers, ingested and analysed by real Dagster runs, plus one hostile headline.

    IMPACT_TEST_DEMO_WAREHOUSE=<file> starts from a copy of a warehouse those same runs built instead.
    """
    path = tmp_path_factory.mktemp("dash") / "warehouse.duckdb"
    prebuilt = os.environ.get("IMPACT_TEST_DEMO_WAREHOUSE")  # a copy of this fixture's runs, to iterate faster
    if prebuilt:
        shutil.copyfile(prebuilt, path)
    else:
        build_demo_warehouse(path)
    with warehouse.writer(path) as con:
        # Start with sentiment not computed: a test below computes it while the app runs.
        con.execute("DELETE FROM core.headline_sentiment; DELETE FROM mart.daily_sentiment")
        con.execute(
            "INSERT INTO core.headlines VALUES ('xss-test', DATE '2025-01-26', DATE '2025-01-27', "
            "TIMESTAMPTZ '2025-01-26 20:00:00+00', ?, NULL, ?, 'Test Wire', ['NVDA'], 'demo', ?)",
            [XSS_TITLE, STORY_URL, datetime.now(UTC)],
        )
        con.execute(
            "INSERT INTO core.headlines VALUES ('js-url-test', DATE '2025-01-26', DATE '2025-01-27', "
            "TIMESTAMPTZ '2025-01-26 21:00:00+00', ?, NULL, 'javascript:window.__xss = 2', 'Test Wire', ['NVDA'], 'demo', ?)",
            [JS_TITLE, datetime.now(UTC)],
        )
    return path


def build_demo_warehouse(path: Path) -> None:
    """The demo market for TICKERS over START..END, ingested and analysed by real Dagster runs into ``path``."""
    with dg.instance_for_test() as instance:
        for job, resources in (
            ("ingest_prices", {"price_source": PriceSourceResource(source="demo", tickers=TICKERS)}),
            ("ingest_news", {"news_source": NewsSourceResource(sources=["demo"], tickers=TICKERS)}),
            ("analyze", {}),
        ):
            outcome = run_job(job, START, END, warehouse_file=path, instance=instance, **resources)
            assert outcome.success, f"{job}: {outcome.error}"


class _Server:
    """The Dash app served by werkzeug in a thread; ``stop()`` ends it."""

    def __init__(self, warehouse_path: Path) -> None:
        from werkzeug.serving import make_server

        from dashboards.app import create_app

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = create_app(warehouse_path, poll_ms=1000)
        self.server = make_server("127.0.0.1", 0, self.app.server, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="dash-test-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(demo_warehouse):
    served = _Server(demo_warehouse)
    yield served
    served.stop()
    assert not served.thread.is_alive()


@pytest.fixture(scope="module")
def browser():
    if os.environ.get("IMPACT_SKIP_BROWSER") == "1":
        pytest.skip("IMPACT_SKIP_BROWSER=1: browser tests skipped")
    if not CHROMIUM.is_file():
        pytest.fail(
            f"chromium not found at {CHROMIUM}: install it (apt-get install -y chromium) "
            "or set IMPACT_SKIP_BROWSER=1 to skip the browser tests",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the playwright package is missing: uv pip install playwright (never `playwright install`)", pytrace=False
        )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(PAGE_TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.errors = errors
    yield tab
    context.close()


def _shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.wait_for_timeout(300)  # let the last transition finish
    tab.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def _traces(tab, graph_id: str) -> list[dict]:
    """The traces Plotly drew in a dcc.Graph (name, x, y, text), read from the page."""
    return tab.evaluate(
        """id => (document.querySelector('#' + id + ' .js-plotly-plot')._fullData || []).map(
               t => ({type: t.type, name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || []),
                      text: t.text ? Array.from(t.text) : []}))""",
        graph_id,
    )


def _title(tab, graph_id: str) -> str:
    return tab.evaluate("id => document.querySelector('#' + id + ' .js-plotly-plot').layout.title.text", graph_id)


def _wait_graph(tab, graph_id: str, predicate: str = "gd => gd.data && gd.data.length > 0") -> None:
    tab.wait_for_function(
        f"""() => {{ const gd = document.querySelector('#{graph_id} .js-plotly-plot');
                    return gd && gd.querySelector('.main-svg') && ({predicate})(gd); }}"""
    )


def _wait_text(tab, selector: str, text: str) -> None:
    """Wait until the element exists and its text contains ``text``."""
    tab.wait_for_function(
        "([sel, text]) => { const el = document.querySelector(sel); return el && el.innerText.includes(text); }",
        arg=[selector, text],
    )


def _open_menu(tab, menu_id: str) -> None:
    """Click a dcc.Dropdown open (its trigger button carries the id)."""
    tab.click(f"#{menu_id}")
    tab.wait_for_selector(".dash-dropdown-content .dash-dropdown-search")


def _pick(tab, menu_id: str, typed: str, chosen: str) -> None:
    """Choose in a menu as a user does: click it open, type right away (no pause), press Enter; then wait until
    the JS predicate ``chosen`` holds (the page followed)."""
    tab.click(f"#{menu_id}")
    tab.keyboard.type(typed)
    tab.wait_for_function("text => (document.querySelector('.dash-dropdown-search') || {}).value === text", arg=typed)
    tab.keyboard.press("Enter")
    tab.wait_for_function(chosen, timeout=60_000)
    tab.keyboard.press("Escape")
    tab.wait_for_selector(".dash-dropdown-content", state="detached")


def _retype(tab, input_id: str, text: str) -> None:
    """Replace a text box's value by typing at a person's pace (no Enter). Dash 4's debounced ``dcc.Input`` puts
    the caret back where it was one render ago (plotly/dash#2927), so on a loaded machine a keystroke can land
    one place early: like a person, look at the box and type it again."""
    box = f"#{input_id}"
    for _ in range(3):
        tab.click(box)
        tab.keyboard.press("Control+A")
        tab.keyboard.type(text, delay=40)
        if tab.input_value(box) == text:
            return
    raise AssertionError(f"{input_id} shows {tab.input_value(box)!r} after typing {text!r} three times")


def _type_into(tab, input_id: str, text: str) -> None:
    """Replace a text box's value by typing, then Enter (the boxes update on Enter or when they lose focus)."""
    _retype(tab, input_id, text)
    tab.keyboard.press("Enter")


def _simulated(tab, graph_id: str) -> bool:
    return tab.evaluate(
        "id => (document.querySelector('#' + id + ' .js-plotly-plot').layout.annotations || [])"
        ".some(a => a.text === 'SIMULATED DATA')",
        graph_id,
    )


def _legend(tab, graph_id: str) -> set[str]:
    """The names of a graph's traces shown in its legend."""
    return {t["name"] for t in _traces(tab, graph_id) if not t["name"].endswith((" upper", " lower"))}


def test_overview_shows_banner_spotlight_and_freshness(page, server):
    page.goto(server.url + "/")
    page.wait_for_selector("#demo-banner-text")
    assert "SIMULATED DEMO DATA" in page.inner_text("#demo-banner-text")
    _wait_graph(page, "overview-spotlight")
    _wait_graph(page, "overview-session")
    assert "DeepSeek-R1" in page.inner_text("#spotlight-link")
    assert "NVDA -16.97%" in page.inner_text("#spotlight-moves")
    bars = _traces(page, "overview-spotlight")[0]
    moves = dict(zip(bars["x"], bars["y"], strict=True))
    assert moves["NVDA"] == pytest.approx(-16.97, abs=0.01)
    freshness = page.inner_text("#freshness-table")
    assert "prices" in freshness and "headlines" in freshness and "2025-03-31" in freshness
    assert "not computed yet" in page.inner_text("#overview-sentiment-note").lower()
    _shot(page, "overview")
    assert page.errors == []


def test_event_explorer_renders_and_follows_the_chosen_event(page, server):
    page.goto(server.url + "/events")
    for graph in ("event-prices", "event-ar", "event-car"):
        _wait_graph(page, graph)
    assert "DeepSeek-R1" in page.inner_text("#event-title")
    ar = _traces(page, "event-ar")[0]
    day0 = dict(zip(ar["x"], ar["y"], strict=True))
    assert day0["NVDA"] < -10 and "*" in ar["text"][ar["x"].index("NVDA")]  # CAR[-1,+1], the window it opens on
    assert "CAR[-1,+1] per firm, day 0 2025-01-27" in _title(page, "event-ar")
    names = {t["name"] for t in _traces(page, "event-prices")}
    assert {"NVDA", "SPY (benchmark)"} <= names
    assert "BMP t, Kolari-Pynnönen adjusted" in page.inner_text("#group-table")
    assert "Corrado rank" in page.inner_text("#group-table")
    assert "NVDA" in page.inner_text("#firm-table")
    # The hostile headline is shown as text and never runs; its title links to its story; a javascript: URL is no link.
    assert XSS_TITLE in page.inner_text("#event-headlines")
    assert page.evaluate("() => window.__xss") is None
    assert page.get_attribute(f'#event-headlines a.headline-title[href="{STORY_URL}"]', "target") == "_blank"
    assert page.locator("#event-headlines a.headline-title", has_text=JS_TITLE).count() == 0
    assert JS_TITLE in page.inner_text("#event-headlines")
    # Every figure of demo data says it is simulated.
    assert all(_simulated(page, graph) for graph in ("event-prices", "event-ar", "event-car"))
    # The verdict: one sentence per stored window, the chosen one ([-1,+1]) first.
    _wait_text(page, "#event-verdict", "moved significantly")
    verdict = page.inner_text("#event-verdict")
    assert verdict.startswith("[-1,+1]:") and "[0,0]:" in verdict and "[-5,+5]:" in verdict
    # The event session minute by minute: this warehouse has no intraday bars, and the chart says how to get them.
    _wait_graph(page, "event-intraday", "gd => (gd.layout.annotations || []).length > 0")
    assert "No intraday bars" in page.inner_text("#event-intraday")
    _shot(page, "events")

    # Another event by real clicks and typing: open the menu, type right away, Enter.
    _pick(
        page,
        "event-select",
        "Microsoft and Meta",
        "() => (document.querySelector('#event-title') || {}).innerText?.includes('Microsoft and Meta')",
    )
    _wait_graph(page, "event-ar", "gd => gd.layout.title.text.includes('2025-01-30')")
    assert "2025-01-30" in page.inner_text("#event-header")
    after = dict(zip(*[_traces(page, "event-ar")[0][k] for k in ("x", "y")], strict=True))
    assert after != day0
    assert "CAR[-1,+1] per firm, day 0 2025-01-30" in _title(page, "event-ar")
    # The URL follows the selection.
    page.wait_for_function("() => location.search.includes('event=msft-meta-q4-2024-earnings')")
    assert "tickers=NVDA,MSFT,META" in page.url and "window=-1,1" in page.url
    assert page.errors == []


def test_menus_show_ten_rows_inline_checkboxes_and_filter_what_is_typed_after_a_click(page, server):
    page.goto(server.url + "/events?event=deepseek-r1-release")
    _wait_graph(page, "event-car")
    _open_menu(page, "event-select")
    rows = page.evaluate("""() => { const c = document.querySelector('.dash-dropdown-content'), r = c.getBoundingClientRect();
        return Array.from(c.querySelectorAll('.dash-dropdown-option')).filter(o => {
            const b = o.getBoundingClientRect(); return b.top >= r.top && b.bottom <= r.bottom + 1; }).length; }""")
    total = page.locator(".dash-dropdown-content .dash-dropdown-option").count()
    assert total >= 20 and rows >= 10, f"{rows} of {total} events visible"
    # The search box has the focus: what is typed lands there and filters.
    page.wait_for_function("() => document.activeElement.classList.contains('dash-dropdown-search')", timeout=5000)
    page.keyboard.type("deepseek")
    page.wait_for_function(
        "() => document.querySelectorAll('.dash-dropdown-content .dash-dropdown-option').length < 10"
    )
    shown = page.locator(".dash-dropdown-content .dash-dropdown-option").all_inner_texts()
    assert shown and all("deepseek" in text.lower() for text in shown)
    page.keyboard.press("Escape")
    page.wait_for_selector(".dash-dropdown-content", state="detached")
    # A multi-select menu: each checkbox sits on its label's line, not above it.
    _open_menu(page, "event-tickers")
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll('.dash-dropdown-content .dash-dropdown-option')).map(o => {
        const b = o.getBoundingClientRect(); return {height: b.height, text: o.innerText}; })""")
    assert len(boxes) == 6
    for box in boxes:
        assert box["height"] < 45, box  # one line per option
    _shot(page, "menu-tickers")
    page.keyboard.press("Escape")
    assert page.errors == []


def test_focus_tickers_drive_every_chart_and_the_url(page, server):
    page.goto(server.url + "/events?event=deepseek-r1-release")
    _wait_graph(page, "event-car")
    assert _legend(page, "event-car") == {"NVDA", "MSFT", "META", "AVGO", "AMD"}  # MSFT kept, not only the six largest
    prices = _traces(page, "event-prices")
    colours = page.evaluate(
        "() => document.querySelector('#event-prices .js-plotly-plot')._fullData.map(t => t.line.color)"
    )
    assert len(set(colours)) == len(prices)
    # Untick AVGO by typing its name into the open menu and Enter.
    _pick(page, "event-tickers", "AVGO", "() => location.search.includes('tickers=NVDA,MSFT,META,AMD&')")
    _wait_graph(page, "event-car", "gd => !gd.data.some(t => t.name === 'AVGO')")
    assert _legend(page, "event-car") == {"NVDA", "MSFT", "META", "AMD"}
    assert {t["name"] for t in _traces(page, "event-prices")} == {"NVDA", "MSFT", "META", "AMD", "SPY (benchmark)"}
    _wait_graph(page, "event-ar", "gd => !gd.data[0].x.includes('AVGO')")
    assert sorted(_traces(page, "event-ar")[0]["x"]) == ["AMD", "META", "MSFT", "NVDA"]
    assert page.errors == []


def test_windows_typed_freely_refit_and_say_so(page, server):
    page.goto(server.url + "/events?event=deepseek-r1-release")
    _wait_graph(page, "event-car")
    page.wait_for_selector("#event-stored")
    _type_into(page, "event-window", "-2,+3")
    _wait_text(page, "#event-refit", "Re-fitted")
    assert "[-2,+3] is not among" in page.inner_text("#event-refit")
    _wait_graph(
        page, "event-car", "gd => gd._fullData.some(t => t.name === 'NVDA' && t.x.length === 6 && t.x[0] === -2)"
    )
    assert "CAR[-2,+3] per firm" in _title(page, "event-ar")
    assert "[-2,+3]" in page.inner_text("#firm-table") and "BMP t" in page.inner_text("#group-table")
    page.wait_for_function("() => location.search.includes('window=-2,3')")
    _type_into(page, "event-estimation", "-150,-11")
    _wait_text(page, "#event-refit", "estimation window [-150,-11]")
    page.wait_for_function("() => location.search.includes('estimation=-150,-11')")
    _shot(page, "events-refit")
    # A window the study cannot fit: a clear note, the stored study shown.
    _type_into(page, "event-estimation", "-150,+1")
    _wait_text(page, "#event-window-error", "must end before the event window")
    page.wait_for_selector("#event-stored")
    _type_into(page, "event-estimation", "-250,-11")
    _type_into(page, "event-window", "-1,+1")
    page.wait_for_function("() => document.querySelector('#event-window-error').innerText === ''")
    page.wait_for_selector("#event-stored")
    assert page.errors == []


def test_adhoc_study_typed_on_the_explorer_is_fitted_and_shown(page, server):
    page.goto(server.url + "/events?event=nvda-gtc-2024-blackwell")
    _wait_graph(page, "event-ar", "gd => (gd.layout.title?.text || '').includes('day 0 2024-03-19')")
    # A zone that does not exist: one line under the form, the catalogued event still shown.
    _retype(page, "event-adhoc-at", "2025-01-27 09:00 Mars/Olympus")
    _retype(page, "event-adhoc-tickers", "NVDA,MSFT")
    page.click("#event-adhoc-run")
    _wait_text(page, "#event-adhoc-error", "unknown time zone 'Mars/Olympus'")
    assert "\n" not in page.inner_text("#event-adhoc-error").strip()
    assert "day 0 2024-03-19" in _title(page, "event-ar")
    # The news as `impact study --at ... --tickers ...` takes it: day 0 aligned, the study fitted and drawn.
    _retype(page, "event-adhoc-at", "2025-01-27 09:00 America/New_York")
    page.click("#event-adhoc-run")
    _wait_text(page, "#event-title", "Ad-hoc: 2025-01-27 09:00 America/New_York · NVDA,MSFT")
    _wait_graph(page, "event-ar", "gd => (gd.layout.title?.text || '').includes('day 0 2025-01-27')")
    assert "CAR[-1,+1] per firm, day 0 2025-01-27" in _title(page, "event-ar")
    assert {"NVDA", "MSFT"} <= set(_traces(page, "event-ar")[0]["x"])
    assert "ad-hoc study" in page.inner_text("#event-refit")
    assert "NVDA" in page.inner_text("#firm-table")
    assert page.inner_text("#event-adhoc-error").strip() == ""
    _shot(page, "events-adhoc")
    assert page.errors == []


def test_a_url_restores_the_selection_and_an_unknown_event_is_an_error(page, server):
    page.goto(server.url + "/events?event=msft-meta-q4-2024-earnings&tickers=NVDA,AMD&window=0,1")
    _wait_graph(page, "event-car", "gd => gd.data.length > 0 && gd.layout.title.text.includes('[0,+1]')")
    assert "Microsoft and Meta" in page.inner_text("#event-title")
    assert _legend(page, "event-car") == {"NVDA", "AMD"}
    assert page.input_value("#event-window") == "0,+1"
    assert "CAR[0,+1] per firm" in _title(page, "event-ar")
    page.goto(server.url + "/events?event=no-such-event")
    _wait_text(page, "#event-error", "No event 'no-such-event'")
    _wait_graph(page, "event-ar", "gd => (gd.layout.annotations || []).some(a => a.text.includes('pick an event'))")
    assert "DeepSeek" not in page.inner_text("#event-header")
    assert page.errors == []


def test_every_table_downloads_as_csv_marked_simulated(page, server):
    page.goto(server.url + "/events?event=deepseek-r1-release")
    page.wait_for_selector("#firm-table")
    with page.expect_download() as info:
        page.locator("#event-firm-tests button.csv-button").click()
    download = info.value
    assert download.suggested_filename == "firm-tests-deepseek-r1-release_-1_1-SIMULATED.csv"
    rows = list(csv.DictReader(Path(download.path()).read_text(encoding="utf-8").splitlines()))
    assert list(rows[0])[0] == "data"
    assert {"event_id", "ticker", "window", "tau_start", "tau_end", "ar_day0", "car", "t", "p"} <= set(rows[0])
    nvda = next(row for row in rows if row["ticker"] == "NVDA")
    assert nvda["data"] == "SIMULATED (demo)" and nvda["window"] == "[-1,+1]"
    assert float(nvda["car"]) == pytest.approx(-0.11, abs=0.01)  # a fraction, not a percentage
    with page.expect_download() as info:
        page.locator("#event-group-tests button.csv-button").click()
    group = Path(info.value.path()).read_text(encoding="utf-8")
    assert "kp_bmp_t" in group and "BMP t, Kolari-Pynnönen adjusted" in group
    page.goto(server.url + "/")
    page.wait_for_selector("#freshness-table")
    assert page.locator("button.csv-button").count() == 2  # the universe and the freshness tables
    with page.expect_download() as info:
        page.locator("#freshness-table ~ button.csv-button").click()
    assert info.value.suggested_filename == "freshness-SIMULATED.csv"
    assert page.errors == []


def _click_day(tab, graph_id: str, day: str) -> None:
    """A real mouse click on the price row of a date-axis chart, at ``day``."""
    x, y = tab.evaluate(
        """([id, day]) => { const gd = document.querySelector('#' + id + ' .js-plotly-plot'), L = gd._fullLayout;
            const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
            return [box.left + L.xaxis.d2p(day + ' 12:00'), box.top + box.height / 2]; }""",
        [graph_id, day],
    )
    tab.mouse.move(x - 5, y)
    tab.mouse.move(x, y, steps=3)  # as a hand does: the pointer arrives, the hover settles, then the click
    tab.wait_for_timeout(300)
    tab.mouse.click(x, y)


def test_ticker_view_candles_ticker_switch_and_click_a_day(page, server):
    page.goto(server.url + "/ticker?ticker=NVDA&start=2024-12-02&end=2025-03-31")
    _wait_graph(page, "ticker-chart")
    traces = _traces(page, "ticker-chart")
    assert traces[0]["type"] == "candlestick" and "events" in {t["name"] for t in traces}
    assert _title(page, "ticker-chart").startswith("NVDA")
    assert "sentiment not computed yet" in page.evaluate(
        "() => document.querySelector('#ticker-chart .js-plotly-plot').layout.annotations.map(a => a.text).join('|')"
    )
    assert _simulated(page, "ticker-chart")
    # DeepSeek-R1 (curated) and NVDA's detected move share 2025-01-27: stacked, both visible.
    events = next(t for t in traces if t["name"] == "events")
    same_day = [y for x, y in zip(events["x"], events["y"], strict=True) if str(x).startswith("2025-01-27")]
    assert len(same_day) == 2 and len(set(same_day)) == 2
    # Closed days leave no gap: weekends and the NYSE holidays (2025-01-09, 2025-01-20) are range breaks.
    breaks = page.evaluate("() => document.querySelector('#ticker-chart .js-plotly-plot').layout.xaxis.rangebreaks")
    assert {"2025-01-09", "2025-01-20"} <= set(breaks[1]["values"])
    # The axis titles do not overlap.
    boxes = page.evaluate("""() => ['g-ytitle', 'g-y2title', 'g-y3title'].map(c => {
        const b = document.querySelector('#ticker-chart .' + c).getBoundingClientRect(); return [b.top, b.bottom]; })""")
    assert len(boxes) == 3
    for (top1, bottom1), (top2, bottom2) in zip(boxes, boxes[1:], strict=False):
        assert bottom1 <= top2 or bottom2 <= top1, boxes
    _shot(page, "ticker")

    # A real click on DeepSeek-R1's session: that day's NVDA headlines, the hostile one as text.
    _click_day(page, "ticker-chart", "2025-01-27")
    _wait_text(page, "#ticker-headlines-title", "2025-01-27")
    assert XSS_TITLE in page.inner_text("#ticker-headlines")
    assert page.evaluate("() => window.__xss") is None
    # A click on a session without news selects that session, not a neighbour with news.
    quiet = page.evaluate("""() => { const gd = document.querySelector('#ticker-chart .js-plotly-plot');
        const news = new Set((gd.data.find(t => t.name.startsWith('headlines')) || {x: []}).x.map(x => String(x).slice(0, 10)));
        return gd.data[0].x.map(x => String(x).slice(0, 10)).find(d => d >= '2025-02-03' && !news.has(d)); }""")
    assert quiet, "no session without news in February"
    _click_day(page, "ticker-chart", quiet)
    _wait_text(page, "#ticker-headlines-title", quiet)

    _pick(
        page,
        "ticker-select",
        "MSFT",
        "() => document.querySelector('#ticker-chart .js-plotly-plot').layout.title.text.startsWith('MSFT')",
    )
    assert _traces(page, "ticker-chart")[0]["type"] == "candlestick"
    assert page.errors == []


SENTIMENT = textwrap.dedent("""
    import sys
    import dagster as dg
    from pipelines.assets.sentiment import SENTIMENT_ASSETS, SentimentResource
    from pipelines.resources import WarehouseResource
    result = dg.materialize(SENTIMENT_ASSETS, resources={"warehouse": WarehouseResource(path=sys.argv[1]),
                                                         "sentiment": SentimentResource()})
    assert result.success
""")


def test_sentiment_page_says_not_computed_then_uses_the_tables_once_present(page, server, demo_warehouse):
    page.goto(server.url + "/sentiment")
    _wait_text(page, "#sentiment-note", "not computed yet")
    _wait_graph(page, "sentiment-scatter", "gd => gd.layout.annotations && gd.layout.annotations.length > 0")
    # A writer process adds the sentiment tables while the app runs; the page picks them up on reload.
    subprocess.run([sys.executable, "-c", SENTIMENT, str(demo_warehouse)], cwd=ROOT, check=True, timeout=300)
    page.reload()
    _wait_graph(page, "sentiment-scatter", "gd => gd.data.some(t => t.name === 'OLS fit')")
    names = {t["name"] for t in _traces(page, "sentiment-scatter")}
    assert {"NVDA", "META", "OLS fit"} <= names
    assert "r = " in _title(page, "sentiment-scatter")
    assert "NVDA" in page.inner_text("#sentiment-stats")
    _shot(page, "sentiment")

    # Filter to one ticker: only its points (and the fit) remain.
    page.goto(server.url + "/sentiment?tickers=NVDA")
    _wait_graph(page, "sentiment-scatter", "gd => gd.data.some(t => t.name === 'OLS fit')")
    assert {t["name"] for t in _traces(page, "sentiment-scatter")} == {"NVDA", "OLS fit"}
    # The event headlines are now coloured by their label.
    page.goto(server.url + "/events")
    page.wait_for_selector("#event-headlines li.negative, #event-headlines li.positive, #event-headlines li.neutral")
    assert page.errors == []


RUN = textwrap.dedent("""
    import sys
    from datetime import date
    import dagster as dg
    from pipelines.resources import PriceSourceResource
    from pipelines.runner import run_job
    path, TICKERS = sys.argv[1], sys.argv[2].split(",")
    with dg.instance_for_test() as instance:
        for job, start, end, res in (
            ("ingest_prices", date(2025, 1, 2), date(2025, 3, 31),
             {"price_source": PriceSourceResource(source="demo", tickers=TICKERS)}),
            ("analyze", date(2024, 1, 2), date(2025, 3, 31), {}),
        ):
            outcome = run_job(job, start, end, warehouse_file=path, instance=instance, **res)
            assert outcome.success, outcome.error
    print("run done", flush=True)
""")


def test_pages_keep_answering_while_a_dagster_run_writes(page, server, demo_warehouse):
    """A real Dagster run (prices, then the analysis) writes the warehouse from another process
    while pages load; every load answers, and the run is never blocked."""
    run = subprocess.Popen(
        [sys.executable, "-c", RUN, str(demo_warehouse), ",".join(TICKERS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    loads, during, saw_busy = 0, 0, False
    try:
        paths = [
            "/",
            "/events?event=deepseek-r1-release",
            "/ticker?ticker=META",
            "/events?event=msft-meta-q4-2024-earnings",
        ]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            running = run.poll() is None
            started = time.monotonic()
            page.goto(server.url + paths[loads % len(paths)])
            # Either the page's charts or the "refreshing" notice, within the timeout: never a dead page.
            page.wait_for_selector(".js-plotly-plot .main-svg, .refreshing")
            assert time.monotonic() - started < 20
            saw_busy = saw_busy or page.query_selector("#busy-banner-text") is not None
            loads += 1
            during += running and run.poll() is None
            if not running:
                break
        out, err = run.communicate(timeout=240)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0 and "run done" in out, err[-2000:]
    assert during >= 2, f"only {during} page loads overlapped the run"
    # After the run, the data is fresh and the page shows it.
    page.goto(server.url + "/events?event=deepseek-r1-release")
    _wait_graph(page, "event-ar")
    assert "DeepSeek-R1" in page.inner_text("#event-title")
    _shot(page, "after-run")


# --- the static report (no browser needed for HTML) ---------------------------------------------------


def test_report_html_is_self_contained_and_escapes_headlines(demo_warehouse, tmp_path):
    from typer.testing import CliRunner

    from pipelines.commands.dashboard import app

    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["report", "--event", "deepseek-r1-release", "--out", str(out), "--warehouse", str(demo_warehouse)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "DeepSeek-R1" in text and "SIMULATED DEMO DATA" in text
    assert text.count('class="plotly-graph-div"') == 4  # prices, day-0 ARs, CAR paths, the session minute by minute
    from plotly.offline import get_plotlyjs

    library = get_plotlyjs()
    assert text.count(library) == 1  # the library itself, inline, once
    rest = text.replace(library, "")
    assert "<script src=" not in rest and "cdn.plot.ly" not in rest and "<link" not in rest and "http://" not in rest
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in text and XSS_TITLE not in text
    assert "kp_bmp_t" in text and "corrado_rank" in text
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-deepseek-r1-release.html").write_text(text, encoding="utf-8")
    missing = CliRunner().invoke(
        app,
        ["report", "--event", "no-such-event", "--out", str(tmp_path / "x.html"), "--warehouse", str(demo_warehouse)],
    )
    assert missing.exit_code == 1 and not (tmp_path / "x.html").exists()


def test_report_png_writes_one_image_per_figure(demo_warehouse, tmp_path, browser):
    from dashboards.report import build_report

    written = build_report(
        "deepseek-r1-release", tmp_path / "deepseek.png", format="png", warehouse_path=demo_warehouse
    )
    assert [p.name for p in written] == [
        "deepseek-prices.png",
        "deepseek-ar.png",
        "deepseek-car.png",
        "deepseek-intraday.png",
    ]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_ticker_view_url_follows_the_menu_and_an_unknown_ticker_is_named(page, server):
    page.goto(server.url + "/ticker?ticker=NVDA&start=2024-12-02&end=2025-03-31")
    _wait_graph(page, "ticker-chart")
    assert "/ticker?ticker=NVDA&start=2024-12-02&end=2025-03-31" in page.url
    _pick(page, "ticker-select", "MSFT", "() => location.search.includes('ticker=MSFT')")
    assert "start=2024-12-02" in page.url and "end=2025-03-31" in page.url
    copied = page.url
    page.goto(server.url + "/")
    page.goto(copied)  # a copied link restores the view
    _wait_graph(page, "ticker-chart", "gd => ((gd.layout.title || {}).text || '').includes('MSFT')")
    page.goto(server.url + "/ticker?ticker=NVDX")
    _wait_text(page, "#ticker-error", "No ticker 'NVDX'")
    assert "did you mean NVDA?" in page.inner_text("#ticker-error")
    assert page.errors == []
