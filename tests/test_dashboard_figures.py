"""The dashboards' pure figure functions on small frames, and the read-only data layer on tiny warehouses."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from dashboards import data, figures
from pipelines import warehouse

XSS = "<script>window.__xss = 1</script> & <b>bold</b>"


def _prices() -> pd.DataFrame:
    rows = []
    for ticker, slope in (("NVDA", -2.0), ("META", 1.0), ("SPY", -0.5)):
        for tau in range(-3, 4):
            rows.append(
                {
                    "ticker": ticker,
                    "tau": tau,
                    "date": pd.Timestamp("2025-01-27") + pd.offsets.BDay(tau),
                    "index": 100 + slope * (tau + 1),
                    "ret": slope / 100,
                }
            )
    return pd.DataFrame(rows)


def test_price_paths_one_line_per_ticker_benchmark_dashed_last():
    fig = figures.price_paths(_prices(), benchmark="SPY", title="Prices")
    names = [t.name for t in fig.data]
    assert names == ["META", "NVDA", "SPY (benchmark)"]
    nvda = fig.data[1]
    assert list(nvda.x) == list(range(-3, 4))
    assert nvda.y[2] == pytest.approx(100.0)  # tau = -1 is the base
    assert nvda.y[3] == pytest.approx(98.0)
    assert fig.data[2].line.dash == "dash" and fig.data[0].line.dash == "solid"
    assert fig.layout.title.text == "Prices"
    assert "close of day −1 = 100" in fig.layout.yaxis.title.text
    assert any(shape.x0 == 0 and shape.x1 == 0 for shape in fig.layout.shapes)  # day-0 line
    assert "return %{customdata[1]:+.2f}%" in nvda.hovertemplate


def test_ar_bars_percent_sorted_with_significance():
    frame = pd.DataFrame(
        {
            "ticker": ["META", "NVDA", "MSFT"],
            "ar": [0.0417, -0.1449, -0.0045],
            "t": [2.29, -5.76, -0.45],
            "p": [0.0232, 2.6e-8, 0.6507],
        }
    )
    fig = figures.ar_bars(frame, title="AR day 0", highlight=["NVDA"])
    bar = fig.data[0]
    assert list(bar.x) == ["NVDA", "MSFT", "META"]
    assert list(bar.y) == pytest.approx([-14.49, -0.45, 4.17])
    assert list(bar.text) == ["-14.49%***", "-0.45%", "+4.17%**"]
    assert list(bar.marker.opacity) == [1.0, 0.45, 1.0]  # MSFT is not significant at 5%
    assert list(bar.marker.color) == [figures.NEGATIVE, figures.NEGATIVE, figures.POSITIVE]
    assert list(bar.marker.line.width) == [2.5, 0, 0]
    assert bar.customdata[0][0] == pytest.approx(-1449.0)  # basis points in the hover
    assert "bp" in bar.hovertemplate and "p %{customdata[2]:.4f}" in bar.hovertemplate
    assert fig.layout.yaxis.title.text == "AR (%)"
    assert fig.layout.title.text == "AR day 0"


def test_ar_bars_without_tests_are_all_solid_and_empty_frames_say_so():
    fig = figures.ar_bars(pd.DataFrame({"ticker": ["A", "B"], "ret": [0.01, -0.02]}), value="ret", label="return")
    assert list(fig.data[0].marker.opacity) == [1.0, 1.0]
    assert "p %{" not in fig.data[0].hovertemplate
    empty = figures.ar_bars(pd.DataFrame(columns=["ticker", "ar"]))
    assert empty.data == () and "no abnormal returns" in empty.layout.annotations[0].text


def test_car_paths_bands_and_order():
    rows = []
    for ticker, step in (("NVDA", -0.02), ("META", 0.01), ("AMD", 0.0)):
        for i, tau in enumerate(range(-2, 3)):
            car = step * (i + 1)
            rows.append(
                {"ticker": ticker, "tau": tau, "ar": step, "car": car, "car_lo": car - 0.01, "car_hi": car + 0.01}
            )
    fig = figures.car_paths(pd.DataFrame(rows), tickers=["NVDA", "META"])
    assert len(fig.data) == 6  # upper, lower (filled), line per ticker
    upper, lower, line = fig.data[:3]
    assert lower.fill == "tonexty" and upper.showlegend is False
    assert line.name == "NVDA" and list(line.y) == pytest.approx([-2, -4, -6, -8, -10])
    assert list(upper.y) == pytest.approx([-1, -3, -5, -7, -9])
    assert fig.data[5].name == "META"
    assert fig.layout.yaxis.title.text == "CAR (%)"


def test_ticker_chart_candles_events_escaped_and_sentiment_states():
    days = pd.bdate_range("2025-01-21", periods=5)
    prices = pd.DataFrame(
        {
            "date": days,
            "open": [10, 11, 12, 11, 10.0],
            "high": [11, 12, 13, 12, 11.0],
            "low": [9, 10, 11, 10, 9.0],
            "close": [11, 12, 11, 10, 10.5],
            "volume": [100] * 5,
            "ret": [0.0, 0.09, -0.08, -0.09, 0.05],
            "ar": [0.0, 0.05, -0.04, -0.1, 0.01],
        }
    )
    events = pd.DataFrame({"day0": [days[3]], "name": [XSS], "origin": ["curated"]})
    counts = pd.DataFrame({"date": [days[1], days[3]], "n_headlines": [2, 5]})
    fig = figures.ticker_chart(prices, "NVDA", events, None, counts)
    kinds = [t.type for t in fig.data]
    assert kinds[0] == "candlestick" and list(fig.data[0].close) == [11, 12, 11, 10, 10.5]
    marker = next(t for t in fig.data if t.name == "events")
    assert list(marker.text) == [
        "&lt;script&gt;window.__xss = 1&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; [curated]"
    ]
    assert marker.y[0] == pytest.approx(1.04 * 12)
    news = next(t for t in fig.data if t.name.startswith("headlines"))
    assert list(news.customdata) == [2, 5]
    assert any(a.text == "sentiment not computed yet" for a in fig.layout.annotations)
    assert fig.layout.xaxis3.type == "date"
    sentiment = pd.DataFrame({"date": days[:2], "mean_score": [-0.5, 0.25], "n_headlines": [2, 1]})
    fig = figures.ticker_chart(prices, "NVDA", events, sentiment, counts)
    bar = next(t for t in fig.data if t.name == "sentiment index")
    assert list(bar.y) == [-0.5, 0.25] and list(bar.marker.color) == [figures.NEGATIVE, figures.POSITIVE]
    assert not any(a.text == "sentiment not computed yet" for a in fig.layout.annotations)


def test_fit_line_matches_numpy_and_degenerate_inputs_are_nan():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 50)
    y = 0.01 * x + rng.normal(0, 0.005, 50)
    fit = figures.fit_line(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    assert fit["slope"] == pytest.approx(slope) and fit["intercept"] == pytest.approx(intercept)
    assert fit["r"] == pytest.approx(np.corrcoef(x, y)[0, 1]) and fit["n"] == 50
    assert np.isnan(figures.fit_line([1, 2], [3, 4])["r"])
    assert np.isnan(figures.fit_line([1, 1, 1], [3, 4, 5])["slope"])


def test_sentiment_scatter_traces_fit_line_and_title():
    frame = pd.DataFrame(
        {
            "ticker": ["NVDA"] * 3 + ["META"] * 3,
            "date": pd.bdate_range("2025-01-06", periods=6),
            "mean_score": [-0.8, 0.0, 0.6, -0.2, 0.3, 0.9],
            "ar": [-0.05, 0.0, 0.02, -0.01, 0.01, 0.03],
            "n_headlines": [3, 1, 2, 1, 1, 4],
        }
    )
    fig = figures.sentiment_scatter(frame)
    assert [t.name for t in fig.data] == ["META", "NVDA", "OLS fit"]
    r = np.corrcoef(frame["mean_score"], frame["ar"])[0, 1]
    assert f"r = {r:+.2f}" in fig.layout.title.text and "n = 6" in fig.layout.title.text
    assert list(fig.data[1].y) == pytest.approx([-5.0, 0.0, 2.0])
    slope, intercept = np.polyfit(frame["mean_score"], frame["ar"], 1)
    line = fig.data[2]
    assert list(line.x) == [-0.8, 0.9]
    assert line.y[0] == pytest.approx(100 * (intercept - 0.8 * slope))
    assert fig.layout.yaxis.title.text == "abnormal return (%)"
    sampled = figures.sentiment_scatter(frame, max_points=4)
    assert sum(len(t.x) for t in sampled.data[:-1]) == 4 and "n = 6" in sampled.layout.title.text
    assert "random 4 of 6" in sampled.layout.title.text
    assert list(sampled.data[-1].y) == pytest.approx(list(line.y))  # the fit still uses every point
    nothing = figures.sentiment_scatter(frame.assign(ar=np.nan))
    assert nothing.data == () and "no sessions" in nothing.layout.annotations[0].text


def test_session_bars_and_escaping_of_names():
    frame = pd.DataFrame({"ticker": ["NVDA", XSS], "ret": [0.01, -0.02], "ar": [0.005, np.nan]})
    fig = figures.session_bars(frame, title="Last session")
    assert [t.name for t in fig.data] == ["return", "abnormal return"]
    assert list(fig.data[0].y) == pytest.approx([-2.0, 1.0])
    assert "<script>" not in fig.data[0].x[0] and fig.data[0].x[0].startswith("&lt;script&gt;")
    assert (
        figures.stars(0.001) == "***"
        and figures.stars(0.07) == "*"
        and figures.stars(0.5) == ""
        and figures.stars(np.nan) == ""
    )


# --- the data layer --------------------------------------------------------------------------------


def _tiny_warehouse(path, sentiment: bool = False) -> None:
    """Two tickers on five sessions, daily ARs, and optionally mart.daily_sentiment rows from two models."""
    now = datetime.now(UTC)
    days = pd.bdate_range("2025-01-20", periods=5)
    with warehouse.writer(path) as con:
        for ticker, base in (("NVDA", 100.0), ("SPY", 500.0)):
            for i, day in enumerate(days):
                close = base * (1 + 0.01 * i)
                con.execute(
                    "INSERT INTO core.prices VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1.0, 0.0, 'demo', ?)",
                    [ticker, day.date(), close, close * 1.01, close * 0.99, close, close, 1000, now],
                )
                if ticker == "NVDA":
                    con.execute(
                        "INSERT INTO mart.daily_abnormal_returns VALUES (?, ?, 'SPY', 0.01, 0.0, ?, ?, 0, 1, 0.02, 240, ?)",
                        [ticker, day.date(), 0.001 * (i - 2), 0.05 * (i - 2), now],
                    )
        if sentiment:
            for i, day in enumerate(days):
                for model, score in (("head", 0.2 * (i - 2)), ("fewshot", -0.1)):
                    if model == "fewshot" and i > 1:
                        continue  # the head model has more rows: it is the one shown
                    con.execute(
                        "INSERT INTO mart.daily_sentiment VALUES ('NVDA', ?, ?, 'v1', 3, 2, 1, ?, 0.2, 0.3, NULL, NULL)",
                        [day.date(), model, score],
                    )


def test_sentiment_returns_picks_one_model_and_joins_abnormal_returns(tmp_path):
    path = tmp_path / "w.duckdb"
    _tiny_warehouse(path, sentiment=True)
    store = data.Store(path)
    frame = data.sentiment_returns(store, ["NVDA"], date(2025, 1, 1), date(2025, 1, 31)).value
    assert len(frame) == 5
    assert list(frame["mean_score"]) == pytest.approx([-0.4, -0.2, 0.0, 0.2, 0.4])
    assert list(frame["ar"]) == pytest.approx([-0.002, -0.001, 0.0, 0.001, 0.002])
    assert list(frame["sar"]) == pytest.approx([-0.1, -0.05, 0.0, 0.05, 0.1])
    assert frame["n_headlines"].iloc[0] == 3 and set(frame["model"]) == {"head"}
    assert data.status(store).value["sentiment"] is True


def test_missing_sentiment_is_a_state_and_demo_is_detected(tmp_path):
    path = tmp_path / "w.duckdb"
    _tiny_warehouse(path)
    store = data.Store(path)
    assert data.sentiment_returns(store, ["NVDA"], date(2025, 1, 1), date(2025, 1, 31)).value is None
    status = data.status(store).value
    assert status["demo"] is True and status["sentiment"] is False and status["sentiment_model"] is None
    view = data.overview(store).value
    assert view["last_session"] == date(2025, 1, 24) or pd.Timestamp(view["last_session"]) == pd.Timestamp("2025-01-24")
    nvda = view["session"].set_index("ticker").loc["NVDA"]
    assert nvda["ret"] == pytest.approx(1.04 / 1.03 - 1) and nvda["ar"] == pytest.approx(0.002)


HOLD = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("INSERT INTO core.prices SELECT 'AMD', date, open, high, low, close, adj_close, volume, split_ratio, dividend, source, ingested_at FROM core.prices WHERE ticker = 'SPY'")
    con.execute("CHECKPOINT")
    print("holding", flush=True)
    sys.stdin.readline()
""")


