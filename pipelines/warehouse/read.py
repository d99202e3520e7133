"""The warehouse's read model: every question the readers ask (dashboards, the static report, the CLI
summaries, ``impact study``), answered once, on a read-only connection.

Each function takes a connection from :func:`pipelines.warehouse.reader` and returns plain values or
DataFrames; it uses the stored SQL macros (``macros.sql``, ``macros_sentiment.sql``) where one answers
the question. Tables the analysis has not written yet (marts, sentiment) are a state, not an error.
Imports no Dagster and nothing of ``pipelines`` but the shared leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from models.event_study import verdict

PRICE_WINDOW = (-10, 10)
"""Trading days around day0 of the normalised price paths."""
BAND_Z = 1.959963984540054
"""Two-sided 95% normal quantile for the CAR bands."""
SENTIMENT_BEFORE = (-5, 0)
"""Sessions around day0 of the sentiment an event's tickers had going into it."""

_EVENT_COLUMNS = ["event_id", "name", "kind", "origin", "day0", "day0_rule", "tickers", "description", "trigger_sar"]


# --- what the warehouse holds ----------------------------------------------------------------------


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every ``schema.table`` (and view) of the warehouse."""
    rows = con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def sentiment_model(con: duckdb.DuckDBPyConnection) -> str | None:
    """The sentiment model with the most scored rows (None when nothing is scored)."""
    present = tables(con)
    sources = [f"SELECT model FROM {t}" for t in ("core.headline_sentiment", "mart.daily_sentiment") if t in present]
    if not sources:
        return None
    row = con.execute(
        f"SELECT model FROM ({' UNION ALL '.join(sources)}) GROUP BY model ORDER BY count(*) DESC, model LIMIT 1"
    ).fetchall()
    return row[0][0] if row else None


def status(con: duckdb.DuckDBPyConnection) -> dict:
    """Which tables exist, the sources, whether the data is the simulated demo, whether sentiment is computed."""
    present = tables(con)
    sources: list[str] = []
    if "core.prices" in present:
        sources += [r[0] for r in con.execute("SELECT DISTINCT source FROM core.prices").fetchall()]
    for table in ("core.headlines", "raw.ingestions"):
        if table in present:
            sources += [
                r[0] for r in con.execute(f"SELECT DISTINCT unnest(string_split(source, ',')) FROM {table}").fetchall()
            ]
    model = sentiment_model(con)
    return {
        "tables": present,
        "demo": "demo" in set(sources),
        "sources": sorted(set(sources)),
        "sentiment": model is not None,
        "sentiment_model": model,
    }


def coverage(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Rows and date range per source: ``prices`` (tickers, rows) and ``headlines`` (stories)."""
    prices = con.execute(
        "SELECT source, count(DISTINCT ticker) AS tickers, count(*) AS rows, min(date) AS first_date, max(date) AS last_date "
        "FROM core.prices GROUP BY source ORDER BY source"
    ).df()
    headlines = con.execute(
        "SELECT source, count(*) AS stories, min(ny_date) AS first_date, max(ny_date) AS last_date "
        "FROM core.headlines GROUP BY source ORDER BY source"
    ).df()
    return {"prices": prices, "headlines": headlines}


def analysis_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """What the analyze job left: curated and detected events, studied and all firm-events, sentiment rows."""
    curated, detected = con.execute(
        "SELECT count(*) FILTER (WHERE origin = 'curated'), count(*) FILTER (WHERE origin = 'detected') FROM core.events"
    ).fetchall()[0]
    studied, pairs = con.execute(
        "SELECT count(*) FILTER (WHERE status = 'ok'), count(*) FROM mart.event_estimates"
    ).fetchall()[0]
    scored = con.execute("SELECT count(*) FROM core.headline_sentiment").fetchall()[0][0]
    return {
        "curated": curated,
        "detected": detected,
        "studied": studied,
        "firm_events": pairs,
        "sentiment_rows": scored,
    }


def tickers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every ticker with its first and last session and its number of sessions."""
    return con.execute(
        "SELECT ticker, min(date) AS first, max(date) AS last, count(*) AS sessions FROM core.prices GROUP BY ticker ORDER BY ticker"
    ).df()


def windows(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The event windows studied, shortest first ([0,0], [0,+1], [-1,+1], [-5,+5])."""
    if "mart.event_windows" not in tables(con):
        return []
    rows = con.execute(
        'SELECT "window" FROM mart.event_windows GROUP BY "window", tau_start, tau_end ORDER BY tau_end - tau_start, tau_start'
    ).fetchall()
    return [r[0] for r in rows]


