"""Shares outstanding per ticker from the price source's side: observations (a count stated as of a date).

The shares asset (``pipelines/assets/shares.py``) turns them into one count per session. Which shares source
goes with which price source is :func:`make_shares_source`'s one table:

- ``demo``: the real public-filing figures stored in ``data/demo/shares.yaml``;
- ``files``: a side file ``shares.csv`` (``ticker,date,shares``) beside the price files;
- ``yahoo``: yfinance's shares-outstanding history (``Ticker.get_shares_full``), else the quarterly balance
  sheet's ordinary share count.

A ticker a source has no count for gets no rows: the dollar marts then leave its dollar columns empty and say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import yaml

from pipelines.errors import DataValidationError, SourceError, TransientSourceError
from pipelines.locations import data_file
from pipelines.sources.base import TICKER_SYMBOL, PriceSource

SHARE_COLUMNS: tuple[str, ...] = ("ticker", "date", "shares", "source")
"""Canonical observations: ``date`` is the day the count applies to (a filing's "as of" date, a vendor's stamp)."""

SHARES_FILE = "shares.csv"
"""The files source's side file, in the price folder (or beside the long price file)."""

MAX_SHARES = 1e12
"""No listed company has a trillion shares outstanding (the largest counts are in the tens of billions)."""

DEMO_SHARES = data_file("demo", "shares.yaml")