def test_reads_answer_from_cache_while_a_writer_holds_the_file_then_refresh(tmp_path):
    path = tmp_path / "w.duckdb"
    _tiny_warehouse(path)
    store = data.Store(path, wait_s=0.3)
    before = data.tickers(store).value
    assert list(before["ticker"]) == ["NVDA", "SPY"]
    assert not store.busy()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert store.busy()
        started = time.monotonic()
        stale = data.tickers(store)  # the file changed (new version) and is locked: the last answer, flagged
        assert stale.stale and list(stale.value["ticker"]) == ["NVDA", "SPY"]
        with pytest.raises(data.WarehouseBusy):
            data.events(store)  # never read before: nothing to fall back on
        assert time.monotonic() - started < 3.0  # the reader gives up quickly instead of queueing behind the writer
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    fresh = data.tickers(store)
    assert not fresh.stale and list(fresh.value["ticker"]) == ["AMD", "NVDA", "SPY"]
    assert not store.busy()


# --- issue 12: focus tickers, free windows, simulated marks, the ticker view --------------------------------------

UNIVERSE = ["NVDA", "AVGO", "TSM", "AMD", "ORCL", "SMCI", "ASML", "MSFT", "META", "GOOGL", "AMZN", "AAPL"]


def _event_bundle(tickers=("NVDA", "AVGO", "AMD")) -> dict:
    """A stored-study bundle over UNIVERSE where MSFT moves least (|CAR| smallest) and day 0 is 2025-01-27."""
    rows, windows, prices = [], [], []
    for i, ticker in enumerate(UNIVERSE):
        step = 0.0001 if ticker == "MSFT" else -0.01 * (i + 1)
        for tau in range(-5, 6):
            rows.append({"ticker": ticker, "tau": tau, "ar": step, "car": step * (tau + 6), "sigma_e": 0.02})
        for label, (lo, hi) in (("[0,0]", (0, 0)), ("[-1,+1]", (-1, 1))):
            windows.append(
                {
                    "ticker": ticker,
                    "window": label,
                    "tau_start": lo,
                    "tau_end": hi,
                    "car": step * (hi - lo + 1),
                    "car_t": -3.0,
                    "car_p": 0.004,
                }
            )
        for tau in range(-10, 11):
            prices.append(
                {
                    "ticker": ticker,
                    "tau": tau,
                    "date": pd.Timestamp("2025-01-27") + pd.offsets.BDay(tau),
                    "index": 100 + tau * step * 100,
                    "ret": step,
                }
            )
    for tau in range(-10, 11):
        prices.append(
            {
                "ticker": "SPY",
                "tau": tau,
                "date": pd.Timestamp("2025-01-27") + pd.offsets.BDay(tau),
                "index": 100.0,
                "ret": 0.0,
            }
        )
    return {
        "event": {"event_id": "e", "name": "E", "day0": pd.Timestamp("2025-01-27"), "tickers": list(tickers)},
        "benchmark": "SPY",
        "prices": pd.DataFrame(prices),
        "abnormal": pd.DataFrame(rows),
        "windows": pd.DataFrame(windows),
        "estimates": pd.DataFrame({"ticker": UNIVERSE, "status": "ok"}),
    }


