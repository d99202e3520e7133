"""Benchmark the dashboards: callback latency and first paint, on the demo warehouse and on a
synthetic 10-year x 100-ticker warehouse. Targets: callbacks < 300 ms, first paint < 2 s.

Callbacks are timed through Flask's test client posting the same JSON the browser posts to
``/_dash-update-component`` (server side: queries, figure building, serialisation), cold (empty
cache: every query hits DuckDB) and warm (the warehouse did not change: answered from the cache).
First paint is timed in chromium (Playwright): from navigation until the page's main chart has
drawn its traces, app served on 127.0.0.1 in a thread.

Run: ``.venv/bin/python bench/bench_dashboard.py [--demo data/warehouse.duckdb] [--no-browser]``.
The demo warehouse comes from ``impact demo``; the synthetic one is generated in a temp folder.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboards.app import create_app  # noqa: E402
from pipelines import warehouse  # noqa: E402
from pipelines.warehouse.marts import DAILY_SENTIMENT_SQL  # noqa: E402

CALLBACK_TARGET_MS, PAINT_TARGET_S = 300.0, 2.0
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


# --- the synthetic warehouse -------------------------------------------------------------------------

def synthetic_warehouse(path: Path, n_tickers: int = 100, years: int = 10, n_events: int = 60, seed: int = 11) -> dict:
    """Prices, headlines, sentiment, events and event-study marts at 10 years x 100 tickers."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2015-01-02", periods=252 * years)
    tickers = [f"T{i:03d}" for i in range(n_tickers - 1)] + ["SPY"]
    n_days = len(days)
    market = rng.normal(0.0004, 0.011, n_days)
    beta = rng.uniform(0.6, 1.6, n_tickers)
    beta[-1] = 1.0
    noise = rng.normal(0, 0.018, (n_days, n_tickers))
    noise[:, -1] = 0
    rets = market[:, None] * beta[None, :] + noise
    close = 50 * np.exp(np.cumsum(np.log1p(rets), axis=0))
    now = datetime.now(UTC)
    long_date = np.tile(days.values, n_tickers)
    long_ticker = np.repeat(tickers, n_days)
    c = close.T.ravel()
    prices = pd.DataFrame({
        "ticker": long_ticker, "date": long_date, "open": c * (1 + rng.normal(0, 0.004, c.size)),
        "high": c * 1.012, "low": c * 0.988, "close": c, "adj_close": c,
        "volume": rng.integers(1_000_000, 50_000_000, c.size), "split_ratio": 1.0, "dividend": 0.0,
        "source": "synthetic", "ingested_at": now,
    })
    ar = (rets - market[:, None] * beta[None, :]).T.ravel()
    daily = pd.DataFrame({"ticker": long_ticker, "date": long_date, "benchmark": "SPY", "ret": rets.T.ravel(),
                          "expected": rets.T.ravel() - ar, "ar": ar, "sar": ar / 0.018, "alpha": 0.0,
                          "beta": np.repeat(beta, n_days), "sigma_e": 0.018, "n_est": 240, "computed_at": now})
    daily = daily.loc[daily["ticker"] != "SPY"]
    # Headlines: ~20 a day, one to two tickers each; sentiment for all of them.
    n_head = 20 * n_days
    hdays = rng.integers(0, n_days, n_head)
    ht = rng.integers(0, n_tickers - 1, n_head)
    published = pd.DatetimeIndex(days.values[hdays]).tz_localize("UTC") + pd.to_timedelta(rng.integers(13, 21, n_head), unit="h")
    headlines = pd.DataFrame({
        "headline_id": [f"h{i:07d}" for i in range(n_head)], "ny_date": days.values[hdays], "session_date": days.values[hdays],
        "published_at": published, "title": [f"Synthetic story {i} about {tickers[t]}" for i, t in enumerate(ht)],
        "summary": None, "url": None, "publisher": "Synthetic Wire", "tickers": [[tickers[t]] for t in ht],
        "source": "synthetic", "ingested_at": now,
    })
    score = np.clip(rng.normal(0, 0.5, n_head), -1, 1)
    label = np.where(score < -0.33, "negative", np.where(score > 0.33, "positive", "neutral"))
    sentiment = pd.DataFrame({"headline_id": headlines["headline_id"], "ticker": [tickers[t] for t in ht],
                              "model": "synthetic", "model_version": "v0", "relevance": "direct", "label": label, "p_negative": 0.3, "p_neutral": 0.4, "p_positive": 0.3, "score": score,
                              "scored_at": now})
    # Events: each with every stock, tau -5..+5 abnormal returns, four windows and ten tests.
    event_days = np.sort(rng.choice(np.arange(300, n_days - 20), n_events, replace=False))
    events, abnormal, windows, tests, aggregates, estimates = [], [], [], [], [], []
    stocks = tickers[:-1]
    for j, k in enumerate(event_days):
        eid = f"event-{j:03d}"
        events.append({"event_id": eid, "name": f"Synthetic event {j}", "kind": "synthetic", "origin": "curated",
                       "announced_at": None, "day0": days[k], "day0_rule": "next", "tickers": stocks[:8],
                       "description": "generated", "trigger_sar": None, "headline_ids": None, "computed_at": now})
        taus = np.arange(-5, 6)
        block = (rets[k - 5:k + 6, :-1] - market[k - 5:k + 6, None] * beta[None, :-1])
        car = np.cumsum(block, axis=0)
        for i, tk in enumerate(stocks):
            abnormal.append(pd.DataFrame({"event_id": eid, "ticker": tk, "tau": taus, "date": days[k - 5:k + 6],
                                          "ret": rets[k - 5:k + 6, i], "expected": rets[k - 5:k + 6, i] - block[:, i],
                                          "ar": block[:, i], "car": car[:, i], "sar": block[:, i] / 0.018}))
            estimates.append((eid, tk, days[k], "market", "SPY", "ok", None, 240, 238.0, 0.0, beta[i], 0.018, 0.3, now))
            for label_, lo, hi in (("[0,0]", 0, 0), ("[0,+1]", 0, 1), ("[-1,+1]", -1, 1), ("[-5,+5]", -5, 5)):
                value = block[lo + 5:hi + 6, i].sum()
                sd = 0.018 * np.sqrt(hi - lo + 1)
                windows.append((eid, tk, label_, lo, hi, value, value, value / sd, sd, value / sd, 0.5, 238.0))
        for label_, lo, hi in (("[0,0]", 0, 0), ("[0,+1]", 0, 1), ("[-1,+1]", -1, 1), ("[-5,+5]", -5, 5)):
            aggregates.append((eid, label_, lo, hi, len(stocks), 0.0, 0.0, 0.01, 0.0, 0.5, 0.05, True))
            for test in ("t_cross_section", "patell_z", "bmp_t", "kp_patell_z", "kp_bmp_t", "crude_dependence_t",
                         "corrado_rank", "generalized_sign_z", "wilcoxon_signed_rank", "sign_flip_permutation"):
                tests.append((eid, label_, lo, hi, test, float(rng.normal()), float(rng.uniform()), 98.0, len(stocks),
                              "normal", True, test.startswith("kp")))
    path.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.writer(path) as con:
        for name, frame in (("core.prices", prices), ("core.headlines", headlines), ("mart.daily_abnormal_returns", daily),
                            ("core.events", pd.DataFrame(events)), ("mart.abnormal_returns", pd.concat(abnormal))):
            con.register("incoming", frame)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
            con.unregister("incoming")
        con.executemany("INSERT INTO mart.event_estimates VALUES (" + ",".join("?" * 14) + ")", estimates)
        con.executemany("INSERT INTO mart.event_windows VALUES (" + ",".join("?" * 12) + ")", windows)
        con.executemany("INSERT INTO mart.event_aggregates VALUES (" + ",".join("?" * 12) + ")", aggregates)
        con.executemany("INSERT INTO mart.event_tests VALUES (" + ",".join("?" * 12) + ")", tests)
        con.register("incoming", sentiment)
        con.execute("INSERT INTO core.headline_sentiment BY NAME SELECT * FROM incoming")
        con.unregister("incoming")
        con.execute(DAILY_SENTIMENT_SQL)
        con.execute("INSERT INTO raw.ingestions VALUES ('prices', 'synthetic', ?, ?, ?, ?, 'bench')",
                    [days[0].date(), days[-1].date(), len(prices), now])
        con.execute("CHECKPOINT")
    return {"tickers": stocks, "events": [e["event_id"] for e in events], "first": days[0].date(), "last": days[-1].date()}