def events(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every event of core.events: curated first, newest first, then detected ones."""
    if "core.events" not in tables(con):
        return pd.DataFrame(columns=_EVENT_COLUMNS)
    return con.execute(
        f"SELECT {', '.join(_EVENT_COLUMNS)} FROM core.events "
        "ORDER BY CASE origin WHEN 'curated' THEN 0 ELSE 1 END, day0 DESC, event_id"
    ).df()


def day_returns(con: duckdb.DuckDBPyConnection, day: date | str) -> pd.DataFrame:
    """Every ticker's close-to-close move into session ``day`` (split-adjusted), most negative first."""
    return con.execute(
        """
        SELECT ticker, prev_close, close, round(100 * (close * split_ratio / prev_close - 1), 2) AS return_pct
        FROM (SELECT ticker, date, close, split_ratio, lag(close) OVER (PARTITION BY ticker ORDER BY date) AS prev_close
              FROM core.prices)
        WHERE date = CAST(? AS DATE)
        ORDER BY return_pct
        """,
        [str(day)],
    ).df()


# --- one event ---------------------------------------------------------------------------------------


def event_info(con: duckdb.DuckDBPyConnection, event_id: str) -> dict | None:
    """The event's row of core.events (tickers and headline_ids as lists), or None when unknown."""
    if "core.events" not in tables(con):
        return None
    frame = con.execute(
        "SELECT event_id, name, kind, origin, announced_at, day0, day0_rule, tickers, description, trigger_sar, headline_ids "
        "FROM core.events WHERE event_id = ?",
        [event_id],
    ).df()
    if frame.empty:
        return None
    info = frame.iloc[0].to_dict()
    info["tickers"] = list(info["tickers"])
    ids = info["headline_ids"]
    info["headline_ids"] = list(ids) if ids is not None and not (isinstance(ids, float) and np.isnan(ids)) else []
    return info


SAMPLES = ("event", "spillover")
"""The samples the analyze job stores per event: its own tickers, and the other stocks (spillovers)."""


@dataclass(frozen=True)
class StoredStudy:
    """One event's study as the marts hold it, viewed through one sample (``sample``: the event's own tickers by
    default, or its spillovers): the frames of ``EventStudyResults`` with the marts' column names
    (``tau_start``/``tau_end``); windows, aggregates and tests shortest window first, tickers in order.
    ``of_sample`` gives the view of another sample of the same study."""

    estimates: pd.DataFrame
    abnormal: pd.DataFrame
    windows: pd.DataFrame
    aggregates: pd.DataFrame
    tests: pd.DataFrame
    sample: str = "event"
    whole: StoredStudy | None = field(default=None, repr=False, compare=False)
    """Every sample's frames (None: these frames are the whole study)."""

    @property
    def model(self) -> str | None:
        """The expected-return model of the fit (market, market-adjusted, constant-mean, factors)."""
        return next(iter(self._all.estimates["model"].dropna()), None)

    @property
    def benchmark(self) -> str | None:
        """The benchmark of the studied firms (None when none was studied)."""
        estimates = self._all.estimates
        return next(iter(estimates.loc[estimates["status"] == "ok", "benchmark"].dropna()), None)

    @property
    def bounds(self) -> list[tuple[int, int]]:
        """The studied windows as (start, end) in trading days, shortest first."""
        whole = self._all
        frame = whole.aggregates if not whole.aggregates.empty else whole.windows
        return list(dict.fromkeys(zip(frame["tau_start"].astype(int), frame["tau_end"].astype(int), strict=True)))

    @property
    def computed_at(self) -> pd.Timestamp | None:
        """When the analyze job wrote this study (UTC)."""
        stamps = pd.to_datetime(self._all.estimates["computed_at"].dropna(), utc=True)
        return stamps.min() if len(stamps) else None

    @property
    def samples(self) -> list[str]:
        """The samples this study holds firms in (``SAMPLES`` order)."""
        estimates = self._all.estimates
        held = set(estimates["sample"]) if "sample" in estimates else ({"event"} if len(estimates) else set())
        return [s for s in SAMPLES if s in held] + sorted(held - set(SAMPLES))

    @property
    def tickers(self) -> list[str]:
        """The firms of this view's sample, in ticker order."""
        return [str(t) for t in self.estimates["ticker"]]

    @property
    def _all(self) -> StoredStudy:
        return self.whole if self.whole is not None else self

    def of_sample(self, sample: str) -> StoredStudy:
        """The same study viewed through ``sample`` ('event' or 'spillover'): that sample's firms and group results
        (frames without a ``sample`` column hold only the event sample)."""
        whole = self._all

        def pick(frame: pd.DataFrame, by_ticker: set[str] | None = None) -> pd.DataFrame:
            if by_ticker is not None and "ticker" in frame:
                return frame[frame["ticker"].isin(by_ticker)].reset_index(drop=True)
            if "sample" in frame:
                return frame[frame["sample"] == sample].reset_index(drop=True)
            return frame if sample == "event" else frame.iloc[0:0]

        estimates = pick(whole.estimates)
        firms = set(estimates["ticker"])
        return StoredStudy(
            estimates,
            pick(whole.abnormal, firms),
            pick(whole.windows, firms),
            pick(whole.aggregates),
            pick(whole.tests),
            sample,
            whole,
        )

    def only(self, bounds: Sequence[tuple[int, int]]) -> StoredStudy:
        """The same study restricted to ``bounds``, the windows in that order (unknown windows are left out)."""
        rank = {tuple(b): i for i, b in enumerate(bounds)}

        def pick(frame: pd.DataFrame) -> pd.DataFrame:
            if frame.empty and "tau_start" not in frame:
                return frame
            key = pd.Series(list(zip(frame["tau_start"], frame["tau_end"], strict=True)), index=frame.index).map(rank)
            kept = frame.assign(_rank=key).dropna(subset=["_rank"])
            return kept.sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)

        whole = self.whole.only(bounds) if self.whole is not None else None
        return StoredStudy(
            self.estimates,
            self.abnormal,
            pick(self.windows),
            pick(self.aggregates),
            pick(self.tests),
            self.sample,
            whole,
        )


