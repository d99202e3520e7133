"""One-screen summaries for the CLI (``impact demo``, ``ingest``, ``analyze``, ``study``): read-model answers
(``pipelines.warehouse.read``) shaped into the tables it prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines import warehouse
from pipelines.study import tests_table, ticker_table
from pipelines.warehouse import read

DEEPSEEK_DAY = "2025-01-27"
REPORT_WINDOWS = ((0, 0), (-1, 1))
"""The windows of the per-ticker table after a run; the group tests are those of the last one."""


def warehouse_overview(path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Row counts and coverage per dataset and source, plus each ticker's move on the DeepSeek-R1 day."""
    with warehouse.reader(path) as con:
        return {**read.coverage(con), "deepseek": read.day_returns(con, DEEPSEEK_DAY)}


def analysis_line(path: str | Path | None = None) -> str:
    """One line on what the analyze job left: events, studied firm-events, headline sentiment rows."""
    with warehouse.reader(path) as con:
        n = read.analysis_counts(con)
    studied, pairs = n["studied"], n["firm_events"]
    excluded = f" ({pairs - studied} excluded: reasons in mart.event_estimates)" if studied < pairs else ""
    return (
        f"Analysis: {n['curated'] + n['detected']} events ({n['curated']} curated, {n['detected']} detected); "
        f"{studied} of {pairs} firm-events studied{excluded}; {n['sentiment_rows']} headline sentiment rows."
    )


def event_report(event_id: str, path: str | Path | None = None) -> dict[str, Any]:
    """An event from the marts: ``event`` (name, day0; empty when unknown), the per-ticker table of its own tickers
    over REPORT_WINDOWS, their group tests of CAR[-1,+1], the verdict of each of REPORT_WINDOWS (``verdicts``), why
    no firm was studied (``reason``) and each ticker's sentiment before day 0."""
    with warehouse.reader(path) as con:
        info = read.event_info(con, event_id)
        stored = read.event_study(con, event_id)
        verdicts = read.event_verdicts(con, event_id)
        sentiment = read.sentiment_by_ticker(con, event_id)
    event = pd.DataFrame(
        [{"name": info["name"], "day0": pd.Timestamp(info["day0"])}] if info else [], columns=["name", "day0"]
    )
    if stored is None:
        tickers, tests, reason = pd.DataFrame(), pd.DataFrame(), None
    else:
        tickers = ticker_table(stored.abnormal, stored.only(REPORT_WINDOWS).windows)
        tests = tests_table(stored.only(REPORT_WINDOWS[-1:]).tests)
        reason = next(iter(stored.estimates["reason"].dropna()), None)
    sentiment = sentiment.assign(mean_score=sentiment["mean_score"].round(3)).sort_values(["mean_score", "ticker"])
    return {
        "event": event,
        "tickers": tickers,
        "tests": tests,
        "reason": reason,
        "verdicts": [str(v.sentence) for v in verdicts.itertuples() if (v.tau_start, v.tau_end) in REPORT_WINDOWS],
        "sentiment": sentiment.reset_index(drop=True),
    }


def dollar_line(event_id: str, path: str | Path | None = None) -> str | None:
    """The event's day-0 market value move in one line, from the dollar marts ("the AI universe lost $X of market
    value on day 0, $Y of it abnormal; NVDA -$...bn, ..."); None when the marts hold nothing for it."""
    with warehouse.reader(path) as con:
        total = read.event_dollar_total(con, event_id)
        tickers = read.event_dollars(con, event_id)
    if total is None or tickers is None or not total["valued"]:
        return None
    change, abnormal = total["dollar_change"], total["dollar_abnormal"]
    verb = "lost" if change < 0 else "gained"
    part = (
        f"{read.money(abs(abnormal))} of it abnormal"
        if np.sign(abnormal) == np.sign(change)
        else f"abnormal {read.money(abnormal)}"
    )
    own = tickers[tickers["own"]]
    valued = own.dropna(subset=["dollar_change"])
    movers = ", ".join(f"{r.ticker} {read.money(r.dollar_change)}" for r in valued.head(3).itertuples())
    line = (
        f"On day 0 ({pd.Timestamp(total['date']):%Y-%m-%d}) the AI universe ({total['valued']} of {total['tickers']} "
        f"stocks with a market value) {verb} {read.money(abs(change))} of market value, {part}; {movers}."
    )
    missing = own[own["dollar_change"].isna()]
    if len(missing):
        line += " No dollars for " + "; ".join(f"{r.ticker} ({r.reason})" for r in missing.itertuples()) + "."
    return line