def test_car_chart_keeps_the_default_focus_msft_included_and_its_colours_match_the_prices():
    figs = figures.event_figures(_event_bundle())
    car = [t.name for t in figs["car"].data if t.showlegend is not False]
    assert car == ["NVDA", "MSFT", "META", "AVGO", "AMD"]  # NVDA, MSFT, META first, then the event's own
    prices = {t.name: t.line.color for t in figs["prices"].data}
    lines = {t.name: t.line.color for t in figs["car"].data if t.showlegend is not False}
    assert all(prices[name] == color for name, color in lines.items())
    assert set(figs["prices"].data[-1].name.split()) == {"SPY", "(benchmark)"}
    chosen = figures.event_figures(_event_bundle(), focus=["AMZN", "MSFT"])
    assert list(chosen["ar"].data[0].x) == ["AMZN", "MSFT"]  # bars of the chosen tickers only


def test_thirteen_price_lines_get_thirteen_colours():
    bundle = _event_bundle()
    fig = figures.price_paths(bundle["prices"], "SPY")
    stocks = [t for t in fig.data if "benchmark" not in t.name]
    assert len(stocks) == 12
    fig = figures.event_figures(bundle, focus=[*UNIVERSE, "SPY"])["prices"]
    colours = [t.line.color for t in fig.data]
    assert len(fig.data) == 13 and len(set(colours)) == 13