def study_predates_samples(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the event-study marts are from before samples (schema version 3) and no writer has migrated the
    file yet: readers then treat the event as not studied (the next `impact analyze` re-computes it)."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'mart' AND table_name = 'event_estimates' "
        "AND column_name = 'sample'"
    ).fetchall()
    return "mart.event_estimates" in tables(con) and rows[0][0] == 0


def event_study(con: duckdb.DuckDBPyConnection, event_id: str, sample: str = "event") -> StoredStudy | None:
    """The event's study from the marts (mart.event_estimates, abnormal_returns, event_windows, event_aggregates,
    event_tests) viewed through ``sample`` (``StoredStudy.of_sample``); None when the analyze job has not studied
    it (or studied it before samples: :func:`study_predates_samples`)."""
    if "mart.event_estimates" not in tables(con) or study_predates_samples(con):
        return None
    estimates = con.execute(
        "SELECT ticker, sample, day0, model, benchmark, status, reason, n_est, df, alpha, beta, sigma_e, r2, "
        "computed_at FROM mart.event_estimates WHERE event_id = ? ORDER BY ticker",
        [event_id],
    ).df()
    if estimates.empty:
        return None
    order = "ORDER BY tau_end - tau_start, tau_start"
    abnormal = con.execute(
        "SELECT event_id, ticker, tau, date, ret, expected, ar, car, sar FROM mart.abnormal_returns WHERE event_id = ? "
        "ORDER BY ticker, tau",
        [event_id],
    ).df()
    windows_ = con.execute(
        'SELECT event_id, ticker, "window", tau_start, tau_end, car, bhar, scar, car_sd, car_t, car_p, df '
        f"FROM mart.event_windows WHERE event_id = ? {order}, ticker",
        [event_id],
    ).df()
    aggregates = con.execute(
        'SELECT sample, "window", tau_start, tau_end, n, caar, median_car, sd_car, abhar, share_positive, rbar, '
        f"clustered FROM mart.event_aggregates WHERE event_id = ? {order}",
        [event_id],
    ).df()
    tests = con.execute(
        'SELECT t.sample, t."window", t.tau_start, t.tau_end, t.test, t.statistic, t.p_value, t.df, t.n, t.method, '
        "t.clustered, t.adjusts_cross_correlation FROM mart.event_tests AS t WHERE t.event_id = ? "
        "ORDER BY t.tau_end - t.tau_start, t.tau_start",
        [event_id],
    ).df()
    return StoredStudy(estimates, abnormal, windows_, aggregates, tests).of_sample(sample)


def last_price_ingest(con: duckdb.DuckDBPyConnection) -> pd.Timestamp | None:
    """When prices were last written (raw.ingestions, UTC), None when never recorded."""
    if "raw.ingestions" not in tables(con):
        return None
    at = con.execute("SELECT max(ingested_at) FROM raw.ingestions WHERE dataset = 'prices'").fetchall()[0][0]
    return pd.to_datetime(at, utc=True) if at is not None else None


def _price_paths(
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    benchmark: str,
    day0: pd.Timestamp,
    span: tuple[int, int] = PRICE_WINDOW,
) -> pd.DataFrame:
    """Prices of ``names`` over ``span``, indexed 100 at the close of day -1; tau counts the benchmark's sessions."""
    sessions = con.execute(
        """
        WITH s AS (SELECT DISTINCT date FROM core.prices WHERE ticker = ?),
             k AS (SELECT date, row_number() OVER (ORDER BY date) AS k FROM s),
             z AS (SELECT min(k) AS k0 FROM k WHERE date >= ?)
        SELECT k.date, CAST(k.k - z.k0 AS INTEGER) AS tau FROM k, z WHERE k.k - z.k0 BETWEEN ? AND ?
        """,
        [benchmark, day0.date(), min(span[0], 0) - 1, span[1]],
    ).df()
    prices = (
        con.execute(
            "SELECT p.ticker, p.date, p.adj_close, p.close FROM core.prices AS p "
            "WHERE p.ticker IN (SELECT unnest(?)) AND p.date BETWEEN ? AND ? ORDER BY p.ticker, p.date",
            [list(names), sessions["date"].min(), sessions["date"].max()],
        ).df()
        if not sessions.empty
        else pd.DataFrame(columns=["ticker", "date", "adj_close", "close"])
    )
    prices = prices.merge(sessions, on="date")
    base = prices.loc[prices["tau"] == -1].set_index("ticker")["adj_close"]
    prices["index"] = 100 * prices["adj_close"] / prices["ticker"].map(base)
    prices["ret"] = prices.sort_values("tau").groupby("ticker")["adj_close"].pct_change()
    prices = prices.loc[prices["tau"] >= span[0]].reset_index(drop=True)
    prices["benchmark"] = prices["ticker"] == benchmark
    return prices


