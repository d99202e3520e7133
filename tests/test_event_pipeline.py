"""The event-study pipeline on the demo warehouse: events, marts, macros, `impact study` and `impact events`."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.event_study import EventStudy
from pipelines import warehouse
from pipelines.cli import app
from pipelines.resources import NewsSourceResource, PriceSourceResource
from pipelines.runner import run_job

DEMO = (date(2023, 1, 3), date(2025, 3, 31))
TABLES = ("core.events", "mart.daily_abnormal_returns", "mart.event_estimates", "mart.abnormal_returns",
          "mart.event_windows", "mart.event_aggregates", "mart.event_tests")


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("events") / "w.duckdb"
    with dg.instance_for_test() as instance:
        for job, resources in (
            ("ingest_prices", {"price_source": PriceSourceResource(source="demo")}),
            ("ingest_news", {"news_source": NewsSourceResource(sources=["demo"])}),
            ("analyze", {}),
        ):
            outcome = run_job(job, *DEMO, warehouse_file=path, instance=instance, **resources)
            assert outcome.success, outcome.error
    return path


def _df(path, sql, params=None) -> pd.DataFrame:
    return warehouse.query(sql, params, path=path)


def _snapshot(path) -> dict[str, pd.DataFrame]:
    return {t: _df(path, f"SELECT * EXCLUDE (computed_at) FROM {t} ORDER BY ALL") if t in ("core.events", "mart.daily_abnormal_returns", "mart.event_estimates")
            else _df(path, f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES}


def test_events_hold_the_catalogue_and_detected_moves(demo_warehouse):
    events = _df(demo_warehouse, "SELECT * FROM core.events")
    curated = events[events["origin"] == "curated"]
    assert len(curated) == 17
    assert pd.Timestamp(curated.set_index("event_id").loc["deepseek-r1-release", "day0"]) == pd.Timestamp("2025-01-27")
    detected = events[events["origin"] == "detected"].set_index("event_id")
    nvda = detected.loc["detected-nvda-2025-01-27"]
    assert nvda["trigger_sar"] < -4
    assert len(nvda["headline_ids"]) >= 3, "the sell-off session's NVDA headlines are linked"
    linked = _df(demo_warehouse, "SELECT DISTINCT session_date FROM core.headline_tickers WHERE headline_id IN "
                                 "(SELECT unnest(headline_ids) FROM core.events WHERE event_id = 'detected-nvda-2025-01-27')")
    assert list(pd.to_datetime(linked["session_date"])) == [pd.Timestamp("2025-01-27")]


def test_deepseek_marts_agree_with_an_independent_fit(demo_warehouse):
    windows = _df(demo_warehouse, "SELECT * FROM mart.event_windows WHERE event_id = 'deepseek-r1-release'")
    day0 = windows[windows["window"] == "[0,0]"].set_index("ticker")
    assert day0.loc["NVDA", "car"] < -0.10 and day0.loc["NVDA", "car_p"] < 0.01
    assert day0.loc["AVGO", "car"] < -0.10 and day0.loc["AVGO", "car_p"] < 0.01
    assert day0.loc["AAPL", "car"] > 0
    prices = _df(demo_warehouse, "SELECT ticker, date, adj_close FROM core.prices")
    wide = prices.pivot(index="date", columns="ticker", values="adj_close").sort_index()
    returns = wide.pct_change(fill_method=None).iloc[1:]
    returns.index = pd.DatetimeIndex(returns.index)
    stocks = [t for t in returns.columns if t not in ("SPY", "QQQ", "SMH")]
    pairs = pd.DataFrame({"event_id": "e", "ticker": stocks, "day0": pd.Timestamp("2025-01-27")})
    direct = EventStudy(returns, pairs, event_windows=[(-1, 1)]).fit().windows.set_index("ticker")
    via_macro = _df(demo_warehouse, "SELECT ticker, car, car_t FROM mart.car(lo := -1, hi := 1) "
                                    "WHERE event_id = 'deepseek-r1-release'").set_index("ticker")
    np.testing.assert_allclose(via_macro.loc[stocks, "car"], direct.loc[stocks, "car"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(via_macro.loc[stocks, "car_t"], direct.loc[stocks, "car_t"], rtol=1e-10)


def test_macros_answer_the_common_questions(demo_warehouse):
    path = demo_warehouse
    window = _df(path, "SELECT * FROM mart.event_window('deepseek-r1-release', 'NVDA', lo := -5, hi := 5)")
    assert list(window["tau"]) == list(range(-5, 6))
    assert window.set_index("tau").loc[0, "ret"] == pytest.approx(118.42 / 142.62 - 1, abs=1e-6)
    ranked = _df(path, "FROM mart.car(lo := -1, hi := 1) ORDER BY car LIMIT 3")
    assert ranked["car"].is_monotonic_increasing and len(ranked) == 3
    significance = _df(path, "SELECT * FROM mart.event_significance('deepseek-r1-release', lo := -1, hi := 1)")
    assert {"kp_bmp_t", "bmp_t", "patell_z", "corrado_rank", "generalized_sign_z"} <= set(significance["test"])
    assert significance["clustered"].all()


def test_every_curated_event_is_studied_or_explained(demo_warehouse):
    estimates = _df(demo_warehouse, "SELECT e.event_id, s.status, s.reason FROM core.events e "
                                    "LEFT JOIN mart.event_estimates s USING (event_id) WHERE e.origin = 'curated'")
    assert estimates["status"].notna().all()
    assert (estimates.loc[estimates["status"] != "ok", "reason"].str.len() > 0).all()
    ok = estimates[estimates["status"] == "ok"].groupby("event_id").size()
    assert len(ok) >= 15


def test_analyze_reruns_are_identical(demo_warehouse):
    before = _snapshot(demo_warehouse)
    with dg.instance_for_test() as instance:
        outcome = run_job("analyze", *DEMO, warehouse_file=demo_warehouse, instance=instance)
    assert outcome.success, outcome.error
    after = _snapshot(demo_warehouse)
    for table in TABLES:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)


def test_study_command_prints_the_event(demo_warehouse, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    result = runner.invoke(app, ["study", "--event", "deepseek-r1-release", "--window", "-1,1", "--format", "json",
                                 "--warehouse", str(demo_warehouse)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    event = payload["samples"][0]  # DeepSeek-R1 names all 12 stocks: one sample, no spillovers
    assert [s["sample"] for s in payload["samples"]] == ["event"] and len(event["tickers"]) == 12
    by_ticker = {row["ticker"]: row for row in event["firms"] if row["window"] == "[-1,+1]"}
    stored = _df(demo_warehouse, "SELECT ticker, car FROM mart.event_windows WHERE event_id = 'deepseek-r1-release' "
                                 "AND \"window\" = '[-1,+1]'").set_index("ticker")["car"]
    assert by_ticker["NVDA"]["car"] == pytest.approx(stored["NVDA"], rel=1e-12)  # fractions, not percent
    assert {t["test"] for t in event["tests"]} >= {"kp_bmp_t", "kp_patell_z"}

    table = runner.invoke(app, ["study", "--event", "deepseek-r1-release", "--model", "factors",
                                "--warehouse", str(demo_warehouse)])
    assert table.exit_code == 0 and "SPY + SMH" in table.output and "NVDA" in table.output
    bad = runner.invoke(app, ["study", "--event", "nope", "--warehouse", str(demo_warehouse)])
    assert bad.exit_code != 0 and "unknown event 'nope'" in bad.output
    bad_window = runner.invoke(app, ["study", "--event", "deepseek-r1-release", "--window", "1",
                                     "--warehouse", str(demo_warehouse)])
    assert bad_window.exit_code != 0 and "START,END" in bad_window.output


def test_events_command_lists_day0(demo_warehouse, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["events", "--detected", "--warehouse", str(demo_warehouse)])
    assert result.exit_code == 0, result.output
    assert "deepseek-r1-release" in result.output and "2025-01-27" in result.output
    assert "detected-nvda-2025-01-27" in result.output