def test_event_figures_follow_the_chosen_window():
    figs = figures.event_figures(_event_bundle(), focus=["NVDA", "MSFT"], window=(-1, 1))
    assert figs["ar"].layout.title.text.startswith("CAR[-1,+1] per firm")
    assert figs["ar"].layout.yaxis.title.text == "CAR[-1,+1] (%)"
    nvda = next(t for t in figs["car"].data if t.name == "NVDA")
    assert list(nvda.x) == [-1, 0, 1] and list(nvda.y) == pytest.approx([-1.0, -2.0, -3.0])  # cumulated from day -1
    upper = next(t for t in figs["car"].data if t.name == "NVDA upper")
    assert upper.y[0] - nvda.y[0] == pytest.approx(100 * figures.BAND_Z * 0.02)  # one day: ±1.96·σ̂
    assert "[-1,+1]" in figs["car"].layout.title.text
    assert any(shape.type == "rect" and shape.x0 == -1.5 and shape.x1 == 1.5 for shape in figs["prices"].layout.shapes)


def test_simulated_mark_on_figures_and_csv_exports():
    fig = figures.mark_simulated(figures.ar_bars(pd.DataFrame({"ticker": ["A"], "ar": [0.01]})))
    assert figures.SIMULATED_MARK in [a.text for a in fig.layout.annotations]
    from dashboards.components import csv_payload

    frame = pd.DataFrame({"ticker": ["NVDA"], "car": [-0.1697]})
    payload = csv_payload(frame, True, "firm-tests")
    assert payload["filename"] == "firm-tests-SIMULATED.csv"
    assert payload["csv"].splitlines() == ["data,ticker,car", "SIMULATED (demo),NVDA,-0.1697"]
    assert csv_payload(frame, False, "x") == {"csv": "ticker,car\nNVDA,-0.1697\n", "filename": "x.csv"}