def event_prices(
    con: duckdb.DuckDBPyConnection, event_id: str, names: Sequence[str], benchmark: str, span: tuple[int, int]
) -> pd.DataFrame | None:
    """Normalised prices of ``names`` and ``benchmark`` over sessions ``span`` around the event's day 0 (100 at the
    close of day -1), as in :func:`event`'s ``prices``; None when the event is unknown."""
    info = event_info(con, event_id)
    if info is None:
        return None
    return _price_paths(con, list(dict.fromkeys([*names, benchmark])), benchmark, pd.Timestamp(info["day0"]), span)


def returns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Simple daily returns from adjusted closes, one column per ticker, indexed by session (empty without prices):
    what a reader re-fits an event study on."""
    prices = con.execute("SELECT ticker, date, adj_close FROM core.prices ORDER BY date").df()
    if prices.empty:
        return pd.DataFrame()
    wide = prices.pivot(index="date", columns="ticker", values="adj_close").sort_index()
    wide.index = pd.DatetimeIndex(wide.index)
    return wide.pct_change(fill_method=None).iloc[1:]


def event(con: duckdb.DuckDBPyConnection, event_id: str) -> dict | None:
    """Everything shown about one event (None when unknown): ``event`` (metadata), ``benchmark``, normalised
    ``prices`` over PRICE_WINDOW, the stored study (``estimates``, ``abnormal`` with 95% CAR bands, per-firm
    ``windows``, ``aggregates``, group ``tests``), its ``headlines`` (see :func:`event_headlines`) and its ``dollars``
    per ticker on day 0 and ``dollar_windows`` per window (:func:`event_dollars`, :func:`event_dollar_windows`; None
    before the analysis wrote them)."""
    info = event_info(con, event_id)
    if info is None:
        return None
    day0 = pd.Timestamp(info["day0"])
    stored = event_study(con, event_id)
    if stored is not None:
        estimates, abnormal = stored.estimates, stored.abnormal.drop(columns="event_id")
        windows_ = stored.windows[
            ["ticker", "window", "tau_start", "tau_end", "car", "bhar", "car_sd", "car_t", "car_p", "df"]
        ]
        aggregates = stored.aggregates.drop(columns="abhar")
        tests = stored.tests[
            [
                "window",
                "tau_start",
                "tau_end",
                "test",
                "statistic",
                "p_value",
                "n",
                "method",
                "adjusts_cross_correlation",
            ]
        ]
    else:
        estimates = pd.DataFrame(columns=["ticker", "benchmark", "status", "sigma_e"])
        abnormal = pd.DataFrame(columns=["ticker", "tau", "date", "ret", "expected", "ar", "car", "sar"])
        windows_ = pd.DataFrame(columns=["ticker", "window", "tau_start", "tau_end", "car", "car_t", "car_p"])
        aggregates = pd.DataFrame(columns=["window", "caar"])
        tests = pd.DataFrame(columns=["window", "test", "statistic", "p_value", "n"])
    benchmark = next((b for b in estimates["benchmark"].dropna()), "SPY")
    prices = _price_paths(con, list(dict.fromkeys([*info["tickers"], benchmark])), benchmark, day0)
    if not abnormal.empty:
        sigma = estimates.set_index("ticker")["sigma_e"]
        first = abnormal.groupby("ticker")["tau"].transform("min")
        abnormal["sigma_e"] = abnormal["ticker"].map(sigma)
        half = BAND_Z * abnormal["sigma_e"] * np.sqrt(abnormal["tau"] - first + 1)
        abnormal["car_lo"] = abnormal["car"] - half
        abnormal["car_hi"] = abnormal["car"] + half
    return {
        "event": info,
        "benchmark": benchmark,
        "prices": prices,
        "abnormal": abnormal,
        "windows": windows_,
        "aggregates": aggregates,
        "tests": tests,
        "estimates": estimates,
        "headlines": event_headlines(con, event_id),
        "dollars": event_dollars(con, event_id),
        "dollar_windows": event_dollar_windows(con, event_id),
    }


def event_headlines(con: duckdb.DuckDBPyConnection, event_id: str) -> pd.DataFrame | None:
    """The event's headlines in time order, scored for each of its tickers: a detected event's own stories,
    otherwise the stories about its tickers (tagged or linked) on sessions -1..+1. None when the event is unknown."""
    info = event_info(con, event_id)
    if info is None:
        return None
    if info["headline_ids"]:
        return _headline_frame(con, "h.headline_id IN (SELECT unnest(?))", [info["headline_ids"]], info["tickers"])
    first, last = _session_span(con, info["day0"], -1, 1)
    return _headline_frame(
        con,
        f"h.session_date BETWEEN ? AND ? AND {LINKED}",
        [first, last, info["tickers"], info["tickers"]],
        info["tickers"],
    )


def _session_span(con: duckdb.DuckDBPyConnection, day0: object, lo: int, hi: int) -> tuple[date, date]:
    """The sessions ``lo`` and ``hi`` sessions from day0 (core.session_add), a few days either side where unknown."""
    first, last = con.execute(
        "SELECT core.session_add(CAST(? AS DATE), ?), core.session_add(CAST(? AS DATE), ?)",
        [pd.Timestamp(day0).date(), lo, pd.Timestamp(day0).date(), hi],
    ).fetchall()[0]
    day = pd.Timestamp(day0)
    return first or (day - pd.Timedelta(days=3)).date(), last or (day + pd.Timedelta(days=3)).date()


def sentiment_by_ticker(
    con: duckdb.DuckDBPyConnection,
    event_id: str,
    lo: int = SENTIMENT_BEFORE[0],
    hi: int = SENTIMENT_BEFORE[1],
    model: str | None = None,
) -> pd.DataFrame:
    """Per ticker of the event: its (headline, ticker) pairs scored on sessions [lo, hi] around day0, how many name
    it, the relevance-weighted mean score FOR that ticker, and the negative / positive counts; most negative first.

    Built on ``mart.headline_sentiment_window`` (tagged or linked headlines; ``model`` None: the latest model per pair)
    and ``core.relevance_weight``. Empty when nothing is scored.
    """
    if "core.headline_sentiment" not in tables(con):
        return pd.DataFrame(columns=["ticker", "headlines", "named", "mean_score", "negative", "positive"])
    return con.execute(
        """
        SELECT w.ticker, count(*) AS headlines, count(*) FILTER (WHERE w.relevance = 'direct') AS named,
               sum(core.relevance_weight(w.relevance) * w.score) / sum(core.relevance_weight(w.relevance)) AS mean_score,
               count(*) FILTER (WHERE w.label = 'negative') AS negative, count(*) FILTER (WHERE w.label = 'positive') AS positive
        FROM core.events AS e,
             mart.headline_sentiment_window(NULL, core.session_add(e.day0, ?), core.session_add(e.day0, ?), sentiment_model := ?) AS w
        WHERE e.event_id = ? AND list_contains(e.tickers, w.ticker) AND w.score IS NOT NULL
        GROUP BY w.ticker
        ORDER BY mean_score, w.ticker
        """,
        [lo, hi, model, event_id],
    ).df()


# --- headlines ---------------------------------------------------------------------------------------

LINKED = (
    "(list_has_any(h.tickers, ?) OR h.headline_id IN (SELECT headline_id FROM core.headline_sentiment "
    "WHERE relevance <> 'none' AND list_contains(?, ticker)))"
)
"""SQL over alias h: the headline is tagged with, or linked to, one of a list of tickers (pass the list twice)."""


def _headline_frame(
    con: duckdb.DuckDBPyConnection, where: str, params: Sequence[object], names: Sequence[str], limit: int = 200
) -> pd.DataFrame:
    """Headlines matching ``where`` (over alias h) in time order, with the sentiment FOR each of ``names`` when scored.

    ``scores`` lists, per headline, one {ticker, label, score, relevance, weight} per ticker of ``names`` it concerns
    (in the order given); ``sentiment``/``sentiment_score`` are those of the first ticker that has one.
    """
    model = sentiment_model(con)
    order = {t: i for i, t in enumerate(names)}
    if model is not None:
        select = ", s.scores"
        join = (
            "LEFT JOIN (SELECT headline_id, list({'ticker': ticker, 'label': label, 'score': score, 'relevance': relevance, "
            "'weight': core.relevance_weight(relevance)}) "
            "AS scores FROM core.headline_sentiment WHERE model = ? AND relevance <> 'none' AND list_contains(?, ticker) "
            "GROUP BY headline_id) AS s ON s.headline_id = h.headline_id"
        )
        args = [model, list(names), *params]
    else:
        select = ", CAST(NULL AS STRUCT(ticker VARCHAR, label VARCHAR, score DOUBLE, relevance VARCHAR, weight DOUBLE)[]) AS scores"
        join, args = "", list(params)
    frame = con.execute(
        f"SELECT h.headline_id, h.published_at, h.session_date, h.title, h.publisher, h.url, h.tickers, h.source{select} "
        f"FROM core.headlines AS h {join} WHERE {where} ORDER BY h.published_at, h.headline_id LIMIT {int(limit)}",
        args,
    ).df()
    frame["scores"] = [
        sorted(list(s), key=lambda x: order.get(x["ticker"], len(order)))
        if isinstance(s, (list, tuple, np.ndarray)) and len(s)
        else []
        for s in frame["scores"]
    ]
    frame["sentiment"] = [s[0]["label"] if s else None for s in frame["scores"]]
    frame["sentiment_score"] = [s[0]["score"] if s else np.nan for s in frame["scores"]]
    return frame


def day_headlines(con: duckdb.DuckDBPyConnection, ticker: str, day: date) -> pd.DataFrame:
    """The headlines about ``ticker`` (tagged or linked) that can first move session ``day``, scored for ``ticker``."""
    return _headline_frame(con, f"h.session_date = ? AND {LINKED}", [day, [ticker], [ticker]], [ticker])


def latest_headline_day(con: duckdb.DuckDBPyConnection, ticker: str, start: date, end: date) -> date | None:
    """The last session in ``start``..``end`` with a headline tagged with ``ticker`` (None if none)."""
    row = con.execute(
        "SELECT max(session_date) FROM core.headline_tickers WHERE ticker = ? AND session_date BETWEEN ? AND ?",
        [ticker, start, end],
    ).fetchall()
    return row[0][0] if row else None


# --- tickers and sentiment over time --------------------------------------------------------------------


def ticker_history(con: duckdb.DuckDBPyConnection, ticker: str, start: date, end: date) -> dict:
    """One ticker from ``start`` to ``end``: split-adjusted OHLC, volume, return and daily AR (``prices``), its
    ``events``, ``headline_counts`` per session and its daily sentiment (``sentiment``, None when not computed)."""
    present = tables(con)
    prices = con.execute(
        """
        SELECT date, open * adj_close / close AS open, high * adj_close / close AS high,
               low * adj_close / close AS low, adj_close AS close, close AS close_traded, volume * close / adj_close AS volume,
               adj_close / lag(adj_close) OVER (ORDER BY date) - 1 AS ret
        FROM core.prices WHERE ticker = ? AND date BETWEEN ? - INTERVAL 10 DAY AND ? ORDER BY date
        """,
        [ticker, start, end],
    ).df()
    prices = prices.loc[prices["date"] >= pd.Timestamp(start)].reset_index(drop=True)
    events_ = (
        con.execute(
            "SELECT event_id, name, origin, day0 FROM core.events WHERE list_contains(tickers, ?) AND day0 BETWEEN ? AND ? "
            "ORDER BY day0",
            [ticker, start, end],
        ).df()
        if "core.events" in present
        else pd.DataFrame(columns=["event_id", "name", "origin", "day0"])
    )
    if "mart.daily_abnormal_returns" in present:
        ar = con.execute(
            "SELECT date, ar, sar FROM mart.daily_abnormal_returns WHERE ticker = ? AND date BETWEEN ? AND ?",
            [ticker, start, end],
        ).df()
        prices = prices.merge(ar, on="date", how="left")
    counts = con.execute(
        "SELECT session_date AS date, count(*) AS n_headlines FROM core.headline_tickers WHERE ticker = ? "
        "AND session_date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
        [ticker, start, end],
    ).df()
    return {
        "prices": prices,
        "events": events_,
        "headline_counts": counts,
        "sentiment": daily_sentiment(con, [ticker], start, end),
    }


def daily_sentiment(
    con: duckdb.DuckDBPyConnection, names: Sequence[str] | None, start: date, end: date
) -> pd.DataFrame | None:
    """mart.daily_sentiment of ``names`` (None: all) with each session's abnormal return; None when not computed.

    One model: the one that scored the most days, so several classifiers never double-count a session.
    """
    present = tables(con)
    if (
        "mart.daily_sentiment" not in present
        or not con.execute("SELECT EXISTS (FROM mart.daily_sentiment)").fetchall()[0][0]
    ):
        return None
    where: list[str] = ["s.date BETWEEN ? AND ?"]
    args: list[object] = [start, end]
    if names:
        where.append("s.ticker IN (SELECT unnest(?))")
        args.append(list(names))
    where.append(
        "s.model = (SELECT model FROM mart.daily_sentiment GROUP BY model ORDER BY count(*) DESC, model LIMIT 1)"
    )
    return con.execute(
        "SELECT s.ticker, s.date, s.model, s.headlines AS n_headlines, s.mean_score, s.share_negative, "
        "s.share_positive, coalesce(s.ar, r.ar) AS ar, coalesce(s.sar, r.sar) AS sar FROM mart.daily_sentiment AS s "
        "LEFT JOIN mart.daily_abnormal_returns AS r ON r.ticker = s.ticker AND r.date = s.date "
        f"WHERE {' AND '.join(where)} ORDER BY s.ticker, s.date",
        args,
    ).df()


# --- the landing page ----------------------------------------------------------------------------------


def overview(con: duckdb.DuckDBPyConnection) -> dict:
    """The universe's last session (return, AR, sentiment), data freshness per source, the last runs, the
    spotlight (the curated event with the largest day-0 move) and row counts."""
    present = tables(con)
    last = con.execute("SELECT max(date) FROM core.prices").fetchall()[0][0]
    session = (
        con.execute(
            """
        SELECT ticker, date, close, adj_close / prev - 1 AS ret, volume
        FROM (SELECT ticker, date, close, adj_close, volume,
                     lag(adj_close) OVER (PARTITION BY ticker ORDER BY date) AS prev
              FROM core.prices WHERE date BETWEEN ? - INTERVAL 14 DAY AND ?)
        WHERE date = ? ORDER BY ticker
        """,
            [last, last, last],
        ).df()
        if last is not None
        else pd.DataFrame(columns=["ticker", "date", "close", "ret", "volume"])
    )
    if "mart.daily_abnormal_returns" in present and last is not None:
        session = session.merge(
            con.execute("SELECT ticker, ar, sar FROM mart.daily_abnormal_returns WHERE date = ?", [last]).df(),
            on="ticker",
            how="left",
        )
    else:
        session["ar"] = np.nan
        session["sar"] = np.nan
    sentiment = daily_sentiment(con, None, last, last) if last is not None else None
    if sentiment is not None:
        session = session.merge(sentiment[["ticker", "mean_score", "n_headlines"]], on="ticker", how="left")
    freshness = (
        con.execute(
            """
        SELECT dataset, source, max(range_end) AS data_through, max(ingested_at) AS last_ingested,
               arg_max(rows, ingested_at) AS last_rows, arg_max(run_id, ingested_at) AS last_run_id, count(*) AS runs
        FROM raw.ingestions GROUP BY dataset, source ORDER BY dataset, source
        """
        ).df()
        if "raw.ingestions" in present
        else pd.DataFrame()
    )
    runs = []
    if not freshness.empty:
        top = freshness.sort_values("last_ingested").iloc[-1]
        runs.append(
            {
                "what": f"ingest {top['dataset']} ({top['source']})",
                "at": top["last_ingested"],
                "run_id": top["last_run_id"],
            }
        )
    for table, column, what in (
        ("mart.daily_abnormal_returns", "computed_at", "analysis (abnormal returns, events)"),
        ("core.headline_sentiment", "scored_at", "sentiment scoring"),
    ):
        if table in present:
            at = con.execute(f"SELECT max({column}) FROM {table}").fetchall()[0][0]
            if at is not None:
                runs.append({"what": what, "at": pd.Timestamp(at), "run_id": None})
    return {
        "last_session": last,
        "session": session,
        "freshness": freshness,
        "runs": runs,
        "spotlight": spotlight(con),
        "sentiment": sentiment is not None,
        "counts": {
            "tickers": con.execute("SELECT count(DISTINCT ticker) FROM core.prices").fetchall()[0][0],
            "headlines": con.execute("SELECT count(*) FROM core.headlines").fetchall()[0][0]
            if "core.headlines" in present
            else 0,
            "events": con.execute("SELECT count(*) FROM core.events").fetchall()[0][0]
            if "core.events" in present
            else 0,
        },
    }


def spotlight(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The curated event with the largest day-0 move of one of its own tickers (event_id, name, day0, ticker, ret, ar),
    with that ticker's day-0 ``dollar_change`` and the event's day-0 ``total`` (:func:`event_dollar_total`) from the
    dollar marts (None where they hold none)."""
    if "mart.abnormal_returns" not in tables(con):
        return None
    row = con.execute(
        """
        SELECT a.event_id, e.name, e.day0, a.ticker, a.ret, a.ar
        FROM mart.abnormal_returns AS a JOIN core.events AS e USING (event_id)
        WHERE a.tau = 0 AND e.origin = 'curated' AND list_contains(e.tickers, a.ticker) AND a.ret IS NOT NULL
        ORDER BY abs(a.ret) DESC LIMIT 1
        """
    ).fetchall()
    if not row:
        return None
    spot = dict(zip(["event_id", "name", "day0", "ticker", "ret", "ar"], row[0], strict=True))
    # The dollar figures from the mart (None before the analysis wrote it or without the ticker's shares).
    dollars = event_dollars(con, spot["event_id"])
    mine = dollars[dollars["ticker"] == spot["ticker"]] if dollars is not None else pd.DataFrame()
    spot["dollar_change"] = (
        float(mine["dollar_change"].iloc[0]) if len(mine) and pd.notna(mine["dollar_change"].iloc[0]) else None
    )
    spot["total"] = event_dollar_total(con, spot["event_id"])
    return spot