class SharesSource(Protocol):
    """Shares outstanding observations for tickers."""

    name: str

    def fetch_shares(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Observations dated up to ``end``, reaching back before ``start`` as far as the source holds, so the count
        in effect on ``start`` is known; a canonical frame (:data:`SHARE_COLUMNS`) or a SourceError."""
        ...


def validate_shares(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """The canonical observations of ``frame`` (dates as midnight timestamps), or a DataValidationError naming the
    first bad row (1-based, as the rows came) and field: a malformed ticker or date, a count that is not a finite
    number in (0, 1e12], two different counts for one ticker and date."""
    missing = [c for c in SHARE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(origin, f"shares rows lack column(s) {missing}", field=missing[0])
    out = frame.loc[:, list(SHARE_COLUMNS)].reset_index(drop=True)
    tickers = out["ticker"].astype("string").str.strip().str.upper()
    bad = tickers.isna() | ~tickers.fillna("").str.fullmatch(TICKER_SYMBOL.pattern)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(origin, f"malformed ticker {frame['ticker'].iloc[i]!r}", row=i + 1, field="ticker")
    dates = pd.to_datetime(out["date"], errors="coerce", format="mixed") if len(out) else pd.to_datetime(out["date"])
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataValidationError(
            origin, f"unreadable date {out['date'].iloc[i]!r}", row=i + 1, ticker=tickers.iloc[i], field="date"
        )
    shares = pd.to_numeric(out["shares"], errors="coerce").astype(float)
    bad = ~np.isfinite(shares) | (shares <= 0) | (shares > MAX_SHARES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(
            origin,
            f"shares outstanding must be a number in (0, {MAX_SHARES:.0e}], got {out['shares'].iloc[i]!r}",
            row=i + 1,
            ticker=tickers.iloc[i],
            date=dates.iloc[i],
            field="shares",
        )
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    out = pd.DataFrame(
        {
            "ticker": tickers.astype(str),
            "date": dates.dt.normalize(),
            "shares": shares,
            "source": out["source"].astype(str),
        }
    )
    counts = out.groupby(["ticker", "date"])["shares"].nunique()
    clash = counts[counts > 1]
    if len(clash):
        ticker, day = clash.index[0]
        raise DataValidationError(
            origin, "two different share counts on one date", ticker=ticker, date=day, field="shares"
        )
    return out.drop_duplicates(["ticker", "date"]).sort_values(["ticker", "date"]).reset_index(drop=True)


def _keep(frame: pd.DataFrame, tickers: Sequence[str], end: date) -> pd.DataFrame:
    """The rows of ``tickers`` dated up to ``end``."""
    wanted = {str(t).upper() for t in tickers}
    return frame[frame["ticker"].isin(wanted) & (frame["date"] <= pd.Timestamp(end))].reset_index(drop=True)


class DemoShares:
    """The demo universe's real share counts (public filings), stored as figures in ``data/demo/shares.yaml``."""

    name = "demo"

    def __init__(self, path: Path = DEMO_SHARES) -> None:
        self.path = path

    def fetch_shares(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Every stored figure of ``tickers`` up to ``end``."""
        try:
            figures = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise SourceError(str(self.path), f"cannot read the demo share counts: {error}") from error
        if not isinstance(figures, dict) or not isinstance(figures.get("tickers"), dict):
            raise SourceError(str(self.path), "expected a mapping 'tickers: {TICKER: [{as_of, shares, filing}]}'")
        rows = []
        for ticker, entries in figures["tickers"].items():
            for position, entry in enumerate(entries or [], start=1):
                if not isinstance(entry, dict) or not {"as_of", "shares", "filing"} <= set(entry):
                    raise DataValidationError(
                        str(self.path), "each entry needs as_of, shares and filing", ticker=str(ticker), row=position
                    )
                rows.append({"ticker": ticker, "date": entry["as_of"], "shares": entry["shares"], "source": self.name})
        return _keep(validate_shares(pd.DataFrame(rows, columns=list(SHARE_COLUMNS)), str(self.path)), tickers, end)


class FileShares:
    """``shares.csv`` (``ticker,date,shares``, any column order and case) beside the files source's prices.

    A folder without the file has no counts (not an error: the prices stand alone); a file that is there must be
    valid whole, like the price files.
    """

    name = "files"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def file(self) -> Path:
        """Where the side file is looked for: in the price folder, or beside the long price file."""
        folder = self.path if self.path.is_dir() else self.path.parent
        return folder / SHARES_FILE

    def fetch_shares(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """The file's rows for ``tickers`` up to ``end``; none when there is no file."""
        if not self.file.is_file():
            return validate_shares(pd.DataFrame(columns=list(SHARE_COLUMNS)), self.name)
        try:
            raw = pd.read_csv(self.file, dtype=str, keep_default_na=False, skip_blank_lines=True)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise SourceError(str(self.file), f"cannot read it as CSV: {error}") from error
        raw.columns = [str(c).strip().lower() for c in raw.columns]
        raw = raw.rename(columns={"symbol": "ticker", "shares_outstanding": "shares"})
        missing = [c for c in ("ticker", "date", "shares") if c not in raw.columns]
        if missing:
            raise DataValidationError(
                str(self.file),
                f"needs the columns ticker,date,shares; missing {missing} (has {list(raw.columns)})",
                field=missing[0],
            )
        frame = raw.assign(shares=raw["shares"].str.replace(",", "").str.strip(), source=self.name)
        return _keep(validate_shares(frame, str(self.file)), tickers, end)


class YahooShares:
    """Yahoo's shares-outstanding history through yfinance (``Ticker.get_shares_full``), with the quarterly balance
    sheet's ordinary share count where Yahoo has no history. Throttling and timeouts raise TransientSourceError; a
    ticker Yahoo has no count for (or refuses otherwise) gets no rows and an entry in ``skipped``."""

    name = "yahoo"

    def __init__(self, session: Any = None, lookback_days: int = 548) -> None:
        self.session = session
        self.lookback_days = lookback_days
        self.skipped: dict[str, str] = {}
        """Tickers the last fetch got no counts for, and why (the asset logs them; their dollars stay empty)."""

    def _http(self) -> Any:
        from pipelines.sources.yahoo import _new_session

        if self.session is None:
            self.session = _new_session()
        return self.session

    def fetch_shares(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Observations of ``tickers`` from ``lookback_days`` before ``start`` to ``end``."""
        from pipelines.sources.yahoo import _symbols

        rows = [row for symbol in _symbols(tickers, self.name) for row in self._ticker(symbol, start, end)]
        return _keep(validate_shares(pd.DataFrame(rows, columns=list(SHARE_COLUMNS)), self.name), tickers, end)

    def _ticker(self, symbol: str, start: date, end: date) -> list[dict[str, Any]]:
        import yfinance as yf
        from yfinance.data import YfData

        from pipelines.sources.yahoo import _is_transient, _Watch

        session = self._http()
        ticker = yf.Ticker(symbol, session=session)
        first = start - timedelta(days=self.lookback_days)
        with _Watch(session) as watch:
            try:
                history = ticker.get_shares_full(start=first, end=end + timedelta(days=1))
                counts = _history_counts(history)
                if counts.empty:
                    counts = _balance_sheet_counts(ticker.get_balance_sheet(freq="quarterly", pretty=False))
            except Exception as exc:
                if _is_transient(exc) or any(e.transient for e in watch.exchanges):
                    YfData.cache_get.cache_clear()
                    raise TransientSourceError(
                        self.name, f"shares request failed: {exc!r}"[:300], ticker=symbol
                    ) from exc
                self.skipped[symbol] = f"shares request failed: {exc!r}"[:300]
                return []
        refused = [e for e in watch.exchanges if e.status is None or e.status >= 400]
        if any(e.transient for e in refused):  # yfinance memoises answers in-process: a retry must refetch
            YfData.cache_get.cache_clear()
        if counts.empty and any(e.transient for e in refused):  # yfinance logged the refusal and returned nothing
            last = refused[-1]
            raise TransientSourceError(
                self.name, f"shares request refused: HTTP {last.status or 'none'} {last.note}"[:300], ticker=symbol
            )
        if counts.empty:
            self.skipped[symbol] = "Yahoo has neither a shares-outstanding history nor a quarterly balance-sheet count"
        return [{"ticker": symbol, "date": day, "shares": value, "source": self.name} for day, value in counts.items()]


def _history_counts(history: pd.Series | None) -> pd.Series:
    """``get_shares_full``'s series (several stamps a day, exchange time) as the last count of each date."""
    if history is None or len(history) == 0:
        return pd.Series(dtype=float)
    index = pd.DatetimeIndex(history.index)
    if index.tz is not None:
        index = index.tz_localize(None)  # exchange wall-clock dates, not a conversion
    series = pd.Series(pd.to_numeric(history.to_numpy(), errors="coerce"), index=index.normalize()).dropna()
    return series.groupby(level=0).last()


def _balance_sheet_counts(sheet: pd.DataFrame | None) -> pd.Series:
    """The quarterly balance sheet's ordinary share count (else shares issued) per quarter end."""
    if sheet is None or sheet.empty:
        return pd.Series(dtype=float)
    for row in ("OrdinarySharesNumber", "ShareIssued"):
        if row in sheet.index:
            values = pd.to_numeric(sheet.loc[row], errors="coerce").dropna()
            if len(values):
                return pd.Series(values.to_numpy(), index=pd.DatetimeIndex(values.index).normalize()).sort_index()
    return pd.Series(dtype=float)


def make_shares_source(prices: PriceSource) -> SharesSource | None:
    """The shares source that goes with the built price source ``prices`` (its folder, its HTTP session); None for
    a price source without share counts."""
    if prices.name == "demo":
        return DemoShares()
    if prices.name == "files":
        from pipelines.sources.files import FilePriceSource

        return FileShares(prices.path) if isinstance(prices, FilePriceSource) else None
    if prices.name == "yahoo":
        return YahooShares(session=getattr(prices, "session", None))
    return None