def test_headline_titles_link_only_to_web_urls():
    from dashboards.components import headline_title

    link = headline_title("Nvidia falls", "https://example.com/story?id=1")
    assert link.href == "https://example.com/story?id=1" and link.rel == "noopener noreferrer"
    assert headline_title("x", "javascript:alert(1)").__class__.__name__ == "Span"
    assert headline_title("x", None).__class__.__name__ == "Span"


def _bars(days) -> pd.DataFrame:
    n = len(days)
    return pd.DataFrame(
        {
            "date": days,
            "open": [10.0] * n,
            "high": [11.0] * n,
            "low": [9.0] * n,
            "close": [10.5] * n,
            "volume": [100] * n,
        }
    )


def test_ticker_chart_stacks_events_of_one_day_curated_first_and_hides_closed_days():
    days = pd.DatetimeIndex(
        ["2025-01-08", "2025-01-10", "2025-01-17", "2025-01-21", "2025-01-27"]
    )  # Jan 9 and 20 closed
    events = pd.DataFrame(
        {
            "day0": [days[4], days[4], days[1]],
            "name": ["DeepSeek sell-off (detected)", "DeepSeek-R1", "X"],
            "origin": ["detected", "curated", "curated"],
        }
    )
    fig = figures.ticker_chart(_bars(days), "NVDA", events)
    marker = next(t for t in fig.data if t.name == "events")
    by_name = {text.split(" [")[0]: y for text, y in zip(marker.text, marker.y, strict=True)}
    assert (
        by_name["DeepSeek-R1"] == pytest.approx(1.04 * 11)
        and by_name["DeepSeek sell-off (detected)"] > by_name["DeepSeek-R1"] + 0.5
    )
    breaks = fig.layout.xaxis.rangebreaks
    assert breaks[0].bounds == ("sat", "mon")
    assert {"2025-01-09", "2025-01-20"} <= set(breaks[1]["values"])
    titles = [fig.layout[f"yaxis{i}"].title.text for i in ("", "2", "3")]
    assert titles == ["price ($)", "volume", "sentiment"]


