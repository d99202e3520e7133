"""The sentiment assets: incremental scoring into a tmp DuckDB, re-scoring on a new version, the daily mart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg
import pandas as pd
import pytest

from models.sentiment.text import Prediction, normalize_headline, prediction_from_probs
from pipelines import warehouse
from pipelines.assets import sentiment as assets
from pipelines.assets.sentiment import SENTIMENT_ASSETS, SentimentResource, sentiment_resource_from_env
from pipelines.resources import WarehouseResource
from pipelines.sources.base import validate_headlines

DAY = date(2025, 1, 27)


def _add_headlines(path, rows: list[tuple[str, str, str]], day: date = DAY) -> None:
    frame = pd.DataFrame(rows, columns=["published_at", "title", "tickers"]).assign(source="test")
    with warehouse.writer(path) as con:
        warehouse.replace_headlines(con, validate_headlines(frame, "test"), day, day, ["test"])


def _table(path, sql: str) -> pd.DataFrame:
    with warehouse.reader(path) as con:
        return con.execute(sql).df()


class KeywordModel:
    """A deterministic stand-in that records what it was asked to score."""

    model_id = "keyword"

    def __init__(self, version: str) -> None:
        self.model_version = version
        self.seen: list[str] = []

    def predict(self, headlines: Sequence[str], batch_size: int = 32) -> list[Prediction]:
        self.seen.extend(headlines)
        out = []
        for text in map(normalize_headline, headlines):
            probs = (0.8, 0.1, 0.1) if "sinks" in text else (0.1, 0.1, 0.8) if "gains" in text else (0.1, 0.8, 0.1)
            out.append(prediction_from_probs(probs, self.model_id, self.model_version))
        return out


def _run(path, model: KeywordModel | None, monkeypatch) -> dg.ExecuteInProcessResult:
    if model is not None:
        monkeypatch.setattr(assets, "_cached_classifier", lambda *args: model)
    result = dg.materialize(
        SENTIMENT_ASSETS,
        resources={"warehouse": WarehouseResource(path=str(path)), "sentiment": SentimentResource(device="cpu")},
    )
    assert result.success
    return result


def test_real_model_scores_headlines_and_builds_the_mart(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    _add_headlines(path, [
        ("2025-01-27T14:00:00Z", "NVIDIA sinks as DeepSeek rattles AI trade", "NVDA AVGO"),
        ("2025-01-27T15:00:00Z", "Meta shares gain after strong ad sales", "META"),
        ("2025-01-27T22:00:00Z", "Apple schedules its earnings call", "AAPL"),  # after the close: next session
    ])
    _run(path, None, monkeypatch)
    rows = _table(path, "SELECT * FROM core.headline_sentiment ORDER BY score")
    assert len(rows) == 3 and rows["model"].nunique() == 1
    assert (rows[["p_negative", "p_neutral", "p_positive"]].sum(axis=1) - 1).abs().max() < 1e-6
    assert rows.iloc[0]["label"] == "negative"
    mart = _table(path, "SELECT ticker, date, headlines, mean_score, share_negative, ar FROM mart.daily_sentiment ORDER BY ticker")
    assert list(mart["ticker"]) == ["AAPL", "AVGO", "META", "NVDA"]
    assert str(mart.set_index("ticker").loc["AAPL", "date"])[:10] == "2025-01-28"
    assert mart.set_index("ticker").loc["NVDA", "share_negative"] == 1.0
    assert mart["ar"].isna().all()  # no abnormal returns computed yet


def test_incremental_scoring_and_new_version_rescore(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    _add_headlines(path, [("2025-01-27T14:00:00Z", "NVIDIA sinks", "NVDA"), ("2025-01-27T15:00:00Z", "Meta gains", "META")])
    first = KeywordModel("v1")
    _run(path, first, monkeypatch)
    assert sorted(first.seen) == ["Meta gains", "NVIDIA sinks"]

    again = KeywordModel("v1")
    result = _run(path, again, monkeypatch)
    assert again.seen == []
    metadata = result.asset_materializations_for_node("core__headline_sentiment")[0].metadata
    assert metadata["scored"].value == 0

    _add_headlines(path, [("2025-01-28T14:00:00Z", "AMD gains on new chip", "AMD")], day=date(2025, 1, 28))
    newer = KeywordModel("v1")
    _run(path, newer, monkeypatch)
    assert newer.seen == ["AMD gains on new chip"]

    retrained = KeywordModel("v2")
    _run(path, retrained, monkeypatch)
    assert len(retrained.seen) == 3
    versions = _table(path, "SELECT DISTINCT model, model_version FROM core.headline_sentiment")
    assert versions.values.tolist() == [["keyword", "v2"]]


def test_mart_joins_abnormal_returns_when_present(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    _add_headlines(path, [("2025-01-27T14:00:00Z", "NVIDIA sinks", "NVDA"), ("2025-01-27T15:00:00Z", "Meta gains", "META")])
    with warehouse.writer(path) as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS mart.daily_abnormal_returns (ticker VARCHAR, date DATE, benchmark VARCHAR, "
            "ret DOUBLE, expected DOUBLE, ar DOUBLE, sar DOUBLE, computed_at TIMESTAMPTZ)"
        )
        con.execute(
            "INSERT INTO mart.daily_abnormal_returns BY NAME SELECT 'NVDA' AS ticker, DATE '2025-01-27' AS date, "
            "'SPY' AS benchmark, -0.17 AS ret, -0.01 AS expected, -0.16 AS ar, -5.2 AS sar, now() AS computed_at"
        )
    _run(path, KeywordModel("v1"), monkeypatch)
    mart = _table(path, "SELECT ticker, mean_score, share_positive, ar, sar FROM mart.daily_sentiment ORDER BY ticker").set_index("ticker")
    assert mart.loc["NVDA", "ar"] == pytest.approx(-0.16) and mart.loc["NVDA", "sar"] == pytest.approx(-5.2)
    assert pd.isna(mart.loc["META", "ar"])
    assert mart.loc["META", "share_positive"] == 1.0 and mart.loc["META", "mean_score"] == pytest.approx(0.7)


def test_resource_from_env(monkeypatch):
    monkeypatch.setenv("IMPACT_SENTIMENT_BACKEND", "remote")
    monkeypatch.setenv("IMPACT_SENTIMENT_DEVICE", "cpu")
    monkeypatch.setenv("IMPACT_SENTIMENT_URL", "http://127.0.0.1:8000/v1")
    resource = sentiment_resource_from_env()
    assert (resource.backend, resource.device, resource.url) == ("remote", "cpu", "http://127.0.0.1:8000/v1")
    monkeypatch.delenv("IMPACT_SENTIMENT_BACKEND")
    monkeypatch.delenv("IMPACT_SENTIMENT_URL")
    assert sentiment_resource_from_env().backend == "local"
