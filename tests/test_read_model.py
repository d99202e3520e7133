"""The read model (pipelines/warehouse/read.py) on a demo warehouse built by real Dagster runs: the stored study
equals a fresh fit, `impact study` reads it (re-fitting only what it does not hold, and saying so), and the CLI
summary and the report share one per-ticker sentiment aggregation."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.event_study import EventStudy
from pipelines import study as studies
from pipelines import summary, warehouse
from pipelines.cli import app
from pipelines.warehouse import read
from tests.test_dashboard_browser import build_demo_warehouse

pytestmark = pytest.mark.slow

EVENT = "deepseek-r1-release"


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory):
    """The demo market for a few tickers, ingested and analysed by real Dagster runs.

    IMPACT_TEST_DEMO_WAREHOUSE=<file> starts from a copy of a warehouse those same runs built instead.
    """
    path = tmp_path_factory.mktemp("read") / "w.duckdb"
    prebuilt = os.environ.get("IMPACT_TEST_DEMO_WAREHOUSE")
    if prebuilt:
        shutil.copyfile(prebuilt, path)
        return path
    build_demo_warehouse(path)
    return path


def _fresh_fit(path, windows):
    """The event study of EVENT fitted here from core.prices, independently of the pipeline's glue."""
    prices = warehouse.query("SELECT ticker, date, adj_close FROM core.prices", path=path)
    wide = prices.pivot(index="date", columns="ticker", values="adj_close").sort_index()
    returns = wide.pct_change(fill_method=None).iloc[1:]
    returns.index = pd.DatetimeIndex(returns.index)
    stocks = [t for t in returns.columns if t not in ("SPY", "QQQ", "SMH")]
    pairs = pd.DataFrame({"event_id": EVENT, "ticker": stocks, "day0": pd.Timestamp("2025-01-27")})
    return EventStudy(returns, pairs, benchmark="SPY", event_windows=list(windows)).fit()


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12, atol=1e-15)


def test_the_event_answer_equals_a_fresh_fit(demo_warehouse):
    with warehouse.reader(demo_warehouse) as con:
        answer = read.event(con, EVENT)
        stored = read.event_study(con, EVENT)
    assert answer["event"]["tickers"] and answer["benchmark"] == "SPY" and stored.model == "market"
    fit = _fresh_fit(demo_warehouse, stored.bounds)
    assert stored.bounds == [(0, 0), (0, 1), (-1, 1), (-5, 5)]

    mine = answer["windows"].set_index(["ticker", "window"]).sort_index()
    theirs = fit.windows.set_index(["ticker", "window"]).sort_index()
    assert list(mine.index) == list(theirs.index) and len(mine) == 5 * 4
    for column in ("car", "bhar", "car_sd", "car_t", "car_p", "df"):
        _close(mine[column], theirs[column])

    ab_mine = answer["abnormal"].set_index(["ticker", "tau"]).sort_index()
    ab_theirs = fit.abnormal.set_index(["ticker", "tau"]).sort_index()
    assert list(ab_mine.index) == list(ab_theirs.index)
    for column in ("ret", "expected", "ar", "car", "sar"):
        _close(ab_mine[column], ab_theirs[column])

    tests_mine = answer["tests"].set_index(["window", "test"]).sort_index()
    tests_theirs = fit.tests.set_index(["window", "test"]).sort_index()
    assert list(tests_mine.index) == list(tests_theirs.index)
    _close(tests_mine["statistic"], tests_theirs["statistic"])
    _close(tests_mine["p_value"], tests_theirs["p_value"])
    aggregates = answer["aggregates"].set_index("window").loc[fit.aggregate["window"]]
    _close(aggregates["caar"], fit.aggregate["caar"])
    _close(aggregates["share_positive"], fit.aggregate["share_positive"])