def test_a_click_selects_the_candles_day_not_the_headline_dots_neighbour():
    days = pd.DatetimeIndex(["2025-01-24", "2025-01-27", "2025-01-28"])
    counts = pd.DataFrame({"date": [days[0]], "n_headlines": [3]})
    events = pd.DataFrame({"day0": [days[1]], "name": ["DeepSeek-R1"], "origin": ["curated"]})
    fig = figures.ticker_chart(_bars(days), "NVDA", events, None, counts)
    candles = fig.data[0]
    # Sessions sit at noon: at midnight a Monday is on the weekend break's edge, where Plotly hovers nothing.
    assert [pd.Timestamp(x).hour for x in candles.x] == [12, 12, 12]
    # Only the candles hover (the dots and markers would win the unified hover and lend a click their day).
    assert {t.name: t.hoverinfo for t in fig.data[1:3]} == {"headlines (click a day)": "skip", "events": "skip"}
    assert "3 headline(s)" in candles.hovertext[0] and "DeepSeek-R1 [curated]" in candles.hovertext[1]
    from dashboards.pages.ticker import clicked_day

    click = {"points": [{"curveNumber": 1, "x": "2025-01-24"}, {"curveNumber": 0, "x": "2025-01-27"}]}
    assert clicked_day(click) == date(2025, 1, 27)
    assert clicked_day({"points": [{"curveNumber": 3, "x": "2025-01-28 00:00"}]}) == date(2025, 1, 28)


def test_windows_typed_by_the_user_are_parsed_or_refused_clearly():
    from dashboards import refit

    assert refit.parse_window("-1,+1", "event window") == (-1, 1)
    assert refit.parse_window("[−5, 5]", "event window") == (-5, 5)
    for bad, words in (("abc", "type two trading days"), ("3,1", "after its end")):
        with pytest.raises(refit.WindowError, match=words):
            refit.parse_window(bad, "event window")
    with pytest.raises(refit.WindowError, match="must end before the event window"):
        refit.check_choice((-5, 5), (-250, -3))
    with pytest.raises(refit.WindowError, match="at least 30 sessions"):
        refit.check_choice((0, 1), (-20, -11))


def test_refit_for_a_window_the_study_does_not_hold_keeps_group_tests_on_the_sample():
    from dashboards import refit

    rng = np.random.default_rng(7)
    sessions = pd.bdate_range("2024-01-02", periods=320)
    market = rng.normal(0, 0.01, len(sessions))
    returns = pd.DataFrame(
        {t: 1.2 * market + rng.normal(0, 0.015, len(sessions)) for t in ("NVDA", "AMD", "MSFT")}, index=sessions
    ).assign(SPY=market)
    day0 = sessions[300]
    bundle = {
        "event": {"event_id": "e", "day0": day0, "tickers": ["NVDA", "AMD"]},
        "benchmark": "SPY",
        "estimates": pd.DataFrame({"ticker": ["NVDA", "AMD"], "status": "ok"}),
        "abnormal": pd.DataFrame({"ticker": ["NVDA", "AMD"], "tau": [0, 0]}),
        "windows": pd.DataFrame({"ticker": ["NVDA"], "window": ["[-1,+1]"]}),
    }
    assert refit.refit_reason(bundle, refit.Choice((-1, 1), focus=("NVDA",))) is None
    assert "not among" in refit.refit_reason(bundle, refit.Choice((-2, 3)))
    assert "MSFT is not in the stored study" in refit.refit_reason(bundle, refit.Choice((-1, 1), focus=("MSFT",)))
    assert "estimation window" in refit.refit_reason(bundle, refit.Choice((-1, 1), (-200, -11)))
    view = refit.refit(bundle, returns, refit.Choice((-2, 3), (-200, -11), ("MSFT", "NVDA")))
    window = view["windows"].loc[view["windows"]["window"] == "[-2,+3]"]
    assert sorted(window["ticker"]) == ["AMD", "MSFT", "NVDA"]
    assert set(view["tests"].loc[view["tests"]["window"] == "[-2,+3]", "n"]) == {2}  # the sample, not the focus
    nvda = view["abnormal"].loc[view["abnormal"]["ticker"] == "NVDA"].set_index("tau")
    expected = returns["NVDA"].iloc[299:304].to_numpy()  # taus -1..+3 exist
    assert nvda.loc[-1:3, "ret"].to_numpy() == pytest.approx(expected)
    car = window.set_index("ticker").loc["NVDA", "car"]
    assert car == pytest.approx(nvda.loc[-2:3, "ar"].sum())
