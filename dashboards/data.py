"""The dashboards' and the report's view of the warehouse: the read model (``pipelines.warehouse.read``)
behind short read-only connections and a versioned cache. No SQL here: a new question goes to read.py.

Every read opens one short read-only connection (``pipelines.warehouse.reader``), asks the read model
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
from typing import Any

import duckdb
import pandas as pd

from dashboards import refit
from pipelines.errors import WarehouseError
from pipelines.warehouse import connection, read


class WarehouseBusy(RuntimeError):
    """A writer holds the warehouse and no earlier answer to this question is cached."""


@dataclass
class Result:
    """What a read returns: the value and whether it comes from the cache of an older version."""

    value: Any
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

    def version(self) -> tuple:
        """Size and mtime of the file and its WAL: any committed write changes one of them."""
        parts: list[tuple[int, int] | None] = []
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
            with connection.reader(self.path, wait_s=self.wait_s) as con:
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

    def compute(self, name: str, fn: Callable[..., object], *params: object) -> object:
        """``fn(*params)`` (no connection: work on values already read), cached per warehouse version like a read."""
        key = (self.version(), ("compute", name, params))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = fn(*params)
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return value

    def busy(self) -> bool:
        """True while a writer holds the file (checked without waiting)."""
        try:
            with connection.reader(self.path, wait_s=0.0):
                return False
        except WarehouseError:
            return self.path.exists()


def open_store(path: str | Path | None = None, wait_s: float = 1.5) -> Store:
    """A Store over ``path`` (default: $IMPACT_WAREHOUSE, else the default warehouse)."""
    return Store(connection.warehouse_path(path), wait_s=wait_s)


# --- the questions the pages ask (answered by the read model) --------------------------------------


def status(store: Store) -> Result:
    """Which tables exist, whether the data is the simulated demo, whether sentiment is computed."""
    return store.read("status", read.status)


def tickers(store: Store) -> Result:
    """Every ticker with its first and last session."""
    return store.read("tickers", read.tickers)


def windows(store: Store) -> Result:
    """The event windows studied, shortest first ([0,0], [0,+1], [-1,+1], [-5,+5])."""
    return store.read("windows", read.windows)


def events(store: Store) -> Result:
    """Curated events first, newest first, then detected ones."""
    return store.read("events", read.events)


def event_bundle(store: Store, event_id: str) -> Result:
    """Everything the explorer and the report show for one event (None when the event is unknown)."""
    return store.read("event", read.event, event_id)


def event_prices(store: Store, event_id: str, names: Sequence[str], benchmark: str, span: tuple[int, int]) -> Result:
    """Normalised prices of ``names`` and the benchmark over sessions ``span`` around the event's day 0."""
    return store.read("event_prices", read.event_prices, event_id, tuple(names), benchmark, tuple(span))


def returns(store: Store) -> Result:
    """Daily returns of every ticker (one column each): what the event explorer re-fits a study on."""
    return store.read("returns", read.returns)


def event_view(store: Store, event_id: str, choice: refit.Choice) -> tuple[dict | None, str | None]:
    """The event as the user chose to see it (``refit.Choice``) and, when the stored study does not hold that
    choice, why it was re-fitted here (None: the stored study). (None, None) when the event is unknown.
    Raises refit.WindowError for windows that cannot be fitted."""
    bundle = event_bundle(store, event_id).value
    if bundle is None:
        return None, None
    refit.check_choice(choice.window, choice.estimation)
    reason = refit.refit_reason(bundle, choice)
    if reason is not None:
        panel = returns(store).value
        bundle = _refit(store, event_id, bundle, panel, choice)
    span = (min(read.PRICE_WINDOW[0], choice.window[0]), max(read.PRICE_WINDOW[1], choice.window[1]))
    names = list(choice.focus) or list(bundle["event"]["tickers"])
    prices = event_prices(store, event_id, names, bundle["benchmark"], span).value
    return {**bundle, "prices": prices if prices is not None else bundle["prices"]}, reason


def _refit(store: Store, event_id: str, bundle: dict, panel: pd.DataFrame, choice: refit.Choice) -> dict:
    """The re-fitted view, cached per warehouse version and (event, choice): a fit takes a second, a redraw none."""
    return store.compute("refit", lambda _event, _choice: refit.refit(bundle, panel, choice), event_id, choice)  # type: ignore[return-value]


def adhoc_view(store: Store, at: str, tickers: str, choice: refit.Choice) -> dict:
    """The explorer's ad-hoc study of news in no catalogue (``refit.adhoc`` on the warehouse's returns), cached per
    warehouse version and what was typed. Raises refit.AdhocError for input that cannot be studied."""
    panel = returns(store).value
    return store.compute(  # type: ignore[return-value]
        "adhoc", lambda *_: refit.adhoc(panel, at, tickers, choice, read.PRICE_WINDOW), at, tickers, choice
    )


def event_verdicts(store: Store, event_id: str) -> pd.DataFrame:
    """One sentence per stored window of the event's own sample (window, tau_start, tau_end, sentence, ...)."""
    return store.read("event_verdicts", read.event_verdicts, event_id, "event").value


def event_intraday(store: Store, event_id: str) -> Result:
    """The event session's intraday bars and reaction (``read.intraday_view``)."""
    return store.read("event_intraday", read.intraday_view, event_id)


def event_sentiment(store: Store, event_id: str, lo: int, hi: int) -> Result:
    """Per event ticker: headline sentiment FOR it on sessions [lo, hi] around day0 (``read.sentiment_by_ticker``)."""
    return store.read("event_sentiment", read.sentiment_by_ticker, event_id, lo, hi)


def ticker_bundle(store: Store, ticker: str, start: date, end: date) -> Result:
    """Split-adjusted OHLC, volume, daily AR, events, headline counts and daily sentiment (or None)."""
    return store.read("ticker", read.ticker_history, ticker, pd.Timestamp(start).date(), pd.Timestamp(end).date())


def day_headlines(store: Store, ticker: str, day: date) -> Result:
    """The headlines about ``ticker`` (tagged or linked) that can first move session ``day``, scored for ``ticker``."""
    return store.read("day_headlines", read.day_headlines, ticker, pd.Timestamp(day).date())


def latest_headline_day(store: Store, ticker: str, start: date, end: date) -> Result:
    """The last session in ``start``..``end`` with a headline about ``ticker`` (None if none)."""
    return store.read(
        "latest_headline_day", read.latest_headline_day, ticker, pd.Timestamp(start).date(), pd.Timestamp(end).date()
    )


def sentiment_returns(store: Store, names: Sequence[str], start: date, end: date) -> Result:
    """Daily sentiment index vs abnormal return per ticker and session; value None when not computed."""
    return store.read(
        "sentiment_returns",
        read.daily_sentiment,
        tuple(sorted(names)),
        pd.Timestamp(start).date(),
        pd.Timestamp(end).date(),
    )


def overview(store: Store) -> Result:
    """The universe's last session (return, AR, sentiment), data freshness per source, the last runs."""
    return store.read("overview", read.overview)
