"""Sentiment domain: score headlines incrementally, then aggregate per ticker and NYSE session.

``core/headline_sentiment`` scores only the headlines the configured model version has not
scored: a new model version (a retrained head, another prompt) re-scores everything for that
model, and each row records the model id and version. Inference runs with no warehouse
connection open; the results go in with one transaction. ``mart/daily_sentiment`` joins the
scores to the lead's ``mart.daily_abnormal_returns`` when that table exists.
"""


import os
from datetime import UTC, datetime
from functools import lru_cache

import dagster as dg
import pandas as pd

from pipelines import warehouse as wh
from pipelines.resources import WarehouseResource


class SentimentResource(dg.ConfigurableResource):
    """Which sentiment model scores headlines: local (``head`` or ``fewshot``, on ``device``) or a remote server."""

    backend: str = "local"
    model: str = "head"
    device: str = "auto"
    batch_size: int = 32
    url: str | None = None
    remote_model: str = "default"
    timeout_s: float = 30.0

    def build(self):
        """The classifier; local models are loaded once per process and configuration."""
        return _cached_classifier(self.backend, self.model, self.device, self.url, self.remote_model, self.timeout_s)


@lru_cache(maxsize=2)
def _cached_classifier(backend: str, model: str, device: str, url: str | None, remote_model: str, timeout_s: float):
    from models.sentiment import load_classifier

    return load_classifier(backend=backend, model=model, device=device, url=url, remote_model=remote_model, timeout_s=timeout_s)


def sentiment_resource_from_env() -> SentimentResource:
    """IMPACT_SENTIMENT_BACKEND (local|remote), IMPACT_SENTIMENT_DEVICE, IMPACT_SENTIMENT_URL, IMPACT_SENTIMENT_MODEL."""
    return SentimentResource(
        backend=os.environ.get("IMPACT_SENTIMENT_BACKEND", "local"),
        device=os.environ.get("IMPACT_SENTIMENT_DEVICE", "auto"),
        url=os.environ.get("IMPACT_SENTIMENT_URL") or None,
        remote_model=os.environ.get("IMPACT_SENTIMENT_MODEL", "default"),
    )


@dg.asset(
    key=["core", "headline_sentiment"],
    deps=[dg.AssetKey(["core", "headlines"])],
    group_name="sentiment",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"duckdb", "pytorch"},
    metadata={"key": "(headline_id, model)"},
    description="Label, calibrated probabilities and score in [-1, 1] per headline; only new headlines or a new model version are scored.",
)
def headline_sentiment(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, sentiment: SentimentResource
) -> dg.MaterializeResult:
    classifier = sentiment.build()
    model, version = classifier.model_id, classifier.model_version
    with warehouse.writer() as con:
        todo = con.execute(
            """
            SELECT h.headline_id, h.title FROM core.headlines AS h
            LEFT JOIN core.headline_sentiment AS s ON s.headline_id = h.headline_id AND s.model = ?
            WHERE s.headline_id IS NULL OR s.model_version <> ?
            ORDER BY h.published_at, h.headline_id
            """,
            [model, version],
        ).df()
    context.log.info(f"{len(todo)} headlines to score with {model} {version}")
    predictions = classifier.predict(todo["title"].tolist(), batch_size=sentiment.batch_size) if len(todo) else []
    scored = pd.DataFrame([p.as_dict() for p in predictions], columns=[
        "label", "p_negative", "p_neutral", "p_positive", "score", "model", "model_version"])
    scored["headline_id"] = todo["headline_id"].to_numpy()
    scored["scored_at"] = datetime.now(UTC)
    with warehouse.writer() as con:
        con.register("incoming_sentiment", scored)
        try:
            with wh.transaction(con):
                con.execute(
                    "DELETE FROM core.headline_sentiment WHERE model = ? AND headline_id IN (SELECT headline_id FROM incoming_sentiment)",
                    [model],
                )
                con.execute(
                    "INSERT INTO core.headline_sentiment BY NAME SELECT headline_id, model, model_version, label, "
                    "p_negative, p_neutral, p_positive, score, scored_at FROM incoming_sentiment"
                )
                # Stories removed from core.headlines by a re-ingestion take their scores with them.
                removed = con.execute(
                    "DELETE FROM core.headline_sentiment WHERE headline_id NOT IN (SELECT headline_id FROM core.headlines)"
                ).fetchall()[0][0]
        finally:
            con.unregister("incoming_sentiment")
        total = con.execute("SELECT count(*) FROM core.headline_sentiment WHERE model = ?", [model]).fetchall()[0][0]
    counts = scored["label"].value_counts().to_dict()
    return dg.MaterializeResult(metadata={
        "model": model, "model_version": version, "scored": len(scored), "removed": int(removed), "rows_for_model": int(total),
        **{f"scored_{label}": int(counts.get(label, 0)) for label in ("negative", "neutral", "positive")},
    })


DAILY_SENTIMENT_SQL = """
DELETE FROM mart.daily_sentiment;
INSERT INTO mart.daily_sentiment BY NAME
WITH per_ticker AS (
    SELECT unnest(h.tickers) AS ticker, h.session_date, s.model, s.model_version, s.label, s.score
    FROM core.headline_sentiment AS s JOIN core.headlines AS h USING (headline_id)
)
SELECT p.ticker, p.session_date AS date, p.model, any_value(p.model_version) AS model_version,
       count(*) AS headlines, avg(p.score) AS mean_score,
       avg(CASE WHEN p.label = 'negative' THEN 1.0 ELSE 0.0 END) AS share_negative,
       avg(CASE WHEN p.label = 'positive' THEN 1.0 ELSE 0.0 END) AS share_positive,
       any_value(r.ar) AS ar, any_value(r.sar) AS sar
FROM per_ticker AS p
LEFT JOIN mart.daily_abnormal_returns AS r ON r.ticker = p.ticker AND r.date = p.session_date
GROUP BY p.ticker, p.session_date, p.model
"""


@dg.asset(
    key=["mart", "daily_sentiment"],
    deps=[headline_sentiment, dg.AssetKey(["mart", "daily_abnormal_returns"])],
    group_name="sentiment",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"duckdb"},
    metadata={"key": "(ticker, date, model)"},
    description="Per ticker, NYSE session (the session a story can first move) and model: headline count, mean score, "
    "share negative/positive, with the market-model abnormal return (ar, sar) of that session.",
)
def daily_sentiment(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.writer() as con:
        with wh.transaction(con):
            con.execute(DAILY_SENTIMENT_SQL)
        rows, with_ar = con.execute("SELECT count(*), count(ar) FROM mart.daily_sentiment").fetchall()[0]
    return dg.MaterializeResult(metadata={"rows": int(rows), "rows_with_ar": int(with_ar)})


SENTIMENT_ASSETS = [headline_sentiment, daily_sentiment]
"""What pipelines/definitions.py adds to its assets (resource key: ``sentiment``)."""
