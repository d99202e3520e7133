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
            rows.append({"ticker": ticker, "tau": tau, "date": pd.Timestamp("2025-01-27") + pd.offsets.BDay(tau),
                         "index": 100 + slope * (tau + 1), "ret": slope / 100})
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
    frame = pd.DataFrame({"ticker": ["META", "NVDA", "MSFT"], "ar": [0.0417, -0.1449, -0.0045],
                          "t": [2.29, -5.76, -0.45], "p": [0.0232, 2.6e-8, 0.6507]})
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
            rows.append({"ticker": ticker, "tau": tau, "ar": step, "car": car, "car_lo": car - 0.01, "car_hi": car + 0.01})
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
    prices = pd.DataFrame({"date": days, "open": [10, 11, 12, 11, 10.0], "high": [11, 12, 13, 12, 11.0],
                           "low": [9, 10, 11, 10, 9.0], "close": [11, 12, 11, 10, 10.5], "volume": [100] * 5,
                           "ret": [0.0, 0.09, -0.08, -0.09, 0.05], "ar": [0.0, 0.05, -0.04, -0.1, 0.01]})
    events = pd.DataFrame({"day0": [days[3]], "name": [XSS], "origin": ["curated"]})
    counts = pd.DataFrame({"date": [days[1], days[3]], "n_headlines": [2, 5]})
    fig = figures.ticker_chart(prices, "NVDA", events, None, counts)
    kinds = [t.type for t in fig.data]
    assert kinds[0] == "candlestick" and list(fig.data[0].close) == [11, 12, 11, 10, 10.5]
    marker = next(t for t in fig.data if t.name == "events")
    assert list(marker.text) == ["&lt;script&gt;window.__xss = 1&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"]
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
    frame = pd.DataFrame({
        "ticker": ["NVDA"] * 3 + ["META"] * 3, "date": pd.bdate_range("2025-01-06", periods=6),
        "mean_score": [-0.8, 0.0, 0.6, -0.2, 0.3, 0.9], "ar": [-0.05, 0.0, 0.02, -0.01, 0.01, 0.03],
        "n_headlines": [3, 1, 2, 1, 1, 4],
    })
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
    assert figures.stars(0.001) == "***" and figures.stars(0.07) == "*" and figures.stars(0.5) == "" and figures.stars(np.nan) == ""


# --- the data layer --------------------------------------------------------------------------------

def _tiny_warehouse(path, sentiment: bool = False) -> None:
    """Two tickers on five sessions, daily ARs, and optionally mart.daily_sentiment rows from two models."""
    now = datetime.now(UTC)
    days = pd.bdate_range("2025-01-20", periods=5)
    with warehouse.writer(path) as con:
        for ticker, base in (("NVDA", 100.0), ("SPY", 500.0)):
            for i, day in enumerate(days):
                close = base * (1 + 0.01 * i)
                con.execute("INSERT INTO core.prices VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1.0, 0.0, 'demo', ?)",
                            [ticker, day.date(), close, close * 1.01, close * 0.99, close, close, 1000, now])
                if ticker == "NVDA":
                    con.execute("INSERT INTO mart.daily_abnormal_returns VALUES (?, ?, 'SPY', 0.01, 0.0, ?, ?, 0, 1, 0.02, 240, ?)",
                                [ticker, day.date(), 0.001 * (i - 2), 0.05 * (i - 2), now])
        if sentiment:
            for i, day in enumerate(days):
                for model, score in (("head", 0.2 * (i - 2)), ("fewshot", -0.1)):
                    if model == "fewshot" and i > 1:
                        continue  # the head model has more rows: it is the one shown
                    con.execute("INSERT INTO mart.daily_sentiment VALUES ('NVDA', ?, ?, 'v1', 3, 2, 1, ?, 0.2, 0.3, NULL, NULL)",
                                [day.date(), model, score])


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
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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
