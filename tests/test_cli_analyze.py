"""`impact ingest` ends with the analyze job (events, study marts, sentiment); `--no-analyze` and `impact analyze`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from models.calendar import sessions
from models.sentiment.text import Pair, Prediction, prediction_from_probs
from pipelines import warehouse
from pipelines.assets import sentiment as sentiment_assets
from pipelines.cli import app

START, END = date(2025, 1, 2), date(2025, 2, 14)
"""30 sessions around the DeepSeek-R1 sell-off (2025-01-27): short, yet longer than the study's event span."""

ANALYSIS_TABLES = ("core.events", "mart.event_estimates", "core.headline_sentiment", "mart.daily_sentiment")


class NeutralModel:
    """A stand-in scorer (the real one is the sentiment tests' business): every pair neutral."""

    model_id, model_version = "test-neutral", "1"

    def predict(self, pairs: Sequence[Pair], batch_size: int = 32) -> list[Prediction]:
        return [prediction_from_probs((0.1, 0.8, 0.1), self.model_id, self.model_version) for _ in pairs]


def _vendor_files(folder: Path) -> tuple[Path, Path]:
    """A price folder (NVDA, SPY as Yahoo exports) and a canonical headline file for START..END."""
    prices = folder / "prices"
    prices.mkdir(parents=True)
    days = sessions(START, END)
    for ticker, level in (("NVDA", 130.0), ("SPY", 590.0)):
        close = level * np.exp(np.cumsum(np.sin(np.arange(len(days))) / 100))
        pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01, "Low": close * 0.99,
                      "Close": close, "Adj Close": close, "Volume": 1_000_000}).to_csv(prices / f"{ticker}.csv", index=False)
    news = folder / "news.csv"
    pd.DataFrame({
        "published_at": ["2025-01-27T13:05:00Z", "2025-01-28T15:30:00Z", "2025-02-03T21:10:00Z"],
        "title": ["Nvidia sinks as DeepSeek questions AI spending", "Nvidia rebounds after sell-off",
                  "Nvidia shares steady ahead of earnings"],
        "tickers": ["NVDA", "NVDA", "NVDA"],
    }).to_csv(news, index=False)
    return prices, news


def _ingest(folder: Path, path: Path, *extra: str) -> Result:
    prices, news = _vendor_files(folder)
    return CliRunner().invoke(app, [
        "ingest", "--source", "files", "--path", str(prices), "--news-source", "files", "--news-path", str(news),
        "--tickers", "NVDA,SPY", "--start", START.isoformat(), "--end", END.isoformat(), "--warehouse", str(path), *extra,
    ])


def _counts(path: Path) -> dict[str, int]:
    with warehouse.reader(path) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("core.prices", "core.headlines", *ANALYSIS_TABLES)}


@pytest.fixture(autouse=True)
def _cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sentiment_assets, "_cached_classifier", lambda *args: NeutralModel())


@pytest.fixture(scope="module")
def unanalysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A warehouse ingested with --no-analyze (shared: only the first test reads it before analysing)."""
    root = tmp_path_factory.mktemp("unanalysed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(root / "dagster"))
        patch.setenv("COLUMNS", "200")
        result = _ingest(root, root / "w.duckdb", "--no-analyze")
    assert result.exit_code == 0, result.output
    assert "analysis" not in result.output.replace("Not analysed", "")
    assert "Not analysed (--no-analyze): run `impact analyze`" in result.output
    yield root / "w.duckdb"


@pytest.mark.slow
def test_no_analyze_leaves_the_analysis_empty_and_impact_analyze_fills_it(unanalysed: Path) -> None:
    before = _counts(unanalysed)
    assert before["core.prices"] == 2 * len(sessions(START, END)) and before["core.headlines"] == 3
    assert all(before[t] == 0 for t in ANALYSIS_TABLES), before

    result = CliRunner().invoke(app, ["analyze", "--warehouse", str(unanalysed)])
    assert result.exit_code == 0, result.output
    assert f"analysis {START}..{END} ok" in result.output
    after = _counts(unanalysed)
    assert all(after[t] > 0 for t in ANALYSIS_TABLES), after
    assert {k: after[k] for k in ("core.prices", "core.headlines")} == {k: before[k] for k in ("core.prices", "core.headlines")}
    scored = warehouse.query("SELECT DISTINCT model FROM core.headline_sentiment", path=unanalysed)
    assert scored["model"].tolist() == ["test-neutral"]


@pytest.mark.slow
def test_ingest_runs_the_analysis_with_progress_lines(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    result = _ingest(tmp_path, path)
    assert result.exit_code == 0, result.output
    for step in ("prices (files)", "headlines (files)", "analysis"):
        assert f"{step} {START}..{END} ok" in result.output, result.output
    counts = _counts(path)
    assert all(counts[t] > 0 for t in ANALYSIS_TABLES), counts
    assert f"Analysis: {counts['core.events']} events" in result.output
    assert f"{counts['core.headline_sentiment']} headline sentiment rows" in result.output
    curated = warehouse.query("SELECT count(*) AS n FROM core.events WHERE origin = 'curated'", path=path)["n"][0]
    studied = warehouse.query("SELECT count(DISTINCT event_id) AS n FROM mart.event_estimates", path=path)["n"][0]
    assert studied == curated, "every curated event has its firm-events in the study marts (or the reason they are excluded)"


def test_analyze_without_a_warehouse_says_to_ingest(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["analyze", "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1
    assert "no warehouse at" in result.output and "impact ingest" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2


@pytest.mark.slow
def test_analyze_outside_the_ingested_range_lists_what_the_warehouse_holds(unanalysed: Path) -> None:
    result = CliRunner().invoke(app, ["analyze", "--start", "2024-03-01", "--end", "2024-03-29", "--warehouse", str(unanalysed)])
    assert result.exit_code == 1
    assert f"the warehouse holds {START}..{END}" in result.output
    assert "impact ingest --start 2024-03-01 --end 2024-03-29" in result.output
    backwards = CliRunner().invoke(app, ["analyze", "--start", "2025-02-10", "--end", "2025-01-10", "--warehouse", str(unanalysed)])
    assert backwards.exit_code != 0 and "before --start" in backwards.output


def test_ingest_takes_intraday_bars_from_a_source_and_refuses_unknown_ones(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    day = ["--start", "2025-01-27", "--end", "2025-01-27", "--tickers", "NVDA,SPY", "--warehouse", str(path)]
    result = CliRunner().invoke(app, ["ingest", *day, "--intraday-source", "demo", "--no-analyze"])
    assert result.exit_code == 0, result.output
    assert "intraday (demo, 1m) 2025-01-27..2025-01-27 ok" in result.output
    with warehouse.reader(path) as con:
        bars = dict(con.execute("SELECT ticker, count(*) FROM core.bars_intraday GROUP BY ALL").fetchall())
    assert bars == {"NVDA": 960, "SPY": 960}  # 04:00-20:00 New York, one bar a minute
    for option, value, says in (("--intraday-source", "bloomberg", "unknown intraday source 'bloomberg'"),
                                ("--interval", "3m", "unknown interval '3m'")):
        refused = CliRunner().invoke(app, ["ingest", *day, "--intraday-source", "demo", option, value])
        assert refused.exit_code == 2 and says in refused.output and "Traceback" not in refused.output