# --- callback timing ------------------------------------------------------------------------------

def _payload(app, output_ids: list[tuple[str, str]], inputs: list[tuple[str, str, object]], changed: str,
             state: list[tuple[str, str, object]] = ()) -> dict:
    outputs = [{"id": i, "property": p} for i, p in output_ids]
    key = "...".join(f"{i}.{p}" for i, p in output_ids)
    key = f"..{key}.." if len(output_ids) > 1 else key
    assert key in app.callback_map, f"no callback {key}"
    return {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": [changed]}


def time_callback(app, payload: dict, repeat: int = 5) -> tuple[float, float, int]:
    """Cold (cache emptied before each call) and warm median milliseconds, and the response size."""
    client = app.server.test_client()
    store = app.impact_store
    cold, warm = [], []
    size = 0
    for _ in range(repeat):
        store._cache.clear()
        store._latest.clear()
        started = time.perf_counter()
        response = client.post("/_dash-update-component", json=payload)
        cold.append(1000 * (time.perf_counter() - started))
        assert response.status_code == 200, response.data[:500]
        size = len(response.data)
        started = time.perf_counter()
        client.post("/_dash-update-component", json=payload)
        warm.append(1000 * (time.perf_counter() - started))
    return statistics.median(cold), statistics.median(warm), size


def callbacks(app, info: dict) -> list[tuple[str, dict]]:
    first, last = info["first"].isoformat(), info["last"].isoformat()
    year = (pd.Timestamp(info["last"]) - pd.DateOffset(years=1)).date().isoformat()
    ticker = info["ticker"]
    return [
        ("overview page (/)", _payload(app, [("page", "children"), ("page-retry", "disabled")],
                                       [("url", "pathname", "/"), ("page-retry", "n_intervals", None)], "url.pathname",
                                       [("url", "search", "")])),
        ("event explorer: choose event", _payload(app, [(i, p) for i, p in (
            ("event-header", "children"), ("event-prices", "figure"), ("event-ar", "figure"), ("event-car", "figure"),
            ("event-headlines", "children"), ("event-firm-tests", "children"), ("event-group-tests", "children"),
            ("event-retry", "disabled"))],
            [("event-select", "value", info["event"]), ("event-window", "value", "[-1,+1]"), ("event-retry", "n_intervals", None)],
            "event-select.value")),
        ("ticker: 1 year of candles", _payload(app, [("ticker-chart", "figure"), ("ticker-retry", "disabled")],
                                               [("ticker-select", "value", ticker), ("ticker-dates", "start_date", year),
                                                ("ticker-dates", "end_date", last), ("ticker-retry", "n_intervals", None)],
                                               "ticker-select.value")),
        ("ticker: full history", _payload(app, [("ticker-chart", "figure"), ("ticker-retry", "disabled")],
                                          [("ticker-select", "value", ticker), ("ticker-dates", "start_date", first),
                                           ("ticker-dates", "end_date", last), ("ticker-retry", "n_intervals", None)],
                                          "ticker-dates.start_date")),
        ("ticker: click a day -> headlines", _payload(app, [("ticker-headlines-title", "children"), ("ticker-headlines", "children")],
                                                      [("ticker-chart", "clickData", {"points": [{"x": info["day"]}]}),
                                                       ("ticker-select", "value", ticker), ("ticker-dates", "start_date", year),
                                                       ("ticker-dates", "end_date", last)], "ticker-chart.clickData")),
        ("sentiment: all tickers, full period", _payload(app, [("sentiment-scatter", "figure"), ("sentiment-table", "children"),
                                                               ("sentiment-note", "children"), ("sentiment-retry", "disabled")],
                                                         [("sentiment-tickers", "value", info["tickers"]),
                                                          ("sentiment-dates", "start_date", first), ("sentiment-dates", "end_date", last),
                                                          ("sentiment-retry", "n_intervals", None)], "sentiment-tickers.value")),
        ("sentiment: one ticker", _payload(app, [("sentiment-scatter", "figure"), ("sentiment-table", "children"),
                                                 ("sentiment-note", "children"), ("sentiment-retry", "disabled")],
                                           [("sentiment-tickers", "value", [ticker]),
                                            ("sentiment-dates", "start_date", first), ("sentiment-dates", "end_date", last),
                                            ("sentiment-retry", "n_intervals", None)], "sentiment-tickers.value")),
    ]


# --- first paint ----------------------------------------------------------------------------------

def first_paint(app, pages: list[tuple[str, str]], repeat: int = 3) -> list[tuple[str, float]]:
    """Median seconds from navigation until each page's main chart is drawn (traces, or the note saying why
    there are none, e.g. "sentiment not computed yet"), JS bundles in the browser cache as for a returning user."""
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            tab = context.new_page()
            tab.goto(url + "/")  # load the JS bundles once, as a returning analyst's browser has them
            tab.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
            for path, graph in pages:
                times = []
                for _ in range(repeat):
                    app.impact_store._cache.clear()
                    started = time.perf_counter()
                    tab.goto(url + path)
                    tab.wait_for_function(
                        f"() => {{ const gd = document.querySelector('#{graph} .js-plotly-plot');"
                        " return gd && gd.querySelector('.main-svg') && gd.data &&"
                        " (gd.data.length > 0 || (gd.layout.annotations || []).length > 0); }", timeout=60_000)
                    times.append(time.perf_counter() - started)
                results.append((path, statistics.median(times)))
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    return results


def bench(name: str, path: Path, info: dict, browser: bool) -> None:
    app = create_app(path)
    print(f"\n## {name}: {path}")
    print(f"{'callback':40s} {'cold ms':>9s} {'warm ms':>9s} {'KiB':>7s}  target {CALLBACK_TARGET_MS:.0f} ms")
    for label, payload in callbacks(app, info):
        cold, warm, size = time_callback(app, payload)
        flag = "ok" if cold < CALLBACK_TARGET_MS else "SLOW"
        print(f"{label:40s} {cold:9.1f} {warm:9.1f} {size / 1024:7.0f}  {flag}")
    if browser:
        pages = [("/", "overview-spotlight"), (f"/events?event={info['event']}", "event-ar"),
                 (f"/ticker?ticker={info['ticker']}", "ticker-chart"), ("/sentiment", "sentiment-scatter")]
        print(f"{'first paint (cold cache)':40s} {'s':>9s}  target {PAINT_TARGET_S:.0f} s")
        for page, seconds in first_paint(app, pages):
            print(f"{page:40s} {seconds:9.2f}  {'ok' if seconds < PAINT_TARGET_S else 'SLOW'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=warehouse.DEFAULT_WAREHOUSE, help="warehouse built by `impact demo`")
    parser.add_argument("--synthetic", type=Path, default=None, help="where to write the synthetic warehouse (default: temp)")
    parser.add_argument("--no-browser", action="store_true", help="skip the first-paint timings")
    args = parser.parse_args()
    if args.demo.exists():
        bench("demo warehouse", args.demo, {"event": "deepseek-r1-release", "ticker": "NVDA", "day": "2025-01-27",
                                            "tickers": ["NVDA", "MSFT", "META", "GOOGL", "AMZN", "AAPL", "AVGO", "TSM", "AMD",
                                                        "ORCL", "ASML", "SMCI"],
                                            "first": pd.Timestamp("2023-01-03").date(), "last": pd.Timestamp("2025-03-31").date()},
              not args.no_browser)
    else:
        print(f"no demo warehouse at {args.demo}: run `impact demo` first (skipping)")
    with tempfile.TemporaryDirectory() as tmp:
        target = args.synthetic or Path(tmp) / "synthetic.duckdb"
        started = time.perf_counter()
        info = synthetic_warehouse(target)
        print(f"\nsynthetic warehouse: {len(info['tickers']) + 1} tickers x {info['first']}..{info['last']} "
              f"built in {time.perf_counter() - started:.1f} s ({target.stat().st_size / 2**20:.0f} MiB)")
        info.update(event=info["events"][-1], ticker=info["tickers"][0], day=info["last"].isoformat())
        bench("synthetic 10y x 100 tickers", target, info, not args.no_browser)


if __name__ == "__main__":
    main()
