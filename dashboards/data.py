"""Read-only queries for the dashboards and the report: warehouse in, tidy DataFrames out.

Every read opens one short read-only connection (``pipelines.warehouse.reader``), runs its queries
and closes it, so a pipeline run that wants to write waits at most one query. Results are cached
per *warehouse version* (the size and modification time of the DuckDB file and its WAL): while
nothing changed, a page reads from memory and does not touch the file at all. While a writer holds
the file, a read waits briefly, then answers with the last result it had for the same question,
flagged stale, or raises :class:`WarehouseBusy` when it never had one; the app shows "refreshing"
and retries.

Sentiment tables (core.headline_sentiment, mart.daily_sentiment) are optional: their absence is a
state ("sentiment not computed yet"), not an error.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines import warehouse
from pipelines.errors import WarehouseError

PRICE_WINDOW = (-10, 10)
"""Trading days around day0 of the normalised price paths."""
BAND_Z = 1.959963984540054
"""Two-sided 95% normal quantile for the CAR bands."""
DEFAULT_WINDOW = "[-1,+1]"


class WarehouseBusy(RuntimeError):
    """A writer holds the warehouse and no earlier answer to this question is cached."""


@dataclass
class Result:
    """What a read returns: the value and whether it comes from the cache of an older version."""

    value: object
    stale: bool = False


@dataclass
class Store:
    """The warehouse as the dashboards see it: short read-only connections and a versioned cache."""

    path: Path
    wait_s: float = 1.5
    cache_size: int = 256
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _latest: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.path = warehouse.warehouse_path(self.path)

    def version(self) -> tuple:
        """Size and mtime of the file and its WAL: any committed write changes one of them."""
        parts = []
        for candidate in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                stat = candidate.stat()
                parts.append((stat.st_size, stat.st_mtime_ns))
            except FileNotFoundError:
                parts.append(None)
        return tuple(parts)

    def read(self, name: str, fn: Callable[..., object], *params: object) -> Result:
        """``fn(con, *params)`` on a short read-only connection, cached per warehouse version."""
        key = (name, params)
        version = self.version()
        with self._lock:
            hit = self._cache.get((version, key))
            if hit is not None:
                self._cache.move_to_end((version, key))
                return Result(hit)
        try:
            with warehouse.reader(self.path, wait_s=self.wait_s) as con:
                value = fn(con, *params)
        except WarehouseError as error:
            if not self.path.exists():
                raise
            with self._lock:
                if key in self._latest:
                    return Result(self._latest[key], stale=True)
            raise WarehouseBusy(f"the warehouse is being written by a pipeline run: {error}") from error
        except duckdb.IOException as error:  # the writer's checkpoint raced our open: treat as busy
            with self._lock:
                if key in self._latest:
                    return Result(self._latest[key], stale=True)
            raise WarehouseBusy(str(error)) from error
        with self._lock:
            self._cache[(version, key)] = value
            self._latest[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return Result(value)

    def busy(self) -> bool:
        """True while a writer holds the file (checked without waiting)."""
        try:
            with warehouse.reader(self.path, wait_s=0.0):
                return False
        except WarehouseError:
            return self.path.exists()


# --- schema probes -------------------------------------------------------------------------------

def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def _sentiment_model(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str | None:
    """The sentiment model with the most scored rows (None when nothing is scored)."""
    sources = [f"SELECT model FROM {t}" for t in ("core.headline_sentiment", "mart.daily_sentiment") if t in tables]
    if not sources:
        return None
    row = con.execute(
        f"SELECT model FROM ({' UNION ALL '.join(sources)}) GROUP BY model ORDER BY count(*) DESC, model LIMIT 1"
    ).fetchall()
    return row[0][0] if row else None


# --- small readers -------------------------------------------------------------------------------

def _status(con: duckdb.DuckDBPyConnection) -> dict:
    tables = _tables(con)
    sources: list[str] = []
    if "core.prices" in tables:
        sources += [r[0] for r in con.execute("SELECT DISTINCT source FROM core.prices").fetchall()]
    if "core.headlines" in tables:
        sources += [r[0] for r in con.execute("SELECT DISTINCT unnest(string_split(source, ',')) FROM core.headlines").fetchall()]
    if "raw.ingestions" in tables:
        sources += [r[0] for r in con.execute("SELECT DISTINCT unnest(string_split(source, ',')) FROM raw.ingestions").fetchall()]
    model = _sentiment_model(con, tables)
    return {
        "tables": tables,
        "demo": "demo" in set(sources),
        "sources": sorted(set(sources)),
        "sentiment": model is not None,
        "sentiment_model": model,
    }


def status(store: Store) -> Result:
    """Which tables exist, whether the data is the simulated demo, whether sentiment is computed."""
    return store.read("status", _status)


def _tickers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT ticker, min(date) AS first, max(date) AS last, count(*) AS sessions FROM core.prices GROUP BY ticker ORDER BY ticker"
    ).df()


def tickers(store: Store) -> Result:
    """Every ticker with its first and last session."""
    return store.read("tickers", _tickers)


def _windows(con: duckdb.DuckDBPyConnection) -> list[str]:
    if "mart.event_windows" not in _tables(con):
        return []
    rows = con.execute(
        'SELECT "window" FROM mart.event_windows GROUP BY "window", tau_start, tau_end ORDER BY tau_end - tau_start, tau_start'
    ).fetchall()
    return [r[0] for r in rows]


def windows(store: Store) -> Result:
    """The event windows studied, shortest first ([0,0], [0,+1], [-1,+1], [-5,+5])."""
    return store.read("windows", _windows)


def _events(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    if "core.events" not in _tables(con):
        return pd.DataFrame(columns=["event_id", "name", "kind", "origin", "day0", "tickers", "description"])
    return con.execute(
        "SELECT event_id, name, kind, origin, day0, tickers, description, trigger_sar FROM core.events "
        "ORDER BY CASE origin WHEN 'curated' THEN 0 ELSE 1 END, day0 DESC, event_id"
    ).df()


def events(store: Store) -> Result:
    """Curated events first, newest first, then detected ones."""
    return store.read("events", _events)


# --- event explorer ------------------------------------------------------------------------------

LINKED = ("(list_has_any(h.tickers, ?) OR h.headline_id IN (SELECT headline_id FROM core.headline_sentiment "
          "WHERE relevance <> 'none' AND list_contains(?, ticker)))")
"""SQL over alias h: the headline is tagged with, or linked to, one of a list of tickers (pass the list twice)."""


def _headline_frame(con: duckdb.DuckDBPyConnection, where: str, params: Sequence[object], tables: set[str],
                    tickers: Sequence[str], limit: int = 200) -> pd.DataFrame:
    """Headlines matching ``where`` (over alias h) in time order, with the sentiment FOR each of ``tickers`` when scored.

    ``scores`` lists, per headline, one {ticker, label, score, relevance, weight} per ticker of ``tickers`` it concerns
    (in the order given); ``sentiment``/``sentiment_score`` are those of the first ticker that has one.
    """
    model = _sentiment_model(con, tables)
    order = {t: i for i, t in enumerate(tickers)}
    if model is not None:
        select = ", s.scores"
        join = ("LEFT JOIN (SELECT headline_id, list({'ticker': ticker, 'label': label, 'score': score, 'relevance': relevance, "
                "'weight': core.relevance_weight(relevance)}) "
                "AS scores FROM core.headline_sentiment WHERE model = ? AND relevance <> 'none' AND list_contains(?, ticker) "
                "GROUP BY headline_id) AS s ON s.headline_id = h.headline_id")
        args = [model, list(tickers), *params]
    else:
        select, join, args = ", CAST(NULL AS STRUCT(ticker VARCHAR, label VARCHAR, score DOUBLE, relevance VARCHAR, weight DOUBLE)[]) AS scores", "", list(params)
    frame = con.execute(
        f"SELECT h.headline_id, h.published_at, h.session_date, h.title, h.publisher, h.url, h.tickers, h.source{select} "
        f"FROM core.headlines AS h {join} WHERE {where} ORDER BY h.published_at, h.headline_id LIMIT {int(limit)}",
        args,
    ).df()
    frame["scores"] = [sorted(list(s), key=lambda x: order.get(x["ticker"], len(order))) if isinstance(s, (list, tuple, np.ndarray)) and len(s) else []
                       for s in frame["scores"]]
    frame["sentiment"] = [s[0]["label"] if s else None for s in frame["scores"]]
    frame["sentiment_score"] = [s[0]["score"] if s else np.nan for s in frame["scores"]]
    return frame


def _event_bundle(con: duckdb.DuckDBPyConnection, event_id: str) -> dict | None:
    tables = _tables(con)
    event = con.execute(
        "SELECT event_id, name, kind, origin, announced_at, day0, day0_rule, tickers, description, trigger_sar, headline_ids "
        "FROM core.events WHERE event_id = ?", [event_id]
    ).df()
    if event.empty:
        return None
    info = event.iloc[0].to_dict()
    info["tickers"] = list(info["tickers"])
    day0 = pd.Timestamp(info["day0"])
    estimates = con.execute(
        "SELECT ticker, benchmark, status, sigma_e, beta, n_est FROM mart.event_estimates WHERE event_id = ? ORDER BY ticker",
        [event_id],
    ).df() if "mart.event_estimates" in tables else pd.DataFrame(columns=["ticker", "benchmark", "status", "sigma_e"])
    benchmark = next((b for b in estimates.get("benchmark", pd.Series(dtype=object)).dropna()), "SPY")

    # Normalised price paths from the sessions in core.prices (tau counts sessions, not days).
    names = list(dict.fromkeys([*info["tickers"], benchmark]))
    sessions = con.execute(
        """
        WITH s AS (SELECT DISTINCT date FROM core.prices WHERE ticker = ?),
             k AS (SELECT date, row_number() OVER (ORDER BY date) AS k FROM s),
             z AS (SELECT min(k) AS k0 FROM k WHERE date >= ?)
        SELECT k.date, CAST(k.k - z.k0 AS INTEGER) AS tau FROM k, z WHERE k.k - z.k0 BETWEEN ? AND ?
        """,
        [benchmark, day0.date(), PRICE_WINDOW[0] - 1, PRICE_WINDOW[1]],
    ).df()
    prices = con.execute(
        "SELECT p.ticker, p.date, p.adj_close, p.close FROM core.prices AS p "
        "WHERE p.ticker IN (SELECT unnest(?)) AND p.date BETWEEN ? AND ? ORDER BY p.ticker, p.date",
        [names, sessions["date"].min(), sessions["date"].max()],
    ).df() if not sessions.empty else pd.DataFrame(columns=["ticker", "date", "adj_close", "close"])
    prices = prices.merge(sessions, on="date")
    base = prices.loc[prices["tau"] == -1].set_index("ticker")["adj_close"]
    prices["index"] = 100 * prices["adj_close"] / prices["ticker"].map(base)
    prices["ret"] = prices.sort_values("tau").groupby("ticker")["adj_close"].pct_change()
    prices = prices.loc[prices["tau"] >= PRICE_WINDOW[0]].reset_index(drop=True)
    prices["benchmark"] = prices["ticker"] == benchmark

    if "mart.abnormal_returns" in tables:
        abnormal = con.execute(
            "SELECT ticker, tau, date, ret, expected, ar, car, sar FROM mart.abnormal_returns WHERE event_id = ? "
            "ORDER BY ticker, tau", [event_id]
        ).df()
        windows = con.execute(
            'SELECT ticker, "window", tau_start, tau_end, car, bhar, car_sd, car_t, car_p, df FROM mart.event_windows '
            "WHERE event_id = ? ORDER BY tau_end - tau_start, tau_start, ticker", [event_id]
        ).df()
        aggregates = con.execute(
            'SELECT "window", tau_start, tau_end, n, caar, median_car, sd_car, share_positive, rbar, clustered '
            "FROM mart.event_aggregates WHERE event_id = ? ORDER BY tau_end - tau_start, tau_start", [event_id]
        ).df()
        tests = con.execute(
            'SELECT "window", tau_start, tau_end, test, statistic, p_value, n, method, adjusts_cross_correlation '
            "FROM mart.event_tests WHERE event_id = ? ORDER BY tau_end - tau_start, tau_start", [event_id]
        ).df()
    else:
        abnormal = pd.DataFrame(columns=["ticker", "tau", "date", "ret", "expected", "ar", "car", "sar"])
        windows = pd.DataFrame(columns=["ticker", "window", "tau_start", "tau_end", "car", "car_t", "car_p"])
        aggregates = pd.DataFrame(columns=["window", "caar"])
        tests = pd.DataFrame(columns=["window", "test", "statistic", "p_value", "n"])
    if not abnormal.empty:
        sigma = estimates.set_index("ticker")["sigma_e"] if not estimates.empty else pd.Series(dtype=float)
        first = abnormal.groupby("ticker")["tau"].transform("min")
        abnormal["sigma_e"] = abnormal["ticker"].map(sigma)
        half = BAND_Z * abnormal["sigma_e"] * np.sqrt(abnormal["tau"] - first + 1)
        abnormal["car_lo"] = abnormal["car"] - half
        abnormal["car_hi"] = abnormal["car"] + half

    # Headlines: a detected event's own stories; otherwise the event tickers' stories from day -1 to +1.
    ids = info.get("headline_ids")
    ids = list(ids) if ids is not None and not (isinstance(ids, float) and np.isnan(ids)) else []
    span = sessions.set_index("tau")["date"] if not sessions.empty else pd.Series(dtype=object)
    lo = span.get(-1, day0 - pd.Timedelta(days=3))
    hi = span.get(1, day0 + pd.Timedelta(days=3))
    if ids:
        headlines = _headline_frame(con, "h.headline_id IN (SELECT unnest(?))", [ids], tables, info["tickers"])
    else:
        headlines = _headline_frame(
            con, f"h.session_date BETWEEN ? AND ? AND {LINKED}",
            [pd.Timestamp(lo).date(), pd.Timestamp(hi).date(), info["tickers"], info["tickers"]], tables, info["tickers"],
        )
    return {
        "event": info, "benchmark": benchmark, "prices": prices, "abnormal": abnormal, "windows": windows,
        "aggregates": aggregates, "tests": tests, "headlines": headlines, "estimates": estimates,
    }


def event_bundle(store: Store, event_id: str) -> Result:
    """Everything the explorer and the report show for one event (None when the event is unknown)."""
    return store.read("event", _event_bundle, event_id)


# --- ticker view ---------------------------------------------------------------------------------

def _ticker_bundle(con: duckdb.DuckDBPyConnection, ticker: str, start: date, end: date) -> dict:
    tables = _tables(con)
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
    events_ = con.execute(
        "SELECT event_id, name, origin, day0 FROM core.events WHERE list_contains(tickers, ?) AND day0 BETWEEN ? AND ? "
        "ORDER BY day0", [ticker, start, end]
    ).df() if "core.events" in tables else pd.DataFrame(columns=["event_id", "name", "origin", "day0"])
    if "mart.daily_abnormal_returns" in tables:
        ar = con.execute(
            "SELECT date, ar, sar FROM mart.daily_abnormal_returns WHERE ticker = ? AND date BETWEEN ? AND ?",
            [ticker, start, end],
        ).df()
        prices = prices.merge(ar, on="date", how="left")
    counts = con.execute(
        "SELECT session_date AS date, count(*) AS n_headlines FROM core.headline_tickers WHERE ticker = ? "
        "AND session_date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1", [ticker, start, end]
    ).df()
    sentiment = _daily_sentiment(con, tables, [ticker], start, end)
    return {"prices": prices, "events": events_, "headline_counts": counts, "sentiment": sentiment}


def ticker_bundle(store: Store, ticker: str, start: date, end: date) -> Result:
    """Split-adjusted OHLC, volume, daily AR, events, headline counts and daily sentiment (or None)."""
    return store.read("ticker", _ticker_bundle, ticker, pd.Timestamp(start).date(), pd.Timestamp(end).date())


def _day_headlines(con: duckdb.DuckDBPyConnection, ticker: str, day: date) -> pd.DataFrame:
    return _headline_frame(con, f"h.session_date = ? AND {LINKED}", [day, [ticker], [ticker]], _tables(con), [ticker])


def day_headlines(store: Store, ticker: str, day: date) -> Result:
    """The headlines about ``ticker`` (tagged or linked) that can first move session ``day``, scored for ``ticker``."""
    return store.read("day_headlines", _day_headlines, ticker, pd.Timestamp(day).date())


def _latest_headline_day(con: duckdb.DuckDBPyConnection, ticker: str, start: date, end: date):
    row = con.execute(
        "SELECT max(session_date) FROM core.headline_tickers WHERE ticker = ? AND session_date BETWEEN ? AND ?",
        [ticker, start, end],
    ).fetchall()
    return row[0][0] if row else None


def latest_headline_day(store: Store, ticker: str, start: date, end: date) -> Result:
    """The last session in ``start``..``end`` with a headline about ``ticker`` (None if none)."""
    return store.read("latest_headline_day", _latest_headline_day, ticker, pd.Timestamp(start).date(), pd.Timestamp(end).date())


# --- sentiment -----------------------------------------------------------------------------------

def _daily_sentiment(con: duckdb.DuckDBPyConnection, tables: set[str], names: Sequence[str] | None,
                     start: date, end: date) -> pd.DataFrame | None:
    """mart.daily_sentiment (one model) joined to the daily abnormal returns; None when not computed."""
    if "mart.daily_sentiment" not in tables or not con.execute("SELECT EXISTS (FROM mart.daily_sentiment)").fetchall()[0][0]:
        return None
    where, args = ["s.date BETWEEN ? AND ?"], [start, end]
    if names:
        where.append("s.ticker IN (SELECT unnest(?))")
        args.append(list(names))
    # One model: the one that scored the most days, so several classifiers never double-count a session.
    where.append("s.model = (SELECT model FROM mart.daily_sentiment GROUP BY model ORDER BY count(*) DESC, model LIMIT 1)")
    return con.execute(
        "SELECT s.ticker, s.date, s.model, s.headlines AS n_headlines, s.mean_score, s.share_negative, "
        "s.share_positive, coalesce(s.ar, r.ar) AS ar, coalesce(s.sar, r.sar) AS sar FROM mart.daily_sentiment AS s "
        "LEFT JOIN mart.daily_abnormal_returns AS r ON r.ticker = s.ticker AND r.date = s.date "
        f"WHERE {' AND '.join(where)} ORDER BY s.ticker, s.date",
        args,
    ).df()


def _sentiment_returns(con: duckdb.DuckDBPyConnection, names: tuple[str, ...], start: date, end: date) -> pd.DataFrame | None:
    return _daily_sentiment(con, _tables(con), list(names), start, end)


def sentiment_returns(store: Store, names: Sequence[str], start: date, end: date) -> Result:
    """Daily sentiment index vs abnormal return per ticker and session; value None when not computed."""
    return store.read("sentiment_returns", _sentiment_returns, tuple(sorted(names)),
                      pd.Timestamp(start).date(), pd.Timestamp(end).date())


# --- overview ------------------------------------------------------------------------------------

def _overview(con: duckdb.DuckDBPyConnection) -> dict:
    tables = _tables(con)
    last = con.execute("SELECT max(date) FROM core.prices").fetchall()[0][0]
    session = con.execute(
        """
        SELECT ticker, date, close, adj_close / prev - 1 AS ret, volume
        FROM (SELECT ticker, date, close, adj_close, volume,
                     lag(adj_close) OVER (PARTITION BY ticker ORDER BY date) AS prev
              FROM core.prices WHERE date BETWEEN ? - INTERVAL 14 DAY AND ?)
        WHERE date = ? ORDER BY ticker
        """,
        [last, last, last],
    ).df() if last is not None else pd.DataFrame(columns=["ticker", "date", "close", "ret", "volume"])
    if "mart.daily_abnormal_returns" in tables and last is not None:
        session = session.merge(
            con.execute("SELECT ticker, ar, sar FROM mart.daily_abnormal_returns WHERE date = ?", [last]).df(),
            on="ticker", how="left",
        )
    else:
        session["ar"] = np.nan
        session["sar"] = np.nan
    sentiment = _daily_sentiment(con, tables, None, last, last) if last is not None else None
    if sentiment is not None:
        session = session.merge(sentiment[["ticker", "mean_score", "n_headlines"]], on="ticker", how="left")
    freshness = con.execute(
        """
        SELECT dataset, source, max(range_end) AS data_through, max(ingested_at) AS last_ingested,
               arg_max(rows, ingested_at) AS last_rows, arg_max(run_id, ingested_at) AS last_run_id, count(*) AS runs
        FROM raw.ingestions GROUP BY dataset, source ORDER BY dataset, source
        """
    ).df() if "raw.ingestions" in tables else pd.DataFrame()
    runs = []
    if not freshness.empty:
        top = freshness.sort_values("last_ingested").iloc[-1]
        runs.append({"what": f"ingest {top['dataset']} ({top['source']})", "at": top["last_ingested"], "run_id": top["last_run_id"]})
    for table, what in (("mart.daily_abnormal_returns", "analysis (abnormal returns, events)"),
                        ("core.headline_sentiment", "sentiment scoring")):
        if table in tables:
            column = "scored_at" if table == "core.headline_sentiment" else "computed_at"
            at = con.execute(f"SELECT max({column}) FROM {table}").fetchall()[0][0]
            if at is not None:
                runs.append({"what": what, "at": pd.Timestamp(at), "run_id": None})
    # The curated event with the largest day-0 move in the warehouse: the landing page's spotlight.
    spotlight = None
    if "mart.abnormal_returns" in tables:
        row = con.execute(
            """
            SELECT a.event_id, e.name, e.day0, a.ticker, a.ret, a.ar
            FROM mart.abnormal_returns AS a JOIN core.events AS e USING (event_id)
            WHERE a.tau = 0 AND e.origin = 'curated' AND list_contains(e.tickers, a.ticker) AND a.ret IS NOT NULL
            ORDER BY abs(a.ret) DESC LIMIT 1
            """
        ).fetchall()
        if row:
            spotlight = dict(zip(["event_id", "name", "day0", "ticker", "ret", "ar"], row[0], strict=True))
    counts = {
        "tickers": con.execute("SELECT count(DISTINCT ticker) FROM core.prices").fetchall()[0][0],
        "headlines": con.execute("SELECT count(*) FROM core.headlines").fetchall()[0][0] if "core.headlines" in tables else 0,
        "events": con.execute("SELECT count(*) FROM core.events").fetchall()[0][0] if "core.events" in tables else 0,
    }
    return {"last_session": last, "session": session, "freshness": freshness, "runs": runs,
            "spotlight": spotlight, "counts": counts, "sentiment": sentiment is not None}


def overview(store: Store) -> Result:
    """The universe's last session (return, AR, sentiment), data freshness per source, the last runs."""
    return store.read("overview", _overview)
