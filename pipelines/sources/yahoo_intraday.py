"""Yahoo intraday bars with pre- and post-market (``yf.download(prepost=True)``), inside Yahoo's look-back limits.

Yahoo serves 1-minute bars for the last 30 days, 7 days per request; 2- to 30-minute bars for the last
60 days; hourly bars for the last 730 days. A request beyond the limit is refused here, naming the limit,
before anything is asked (Yahoo's own answer is an HTTP 422 that yfinance only logs).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import yfinance as yf

from models.calendar import EXCHANGE_TZ
from pipelines.errors import SourceError
from pipelines.sources.intraday import check_interval, validate_bars
from pipelines.sources.yahoo import _failure, _new_session, _symbols, _Watch

LOOKBACK_DAYS: dict[str, int] = {"1m": 30, "2m": 60, "5m": 60, "15m": 60, "30m": 60, "60m": 730, "1h": 730}
"""How far back Yahoo serves each interval (days before today)."""
PER_REQUEST_DAYS: dict[str, int] = {"1m": 7}
"""The most days one request may span (the others: their whole look-back)."""
_FIELDS = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}


def lookback_error(interval: str, start: date, today: date) -> SourceError | None:
    """The error for a request reaching further back than Yahoo serves ``interval`` (None when it does not)."""
    limit = LOOKBACK_DAYS[interval]
    back = (today - start).days
    if back <= limit:
        return None
    per = PER_REQUEST_DAYS.get(interval)
    coarser = [i for i, days in LOOKBACK_DAYS.items() if days >= back]
    return SourceError(
        "yahoo intraday",
        f"Yahoo serves {interval} bars for the last {limit} days only"
        + (f" ({per} days per request)" if per else "")
        + f": {start} is {back} days back; "
        + (
            f"ask for {coarser[0]} bars (IMPACT_INTRADAY_INTERVAL)"
            if coarser
            else "use the files source for older bars"
        ),
        date=start,
        field="interval",
    )


class YahooIntradaySource:
    """Intraday bars from Yahoo through yfinance, pre- and post-market included."""

    name = "yahoo"

    def __init__(self, session: Any = None, timeout: int = 30, today: date | None = None) -> None:
        self.session = session
        self.timeout = timeout
        self.today = today

    def fetch_bars(self, tickers: list[str], start: date, end: date, interval: str = "1m") -> pd.DataFrame:
        """Canonical bars for ``tickers`` on New York dates ``start``..``end``, or a SourceError naming the limit."""
        check_interval(interval, self.name)
        symbols = _symbols(tickers, self.name)
        if end < start:
            raise SourceError(self.name, f"end {end} is before start {start}")
        refused = lookback_error(interval, start, self.today or datetime.now(UTC).date())
        if refused:
            raise refused
        span = PER_REQUEST_DAYS.get(interval, LOOKBACK_DAYS[interval])
        frames, first, empty = [], start, set(symbols)
        while first <= end:
            last = min(end, first + timedelta(days=span - 1))
            frame, failed, watch = self._request(symbols, first, last, interval)
            if any(watch.transient(s) for s in failed):  # a refusal that may pass: let the retry policy decide
                raise _failure(self.name, failed, "no intraday bars for", watch)
            if len(frame):
                frames.append(frame)
            empty -= set(frame["ticker"])
            first = last + timedelta(days=1)
        if empty:  # no bars in the whole range: an unknown ticker, or a range Yahoo has nothing for
            raise _failure(self.name, sorted(empty), f"no {interval} bars in {start}..{end} for", watch)
        bars = validate_bars(pd.concat(frames, ignore_index=True), self.name, interval)
        return bars[bars["date"].between(pd.Timestamp(start), pd.Timestamp(end))].reset_index(drop=True)

    def _request(self, symbols: list[str], start: date, end: date, interval: str) -> tuple[pd.DataFrame, list, _Watch]:
        """One yf.download: the bars it gave, the symbols it gave none for, and what Yahoo said."""
        if self.session is None:
            self.session = _new_session()
        with _Watch(self.session) as watch:
            data = yf.download(
                symbols,
                start=start,
                end=end + timedelta(days=1),
                interval=interval,
                prepost=True,
                auto_adjust=False,
                actions=False,
                group_by="ticker",
                progress=False,
                threads=False,
                timeout=self.timeout,
                session=self.session,
            )
        frames, failed = [], []
        for symbol in symbols:
            has = data is not None and not data.empty and symbol in data.columns.get_level_values(0)
            frame = data[symbol] if has else pd.DataFrame(columns=list(_FIELDS))
            frame = frame.dropna(how="all", subset=[c for c in _FIELDS if c in frame.columns])
            if frame.empty:
                failed.append(symbol)
                continue
            index = pd.DatetimeIndex(frame.index)
            out = frame.loc[:, list(_FIELDS)].rename(columns=_FIELDS).reset_index(drop=True)
            if index.tz is None:  # yfinance's ignore_tz: exchange wall-clock time
                index = index.tz_localize(EXCHANGE_TZ)
            out.insert(0, "ts", index.tz_convert("UTC"))
            out.insert(0, "ticker", symbol)
            frames.append(out)
        bars = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["ticker", "ts", *_FIELDS.values()])
        )
        return bars.assign(source=self.name), failed, watch
