"""Sentiment domain: score every (headline, company) pair incrementally, then aggregate per ticker and session.

A headline concerns the companies the entity linker ties it to (named: ``direct``; through a
competitor, supplier, customer or its market: ``indirect``) plus the tickers its source tagged.
``core/headline_sentiment`` scores only the pairs the configured model version has not scored
with the same link: a new model version or a changed company profile re-scores what it
affects. Inference runs with no warehouse connection open; the results go in with one
transaction. ``mart/daily_sentiment`` weights each pair by its relevance and joins the
session's abnormal return.
"""

from datetime import UTC, datetime
from functools import lru_cache

import dagster as dg
import pandas as pd

from models.sentiment.pairs import headline_pairs, score_pairs
from pipelines import settings as config
from pipelines import warehouse as wh
from pipelines.resources import WarehouseResource

API_KEY_ENV = "IMPACT_SENTIMENT_API_KEY"
"""Bearer token for the remote server: a secret of pipelines.settings, read from the environment when the model
is built, never stored in run config."""


class SentimentResource(dg.ConfigurableResource):
    """Which scorer rates (headline, company) pairs: ``local``, ``llm`` (model = hub id, path or packaged name) or ``remote``."""

    backend: str = "local"
    model: str | None = None
    device: str = "auto"
    batch_size: int = 32
    url: str | None = None
    timeout_s: float = 30.0

    def build(self):
        """The scorer; models are loaded once per process and configuration."""
        return _cached_classifier(self.backend, self.model, self.device, self.url, self.timeout_s)


@lru_cache(maxsize=2)
def _cached_classifier(backend: str, model: str | None, device: str, url: str | None, timeout_s: float):
    import pipelines.sources.inference  # noqa: F401  (registers the HTTP backend "remote")
    from models.sentiment import BackendConfig, load_classifier

    return load_classifier(BackendConfig(backend, model, device, url, timeout_s, config.secret(API_KEY_ENV)))


def sentiment_resource_from_env(settings: config.Settings | None = None) -> SentimentResource:
    """IMPACT_SENTIMENT_BACKEND, _MODEL, _DEVICE, _URL, _BATCH_SIZE, _TIMEOUT_S (``settings``, read now when not given)."""
    settings = config.Settings.from_env() if settings is None else settings
    return SentimentResource(
        backend=settings.sentiment_backend,
        model=settings.sentiment_model,
        device=settings.sentiment_device,
        url=settings.sentiment_url,
        batch_size=settings.sentiment_batch_size,
        timeout_s=settings.sentiment_timeout_s,
    )


PAIR_COLUMNS = ["headline_id", "ticker", "relevance", "relation", "via", "pair"]


def link_headlines(headlines: pd.DataFrame) -> pd.DataFrame:
    """One row per (headline, ticker) pair that each headline concerns: its link's fields and the Pair to score (``PAIR_COLUMNS``)."""
    from pipelines.companies import default_linker, target_for

    linker = default_linker()
    rows = [
        (hid, ticker, pair.linked.relevance, pair.linked.relation, list(pair.linked.via), pair)
        for hid, title, tagged in zip(headlines["headline_id"], headlines["title"], headlines["tickers"], strict=True)
        for ticker, pair in headline_pairs(linker, target_for, title, tagged)
    ]
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


@dg.asset(
    key=["core", "headline_sentiment"],
    deps=[dg.AssetKey(["core", "headlines"])],
    group_name="sentiment",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"duckdb", "pytorch"},
    metadata={"key": "(headline_id, ticker, model)"},
    description="Per (headline, company) pair: relevance (direct/indirect), label, calibrated probabilities and "
    "score in [-1, 1] for that company; only new pairs, changed links or a new model version are scored.",
)
def headline_sentiment(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, sentiment: SentimentResource
) -> dg.MaterializeResult:
    classifier = sentiment.build()
    model, version = classifier.model_id, classifier.model_version
    with warehouse.writer() as con:
        headlines = con.execute(
            "SELECT headline_id, title, tickers FROM core.headlines ORDER BY published_at, headline_id"
        ).df()
        scored_before = con.execute(
            "SELECT headline_id, ticker, relevance, coalesce(relation, '') AS relation, array_to_string(via, '|') AS via_key "
            "FROM core.headline_sentiment WHERE model = ? AND model_version = ?",
            [model, version],
        ).df()
    pairs = link_headlines(headlines)
    pairs["via_key"] = pairs["via"].map("|".join)
    keys = ["headline_id", "ticker", "relevance", "relation", "via_key"]
    done = pairs.assign(relation=pairs["relation"].fillna("")).merge(scored_before, on=keys, how="left", indicator=True)
    todo = pairs[(done["_merge"] == "left_only").to_numpy()].reset_index(drop=True)
    context.log.info(
        f"{len(pairs)} (headline, ticker) pairs from {len(headlines)} headlines; {len(todo)} to score with {model} {version}"
    )
    predictions = score_pairs(classifier, todo["pair"].tolist(), batch_size=sentiment.batch_size)
    scored = pd.DataFrame(
        [p.as_dict() for p in predictions],
        columns=["label", "p_negative", "p_neutral", "p_positive", "score", "model", "model_version"],
    )
    scored = pd.concat([todo[["headline_id", "ticker", "relevance", "relation", "via"]], scored], axis=1)
    scored["scored_at"] = datetime.now(UTC)
    with warehouse.writer() as con:
        written, removed = wh.replace_pair_sentiment(con, scored, pairs[["headline_id", "ticker"]], model)
        total = con.execute("SELECT count(*) FROM core.headline_sentiment WHERE model = ?", [model]).fetchall()[0][0]
    counts = scored["label"].value_counts().to_dict()
    relevance = pairs["relevance"].value_counts().to_dict()
    return dg.MaterializeResult(
        metadata={
            "model": model,
            "model_version": version,
            "pairs": len(pairs),
            "scored": written,
            "removed": removed,
            "rows_for_model": int(total),
            **{f"pairs_{level}": int(relevance.get(level, 0)) for level in ("direct", "indirect")},
            **{f"scored_{label}": int(counts.get(label, 0)) for label in ("negative", "neutral", "positive")},
        }
    )


@dg.asset(
    key=["mart", "daily_sentiment"],
    deps=[headline_sentiment, dg.AssetKey(["mart", "daily_abnormal_returns"])],
    group_name="sentiment",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"duckdb"},
    metadata={"key": "(ticker, date, model)"},
    description="Per ticker, NYSE session (the session a story can first move) and model: pair counts by relevance, "
    "relevance-weighted mean score and share negative/positive, with the market-model abnormal return (ar, sar).",
)
def daily_sentiment(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.writer() as con:
        rows, with_ar = wh.rebuild_daily_sentiment(con)
    return dg.MaterializeResult(metadata={"rows": rows, "rows_with_ar": with_ar})


SENTIMENT_ASSETS = [headline_sentiment, daily_sentiment]
"""What pipelines/definitions.py adds to its assets (resource key: ``sentiment``)."""