def event_verdicts(
    con: duckdb.DuckDBPyConnection, event_id: str, sample: str = "event", dollars: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One verdict per stored window of the event's ``sample`` (``models.event_study.verdict.verdicts``: the sentence,
    the significant tickers, the group test that counts and why, the size in % and, where market values are known, in
    dollars: ``dollars`` (ticker, dollar_abnormal/dollar_change), by default :func:`event_dollar_windows`); empty when
    the event has no stored study."""
    stored = event_study(con, event_id, sample)
    if stored is None or stored.estimates.empty:
        return pd.DataFrame(columns=verdict.COLUMNS)
    if dollars is None:
        dollars = event_dollar_windows(con, event_id)
    return verdict.verdicts(stored.windows, stored.aggregates, stored.tests, dollars=dollars)


# --- intraday: bars and the reaction in event time ---------------------------------------------------


def intraday_reaction(con: duckdb.DuckDBPyConnection, event_id: str) -> pd.DataFrame:
    """The event's reaction per ticker and measure (the macro ``mart.intraday_reaction``); empty when the analysis
    has none (no intraday bars on its day0, or not analysed yet)."""
    if "mart.intraday_reaction" not in tables(con):
        return pd.DataFrame()
    return con.execute("FROM mart.intraday_reaction(?)", [event_id]).df()


def intraday_bars(con: duckdb.DuckDBPyConnection, tickers: Sequence[str], day: date) -> pd.DataFrame:
    """``tickers``' intraday bars on New York trading day ``day`` at the finest interval stored (ts in UTC)."""
    if "core.bars_intraday" not in tables(con):
        return pd.DataFrame()
    return con.execute(
        """
        WITH wanted AS (FROM core.bars_intraday WHERE date = $day AND ticker IN (SELECT unnest($tickers))),
        finest AS (
            SELECT "interval" FROM wanted GROUP BY "interval"
            ORDER BY CASE WHEN "interval" = '1h' THEN 60 ELSE CAST(rtrim("interval", 'm') AS INTEGER) END LIMIT 1
        )
        SELECT ticker, ts, "interval", session, open, high, low, close, volume FROM wanted
        WHERE "interval" = (SELECT "interval" FROM finest) ORDER BY ticker, ts
        """,
        {"day": day, "tickers": list(tickers)},
    ).df()


