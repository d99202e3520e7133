"""An event's study as the user chose it on the event explorer (event window, estimation window, focus tickers):
the stored study (the marts the analyze job wrote) when it holds that choice, else re-fitted here from the
warehouse's daily returns with ``models.event_study``, saying why. Pure: frames in, frames out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.calendar import align_to_session, parse_announced
from models.event_study import EventStudy
from models.event_study.results import window_label
from models.event_study.study import DEFAULT_ESTIMATION, DEFAULT_MIN_ESTIMATION_OBS, DEFAULT_WINDOWS
from pipelines.errors import did_you_mean
from pipelines.universe import BENCHMARKS, MARKET, split_names

STORED_ESTIMATION = DEFAULT_ESTIMATION
"""The estimation window of the stored studies (the analyze job fits EventStudy's default)."""
MIN_ESTIMATION_DAYS = 30
"""The shortest estimation window the explorer fits on."""
MIN_ESTIMATION_OBS = DEFAULT_MIN_ESTIMATION_OBS
"""Valid returns a firm needs in its estimation window (EventStudy's default; fewer when the window is shorter)."""
BAND_Z = 1.959963984540054
ADHOC_BENCHMARK = MARKET
"""The benchmark of an ad-hoc study (``impact study --at``'s default)."""


class WindowError(ValueError):
    """A window the user typed that cannot be studied (the message says which field and why)."""


class AdhocError(ValueError):
    """An ad-hoc study the user typed that cannot be fitted (one line: which field and why)."""


@dataclass(frozen=True)
class Choice:
    """What the user picked: the event window, the estimation window (trading days around day 0), the focus tickers."""

    window: tuple[int, int]
    estimation: tuple[int, int] = STORED_ESTIMATION
    focus: tuple[str, ...] = ()


PAIR = re.compile(r"^\s*\[?\s*([+\-−]?\d+)\s*[,; ]\s*([+\-−]?\d+)\s*\]?\s*$")


def parse_window(text: str | None, field: str) -> tuple[int, int]:
    """ "-1,+1" or "[-1,+1]" -> (-1, 1); a clear WindowError naming ``field`` otherwise."""
    match = PAIR.match(text or "")
    if not match:
        raise WindowError(f"{field}: type two trading days, start and end, like -1,+1 (got {text!r})")
    start, end = (int(v.replace("−", "-")) for v in match.groups())
    if start > end:
        raise WindowError(f"{field}: starts at {start}, after its end {end}")
    return start, end


def check_choice(window: tuple[int, int], estimation: tuple[int, int]) -> None:
    """Refuse windows the study cannot fit: an estimation window too short or not ending before the event window."""
    if estimation[1] - estimation[0] + 1 < MIN_ESTIMATION_DAYS:
        raise WindowError(
            f"estimation window {window_label(*estimation)}: needs at least {MIN_ESTIMATION_DAYS} sessions"
        )
    if estimation[1] >= window[0]:
        raise WindowError(
            f"estimation window {window_label(*estimation)} must end before the event window "
            f"{window_label(*window)} starts"
        )


def sample_of(bundle: dict) -> list[str]:
    """The firms the event's group tests are about: the stored study's firms, else the event's own stocks."""
    estimates = bundle["estimates"]
    if not estimates.empty and "status" in estimates:
        firms = list(estimates.loc[estimates["status"] == "ok", "ticker"])
        if firms:
            return firms
    return [t for t in bundle["event"]["tickers"] if t not in BENCHMARKS]


def refit_reason(bundle: dict, choice: Choice) -> str | None:
    """Why the stored study does not answer ``choice`` (None: it does)."""
    if bundle["estimates"].empty or bundle["windows"].empty:
        return "the warehouse holds no stored study of this event"
    if tuple(choice.estimation) != STORED_ESTIMATION:
        return (
            f"estimation window {window_label(*choice.estimation)} differs from the stored study's "
            f"{window_label(*STORED_ESTIMATION)}"
        )
    label = window_label(*choice.window)
    stored = list(dict.fromkeys(bundle["windows"]["window"]))
    if label not in stored:
        return f"window {label} is not among the stored study's {', '.join(stored)}"
    held = set(bundle["abnormal"]["ticker"])
    missing = [t for t in choice.focus if t not in held and t not in BENCHMARKS]
    if missing:
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the stored study"
    return None


def _windows_for(choice: Choice) -> list[tuple[int, int]]:
    """The chosen window first, then the stored ones the estimation window allows (day 0's AR always among them)."""
    wanted = [tuple(choice.window), *DEFAULT_WINDOWS]
    return [w for w in dict.fromkeys(wanted) if w[0] > choice.estimation[1]]  # type: ignore[misc]


def _fit(returns: pd.DataFrame, firms: Sequence[str], day0: pd.Timestamp, benchmark: str, choice: Choice):
    pairs = pd.DataFrame({"event_id": "view", "ticker": list(firms), "day0": day0})
    est_len = choice.estimation[1] - choice.estimation[0] + 1
    return EventStudy(
        returns,
        pairs,
        benchmark=benchmark,
        estimation_window=choice.estimation,
        event_windows=_windows_for(choice),
        min_estimation_obs=min(MIN_ESTIMATION_OBS, est_len),
    ).fit()


def refit(bundle: dict, returns: pd.DataFrame, choice: Choice) -> dict:
    """``bundle`` with its study (estimates, abnormal with 95% CAR bands, windows, aggregates, tests) re-fitted for
    ``choice``: per-firm rows for the sample and the focus tickers, group tests over the sample only."""
    check_choice(choice.window, choice.estimation)
    benchmark = bundle["benchmark"]
    day0 = pd.Timestamp(bundle["event"]["day0"])
    stocks = [t for t in returns.columns if t not in BENCHMARKS]
    sample = [t for t in sample_of(bundle) if t in stocks]
    firms = [t for t in dict.fromkeys([*sample, *choice.focus]) if t in stocks]
    if not firms or benchmark not in returns.columns:
        raise WindowError("no stock of this event has prices to re-fit on")
    everyone = _fit(returns, firms, day0, benchmark, choice)
    group = everyone if set(firms) == set(sample) or not sample else _fit(returns, sample, day0, benchmark, choice)
    renamed = {"start": "tau_start", "end": "tau_end"}
    estimates = everyone.estimates.assign(model="market")
    abnormal = everyone.abnormal.drop(columns="event_id")
    sigma = estimates.set_index("ticker")["sigma_e"]
    abnormal["sigma_e"] = abnormal["ticker"].map(sigma)
    first = abnormal.groupby("ticker")["tau"].transform("min")
    half = BAND_Z * abnormal["sigma_e"] * np.sqrt(abnormal["tau"] - first + 1)
    abnormal["car_lo"], abnormal["car_hi"] = abnormal["car"] - half, abnormal["car"] + half
    return {
        **bundle,
        "estimates": estimates,
        "abnormal": abnormal,
        "windows": everyone.windows.drop(columns="event_id").rename(columns=renamed),
        "aggregates": group.aggregate.rename(columns=renamed),
        "tests": group.tests.rename(columns=renamed),
    }


def adhoc_firms(text: str | None, stocks: Sequence[str]) -> list[str]:
    """The stocks of a typed comma list, each with returns in ``stocks``; else AdhocError naming the first unknown one
    and the closest known one."""
    firms = list(dict.fromkeys(t.upper() for t in split_names(text)))
    if not firms:
        raise AdhocError("tickers: type the stocks the news is about, e.g. NVDA,MSFT")
    for ticker in firms:
        if ticker not in stocks:
            raise AdhocError(
                f"tickers: no prices for {ticker!r} in the warehouse; {did_you_mean(ticker, stocks)}".strip()
            )
    return firms


def adhoc_day0(at: str | None, sessions: pd.DatetimeIndex) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(the moment typed, day 0): aligned like the catalogue's events and `impact study --at` (the session the news
    first moves: after the close, the next); AdhocError when the text is not a time with a zone or day 0 is not
    among ``sessions`` (the warehouse's returns)."""
    try:
        announced = parse_announced(at or "")
        day0 = align_to_session(announced, "next")
    except ValueError as error:
        raise AdhocError(f"announced at {at!r}: {error}") from None
    if sessions.empty or day0 > sessions.max():
        last = f"{sessions.max():%Y-%m-%d}" if not sessions.empty else "none"
        raise AdhocError(f"day 0 {day0:%Y-%m-%d} is after the warehouse's last session ({last}): ingest newer prices")
    if day0 not in sessions:
        raise AdhocError(f"day 0 {day0:%Y-%m-%d} is before the warehouse's first session ({sessions.min():%Y-%m-%d})")
    return announced, day0


def adhoc_prices(
    returns: pd.DataFrame, names: Sequence[str], benchmark: str, day0: pd.Timestamp, span: tuple[int, int]
) -> pd.DataFrame:
    """Prices of ``names`` and ``benchmark`` rebuilt from ``returns`` over sessions ``span`` around ``day0``, indexed 100
    at the close of day -1 (the columns of the stored events' ``prices``)."""
    k0 = returns.index.get_loc(day0)
    lo, hi = max(k0 + min(span[0], -1), 0), min(k0 + span[1], len(returns) - 1)
    rows = []
    for ticker in dict.fromkeys([*names, benchmark]):
        ret = returns[ticker].iloc[lo : hi + 1]
        tau = np.arange(lo, hi + 1) - k0
        level = (1 + ret.fillna(0)).cumprod()
        base = level.iloc[list(tau).index(-1)] if -1 in tau else level.iloc[0]
        rows.append(
            pd.DataFrame(
                {"ticker": ticker, "date": ret.index, "tau": tau, "index": 100 * level.values / base, "ret": ret.values}
            )
        )
    prices = pd.concat(rows, ignore_index=True)
    prices = prices.loc[prices["tau"] >= span[0]].reset_index(drop=True)
    return prices.assign(benchmark=prices["ticker"] == benchmark)


def adhoc(returns: pd.DataFrame, at: str | None, tickers: str | None, choice: Choice, span: tuple[int, int]) -> dict:
    """The event explorer's view of news in no catalogue (`impact study --at --tickers` on the dashboard): day 0
    aligned like the catalogue's, the study fitted on ``returns`` (:func:`refit`), prices over ``span``; AdhocError
    (one line) for a bad time, an unknown ticker or a day 0 beyond the data."""
    stocks = [t for t in returns.columns if t not in BENCHMARKS]
    announced, day0 = adhoc_day0(at, pd.DatetimeIndex(returns.index))
    firms = adhoc_firms(tickers, stocks)
    event = {
        "event_id": "adhoc",
        "name": f"Ad-hoc: {(at or '').strip()} · {','.join(firms)}",
        "kind": "news",
        "origin": "ad-hoc",
        "day0": day0,
        "day0_rule": "next",
        "announced_at": announced.tz_convert("UTC"),
        "tickers": firms,
        "description": f"News in no catalogue, public at {announced.tz_convert('UTC'):%Y-%m-%d %H:%M} UTC.",
    }
    names = [t for t in dict.fromkeys([*choice.focus, *firms]) if t in returns.columns]
    bundle = {
        "event": event,
        "benchmark": ADHOC_BENCHMARK,
        "prices": adhoc_prices(returns, names, ADHOC_BENCHMARK, day0, span),
        "estimates": pd.DataFrame(),
        "abnormal": pd.DataFrame(columns=["ticker", "tau"]),
        "windows": pd.DataFrame(),
        "aggregates": pd.DataFrame(),
        "tests": pd.DataFrame(),
        "headlines": pd.DataFrame(),
        "dollars": None,
        "dollar_windows": None,
    }
    try:
        fitted = refit(bundle, returns, choice)
    except WindowError as error:
        raise AdhocError(str(error)) from None
    if fitted["windows"].empty:
        raise AdhocError(f"day 0 {day0:%Y-%m-%d}: too few sessions before it in the warehouse to estimate the study")
    return fitted
