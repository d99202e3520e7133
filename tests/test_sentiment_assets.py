"""The sentiment assets: incremental scoring into a tmp DuckDB, re-scoring on a new version, the daily mart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg
import pandas as pd
import pytest

from models.sentiment.text import Pair, Prediction, normalize_headline, prediction_from_probs
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
    """A deterministic, target-aware stand-in that records the (headline, ticker) pairs it was asked to score."""

    model_id = "keyword"

    def __init__(self, version: str) -> None:
        self.model_version = version
        self.seen: list[tuple[str, str | None]] = []

    def predict(self, pairs: Sequence[Pair], batch_size: int = 32) -> list[Prediction]:
        self.seen.extend((p.headline, p.target.ticker) for p in pairs)
        out = []
        for pair in pairs:
            text, name = normalize_headline(pair.headline), pair.target.name
            probs = (0.8, 0.1, 0.1) if f"{name} sinks" in text else (0.1, 0.1, 0.8) if f"{name} gains" in text else (0.1, 0.8, 0.1)
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


def test_real_model_scores_each_company_of_a_headline_and_builds_the_mart(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    _add_headlines(path, [
        ("2025-01-27T14:00:00Z", "AMD wins Microsoft AI-chip order", "AMD"),
        ("2025-01-27T15:00:00Z", "Meta shares jump after strong ad sales", "META"),
        ("2025-01-27T22:00:00Z", "Apple schedules its earnings call", "AAPL"),  # after the close: next session
    ])
    _run(path, None, monkeypatch)
    rows = _table(path, "SELECT * FROM core.headline_sentiment ORDER BY headline_id, ticker")
    assert rows["model"].nunique() == 1
    assert (rows[["p_negative", "p_neutral", "p_positive"]].sum(axis=1) - 1).abs().max() < 1e-6
    amd_story = _table(path, "SELECT headline_id FROM core.headlines WHERE title LIKE 'AMD wins%'")["headline_id"][0]
    order = rows[rows["headline_id"].eq(amd_story)].set_index("ticker")
    assert order.loc[["AMD", "MSFT"], "relevance"].tolist() == ["direct", "direct"]  # each company named gets its row
    assert (order.loc["NVDA", "relevance"], order.loc["NVDA", "relation"]) == ("indirect", "competitor")
    assert order.loc["AMD", "label"] == "positive" and order.loc["NVDA", "label"] == "negative"  # a rival's win
    mart = _table(path, "SELECT ticker, date, headlines, direct_headlines, mean_score, ar FROM mart.daily_sentiment")
    by_ticker = mart.set_index("ticker")
    assert {"AAPL", "AMD", "META", "MSFT", "NVDA"} <= set(by_ticker.index)
    assert str(by_ticker.loc["AAPL", "date"])[:10] == "2025-01-28"
    assert by_ticker.loc["META", "mean_score"] > 0.3
    assert mart["ar"].isna().all()  # no abnormal returns computed yet


def test_incremental_scoring_by_pair_and_new_version_rescore(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    _add_headlines(path, [("2025-01-27T14:00:00Z", "Nvidia sinks", "NVDA"), ("2025-01-27T15:00:00Z", "Meta gains", "META")])
    first = KeywordModel("v1")
    _run(path, first, monkeypatch)
    stored = _table(path, "SELECT h.title, s.ticker FROM core.headline_sentiment AS s JOIN core.headlines AS h USING (headline_id)")
    assert sorted(first.seen) == sorted(map(tuple, stored.values.tolist()))  # every linked pair, scored once
    assert {("Meta gains", "META"), ("Nvidia sinks", "NVDA")} <= set(first.seen)

    again = KeywordModel("v1")
    result = _run(path, again, monkeypatch)
    assert again.seen == []
    metadata = result.asset_materializations_for_node("core__headline_sentiment")[0].metadata
    assert metadata["scored"].value == 0

    _add_headlines(path, [("2025-01-28T14:00:00Z", "AMD gains as Nvidia sinks", "AMD")], day=date(2025, 1, 28))
    newer = KeywordModel("v1")
    _run(path, newer, monkeypatch)
    assert ("AMD gains as Nvidia sinks", "AMD") in newer.seen and ("AMD gains as Nvidia sinks", "NVDA") in newer.seen
    assert all(headline == "AMD gains as Nvidia sinks" for headline, _ in newer.seen)
    scores = _table(path, "SELECT ticker, label FROM core.headline_sentiment WHERE headline_id IN "
                          "(SELECT headline_id FROM core.headlines WHERE title LIKE 'AMD gains%')").set_index("ticker")["label"]
    assert scores["AMD"] == "positive" and scores["NVDA"] == "negative"

    retrained = KeywordModel("v2")
    _run(path, retrained, monkeypatch)
    assert len(retrained.seen) == len(first.seen) + len(newer.seen) == len(_table(path, "FROM core.headline_sentiment"))
    versions = _table(path, "SELECT DISTINCT model, model_version FROM core.headline_sentiment")
    assert versions.values.tolist() == [["keyword", "v2"]]


def test_pairs_come_from_the_linker_and_the_source_tags(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    _add_headlines(path, [
        ("2025-01-27T14:00:00Z", "DeepSeek assistant tops the US App Store free chart", ""),
        ("2025-01-27T15:00:00Z", "Quarterly filing season begins", "ORCL"),  # tagged by the source, names nobody
        ("2025-01-27T16:00:00Z", "Ford recalls 10,000 trucks", ""),
    ])
    _run(path, KeywordModel("v1"), monkeypatch)
    rows = _table(path, "SELECT h.title, s.ticker, s.relevance, s.relation FROM core.headline_sentiment AS s "
                        "JOIN core.headlines AS h USING (headline_id)")
    deepseek = rows[rows["title"].str.startswith("DeepSeek")].set_index("ticker")
    assert deepseek.loc["NVDA", "relevance"] == "indirect"
    tagged = rows[rows["title"].str.startswith("Quarterly")]
    assert tagged[["ticker", "relevance", "relation"]].values.tolist() == [["ORCL", "indirect", "tagged"]]
    assert not rows["title"].str.startswith("Ford").any()  # concerns no company: no pair


def test_mart_weights_pairs_by_relevance_and_joins_abnormal_returns(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    _add_headlines(path, [("2025-01-27T14:00:00Z", "Nvidia sinks", "NVDA"), ("2025-01-27T15:00:00Z", "Meta gains", "META"),
                          ("2025-01-27T16:00:00Z", "Meta gains again", "META,NVDA")])
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
    mart = _table(path, "SELECT * FROM mart.daily_sentiment ORDER BY ticker").set_index("ticker")
    assert mart.loc["NVDA", "ar"] == pytest.approx(-0.16) and mart.loc["NVDA", "sar"] == pytest.approx(-5.2)
    assert pd.isna(mart.loc["META", "ar"])
    pairs = _table(path, "SELECT ticker, relevance, label, score FROM core.headline_sentiment")
    pairs["weight"] = pairs["relevance"].map({"direct": 1.0, "indirect": 0.5})
    for ticker, group in pairs.groupby("ticker"):
        weight = group["weight"].sum()
        assert mart.loc[ticker, "mean_score"] == pytest.approx((group["weight"] * group["score"]).sum() / weight)
        assert mart.loc[ticker, "share_positive"] == pytest.approx(group["weight"][group["label"] == "positive"].sum() / weight)
        assert mart.loc[ticker, "direct_headlines"] == (group["relevance"] == "direct").sum()
        assert mart.loc[ticker, "headlines"] == len(group)
    # Nvidia's own bad news counts fully; Meta's good news reaches it only as an indirect (customer or tagged) pair.
    nvda = pairs[pairs["ticker"] == "NVDA"].set_index("relevance")
    assert nvda.loc["direct", "score"] == pytest.approx(-0.7) and (nvda.loc[["indirect"], "score"] == 0).all()
    assert mart.loc["META", "mean_score"] > 0.5 > -0.3 > mart.loc["NVDA", "mean_score"]


def test_a_headline_level_warehouse_is_migrated_without_losing_rows(tmp_path):
    import duckdb

    path = tmp_path / "old.duckdb"
    _add_headlines(path, [("2025-01-27T14:00:00Z", "Nvidia and AMD slide", "AMD,NVDA"), ("2025-01-27T15:00:00Z", "Untagged", "")])
    with duckdb.connect(str(path)) as con:  # the layout before pairs: one row per (headline, model)
        con.execute("DROP SCHEMA meta CASCADE")  # a file from before the identity marker, as such layouts were
        con.execute("DROP TABLE core.headline_sentiment")
        con.execute("CREATE TABLE core.headline_sentiment (headline_id VARCHAR NOT NULL, model VARCHAR NOT NULL, "
                    "model_version VARCHAR NOT NULL, label VARCHAR NOT NULL, p_negative DOUBLE NOT NULL, p_neutral DOUBLE NOT NULL, "
                    "p_positive DOUBLE NOT NULL, score DOUBLE NOT NULL, scored_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (headline_id, model))")
        con.execute("INSERT INTO core.headline_sentiment SELECT headline_id, 'old', 'v0', 'negative', 0.8, 0.1, 0.1, -0.7, now() "
                    "FROM core.headlines")
        con.execute("DROP TABLE mart.daily_sentiment")
        con.execute("CREATE TABLE mart.daily_sentiment (ticker VARCHAR NOT NULL, date DATE NOT NULL, model VARCHAR NOT NULL, "
                    "model_version VARCHAR, headlines BIGINT NOT NULL, mean_score DOUBLE, share_negative DOUBLE, share_positive DOUBLE, "
                    "ar DOUBLE, sar DOUBLE, PRIMARY KEY (ticker, date, model))")
        con.execute("INSERT INTO mart.daily_sentiment VALUES ('NVDA', DATE '2025-01-27', 'old', 'v0', 1, -0.7, 1, 0, NULL, NULL)")
    with warehouse.writer(path):
        pass
    rows = _table(path, "SELECT h.title, s.ticker, s.relevance, s.model, s.score FROM core.headline_sentiment AS s "
                        "JOIN core.headlines AS h USING (headline_id) ORDER BY h.title, s.ticker")
    assert rows.values.tolist() == [
        ["Nvidia and AMD slide", "AMD", "direct", "old", -0.7], ["Nvidia and AMD slide", "NVDA", "direct", "old", -0.7],
        ["Untagged", "", "none", "old", -0.7],
    ]
    assert _table(path, "SELECT count(*) AS n FROM mart.daily_sentiment")["n"][0] == 1
    with warehouse.writer(path):  # idempotent
        pass
    assert len(_table(path, "SELECT * FROM core.headline_sentiment")) == 3


def test_resource_from_env(monkeypatch):
    monkeypatch.setenv("IMPACT_SENTIMENT_BACKEND", "remote")
    monkeypatch.setenv("IMPACT_SENTIMENT_DEVICE", "cpu")
    monkeypatch.setenv("IMPACT_SENTIMENT_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("IMPACT_SENTIMENT_MODEL", "qwen2.5-7b-instruct")
    resource = sentiment_resource_from_env()
    assert (resource.backend, resource.device, resource.url, resource.model) == (
        "remote", "cpu", "http://127.0.0.1:8000/v1", "qwen2.5-7b-instruct")
    monkeypatch.delenv("IMPACT_SENTIMENT_BACKEND")
    monkeypatch.delenv("IMPACT_SENTIMENT_URL")
    assert sentiment_resource_from_env().backend == "local"