def intraday_view(con: duckdb.DuckDBPyConnection, event_id: str) -> dict | None:
    """What the intraday chart of an event shows: its day0, announcement, the reaction rows and the day0 bars of its
    tickers and benchmark (None when the event is unknown)."""
    if "core.events" not in tables(con):
        return None
    rows = con.execute("SELECT day0, announced_at, tickers FROM core.events WHERE event_id = ?", [event_id]).fetchall()
    if not rows:
        return None
    day0, announced_at, names = rows[0]
    reaction = intraday_reaction(con, event_id)
    benchmark = [] if reaction.empty else [str(reaction["benchmark"].iloc[0])]
    return {"day0": day0, "announced_at": announced_at, "reaction": reaction,
            "bars": intraday_bars(con, [*names, *benchmark], day0)}


# --- dollar impact -------------------------------------------------------------------------------------


def money(value: float | None) -> str:
    """A dollar amount as every reader prints it: ``-$592.7bn``, ``$1.02tn``, ``$850m``; '' when unknown."""
    if value is None or not np.isfinite(value):
        return ""
    size = abs(value)
    for scale, unit in ((1e12, "tn"), (1e9, "bn"), (1e6, "m")):
        if size >= scale:
            digits = 2 if size < 10 * scale else 1
            text = f"${size / scale:.{digits}f}{unit}"
            break
    else:
        text = f"${size:,.0f}"
    return f"-{text}" if value < 0 else text