def test_study_reads_the_stored_study_for_the_stored_configuration(demo_warehouse, monkeypatch):
    """The default `impact study` answers from the marts (no fit at all) with the numbers a fit gives."""

    def no_fit(*args, **kwargs):
        raise AssertionError("impact study re-fitted an event the marts hold")

    monkeypatch.setattr(studies, "fit_event", no_fit)
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(
        app, ["study", "--event", EVENT, "--format", "json", "--warehouse", str(demo_warehouse)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["source"]["kind"] == "stored" and payload["source"]["detail"].startswith("stored study")
    fit = _fresh_fit(demo_warehouse, [(0, 0), (-1, 1)])
    expected = fit.windows.set_index(["ticker", "window"]).sort_index()
    event = payload["samples"][0]  # DeepSeek-R1 names every stock: the event sample is all of them
    printed = pd.DataFrame(event["firms"]).set_index(["ticker", "window"]).sort_index()
    assert list(printed.index) == list(expected.index)
    for column in ("car", "car_t", "car_p"):
        _close(printed[column], expected[column])
    stored = pd.DataFrame(event["tests"])
    assert list(stored["window"].unique()) == ["[0,0]", "[-1,+1]"] and "kp_bmp_t" in set(stored["test"])

    table = CliRunner().invoke(app, ["study", "--event", EVENT, "--window", "-1,1", "--warehouse", str(demo_warehouse)])
    assert table.exit_code == 0, table.output
    assert "stored study" in table.output and "re-fitted" not in table.output and "NVDA" in table.output


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (["--window", "-2,2"], "re-fitted: windows differ from the stored study ([-2,+2] not among"),
        (["--model", "constant-mean"], "re-fitted: model constant-mean differs from the stored study's market"),
    ],
)
def test_study_refits_what_the_marts_do_not_hold_and_says_so(demo_warehouse, monkeypatch, options, reason):
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["study", "--event", EVENT, *options, "--warehouse", str(demo_warehouse)])
    assert result.exit_code == 0, result.output
    assert reason in result.output and "NVDA" in result.output


def test_study_refits_when_prices_are_newer_than_the_stored_study():
    day = pd.Timestamp("2025-01-27")
    at = pd.Timestamp("2025-02-01 12:00", tz="UTC")
    estimates = pd.DataFrame(
        {
            "ticker": ["NVDA"],
            "day0": [day],
            "model": ["market"],
            "benchmark": ["SPY"],
            "status": ["ok"],
            "reason": [None],
            "computed_at": [at],
        }
    )
    aggregates = pd.DataFrame({"window": ["[0,0]", "[-1,+1]"], "tau_start": [0, -1], "tau_end": [0, 1]})
    stored = read.StoredStudy(estimates, pd.DataFrame(), pd.DataFrame(), aggregates, pd.DataFrame())
    assert studies.refit_reason(stored, "market", "SPY", [(0, 0)], at - pd.Timedelta(hours=1)) is None
    assert "ingested after the stored study" in studies.refit_reason(
        stored, "market", "SPY", [(0, 0)], at + pd.Timedelta(hours=1)
    )
    assert "no stored study" in studies.refit_reason(None, "market", "SPY", [(0, 0)], None)
    assert "benchmark QQQ differs from the stored study's SPY" in studies.refit_reason(
        stored, "market", "QQQ", [(0, 0)], None
    )
    assert "[0,+1] not among [0,0], [-1,+1]" in studies.refit_reason(stored, "market", "SPY", [(0, 1)], None)


def test_cli_summary_and_report_share_one_sentiment_aggregation(demo_warehouse):
    from dashboards.report import SENTIMENT_SESSIONS, load_event

    with warehouse.reader(demo_warehouse) as con:
        before = read.sentiment_by_ticker(con, EVENT)
        around = read.sentiment_by_ticker(con, EVENT, *SENTIMENT_SESSIONS)
    assert len(before) and len(around), "the demo's headlines are scored"
    cli = summary.event_report(EVENT, demo_warehouse)["sentiment"].set_index("ticker")
    _close(cli["mean_score"], before.set_index("ticker").loc[cli.index, "mean_score"].round(3))
    bundle, _ = load_event(EVENT, demo_warehouse)
    pd.testing.assert_frame_equal(bundle["sentiment"], around)
    # The same numbers as aggregating the (headline, ticker) scores the report lists, as the report used to.
    pairs = pd.DataFrame([s for scores in bundle["headlines"]["scores"] for s in scores])
    weighted = (pairs["weight"] * pairs["score"]).groupby(pairs["ticker"]).sum() / pairs.groupby("ticker")[
        "weight"
    ].sum()
    mine = around.set_index("ticker")
    assert sorted(mine.index) == sorted(weighted.index)
    _close(mine.loc[weighted.index, "mean_score"], weighted)
    assert (mine["headlines"] == pairs.groupby("ticker").size().loc[mine.index]).all()