def event_dollars(con: duckdb.DuckDBPyConnection, event_id: str) -> pd.DataFrame | None:
    """An event's day-0 dollars per ticker (own tickers first, then spillovers; largest loss first): market value at
    the prior close, return, dollar change, AR, dollar abnormal change, CAR[-1,+1] in dollars where the study has that
    window, and why any is missing (``reason``). None before the analysis wrote the dollar marts or for an event
    without them."""
    if "mart.event_dollars" not in tables(con):
        return None
    frame = con.execute(
        """
        SELECT d.ticker, d.own, d.date, d.prior_date, d.shares, d.market_value, d.ret, d.dollar_change, d.ar,
               d.dollar_abnormal, w.car AS car_m1p1, w.dollar_car AS dollar_car_m1p1, d.reason
        FROM mart.event_dollars AS d
        LEFT JOIN mart.event_dollar_windows AS w
          ON w.event_id = d.event_id AND w.ticker = d.ticker AND w.tau_start = -1 AND w.tau_end = 1
        WHERE d.event_id = ? AND d.tau = 0
        ORDER BY NOT d.own, d.dollar_change NULLS LAST, d.ticker
        """,
        [event_id],
    ).df()
    return None if frame.empty else frame


def event_dollar_total(con: duckdb.DuckDBPyConnection, event_id: str, tau: int = 0) -> dict | None:
    """The event's own tickers together on session ``tau`` (mart.event_dollar_totals): tickers, valued (with a market
    value), market_value, dollar_change, dollar_abnormal, date. None when the marts hold nothing for it."""
    if "mart.event_dollar_totals" not in tables(con):
        return None
    rows = con.execute(
        "SELECT date, tickers, valued, market_value, dollar_change, dollar_abnormal FROM mart.event_dollar_totals "
        "WHERE event_id = ? AND tau = ?",
        [event_id, tau],
    ).fetchall()
    if not rows:
        return None
    names = ["date", "tickers", "valued", "market_value", "dollar_change", "dollar_abnormal"]
    return dict(zip(names, rows[0], strict=True))


def event_dollar_windows(con: duckdb.DuckDBPyConnection, event_id: str) -> pd.DataFrame | None:
    """An event's dollars per ticker and window (mart.event_dollar_windows): ``dollar_abnormal`` is the CAR in dollars,
    ``dollar_change`` the window's market value change, as ``event_verdicts(dollars=...)`` takes them. None before the
    analysis wrote the mart or for an event without rows."""
    if "mart.event_dollar_windows" not in tables(con):
        return None
    frame = con.execute(
        """
        SELECT ticker, "window", tau_start, tau_end, prior_date, market_value, car, dollar_car AS dollar_abnormal,
               dollar_change, reason
        FROM mart.event_dollar_windows WHERE event_id = ? ORDER BY tau_start, tau_end, ticker
        """,
        [event_id],
    ).df()
    return None if frame.empty else frame
