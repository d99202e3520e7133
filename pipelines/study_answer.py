"""What `impact study` answers, as one structure: the event, where the numbers came from, and per sample (the
event's own firms, the spillovers) the firms' CARs, the group results, the verdict and the excluded firms; plus its
machine forms (a JSON payload following ``pipelines/schemas/study.v1.json``, one tidy frame for CSV and Parquet).

Values are fractions, never percent; missing values are None (JSON ``null``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from models.event_study import significance
from models.event_study.results import window_label
from models.event_study.verdict import COLUMNS as VERDICT_FIELDS
from models.event_study.verdict import verdicts
from pipelines import study
from pipelines.errors import InputError, did_you_mean

STUDY_SCHEMA = "study.v1"
"""The ``schema_version`` of the JSON payload: the file pipelines/schemas/study.v1.json describes it."""
SAMPLE_TITLES = {
    "event": "the event's own tickers",
    "spillover": "other stocks (spillovers, tested apart)",
    "universe": "every stock",
    "custom": "the tickers asked for",
}


@dataclass
class SampleAnswer:
    """One sample's study: its firms (``tickers``), their AR/CAR rows, the group results, the verdict per window."""

    sample: str
    tickers: list[str]
    abnormal: pd.DataFrame
    windows: pd.DataFrame
    aggregates: pd.DataFrame
    tests: pd.DataFrame
    excluded: pd.DataFrame
    dollars: pd.DataFrame | None = None
    """Dollar moves per ticker and window (``read.event_dollar_windows``) for the verdict's size in dollars."""
    verdicts: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.verdicts = verdicts(self.windows, self.aggregates, self.tests, dollars=self.dollars)

    @property
    def studied(self) -> bool:
        """True when at least one firm of the sample has a CAR."""
        return not self.windows.empty


@dataclass
class StudyAnswer:
    """The event (``event_id`` None for an ad-hoc study), the model, the windows, where the numbers came from
    (``source``: stored or refit, ``source_detail`` in words) and the samples, the studied one first."""

    event: dict[str, Any]
    model: str
    benchmark: str | None
    windows: list[tuple[int, int]]
    source: str
    source_detail: str
    samples: list[SampleAnswer]


# --------------------------------------------------------------------------------------------- samples


def parse_sample(text: str, stocks: Sequence[str], option: str = "--sample") -> tuple[str, list[str]]:
    """``event``, ``universe`` or a ticker list (``T1,T2``) -> (kind, tickers; empty for event: the event decides);
    an unknown ticker is refused with the closest one."""
    word = text.strip().lower()
    if word in ("event", "universe"):
        return word, list(stocks) if word == "universe" else []
    return "custom", check_stock_tickers(text, stocks, option)


def check_stock_tickers(text: str, stocks: Sequence[str], option: str) -> list[str]:
    """The tickers of a comma list, each a stock with prices in the warehouse; else an InputError naming the first
    unknown one, the closest known one and the known ones."""
    from pipelines.universe import split_names

    tickers = list(dict.fromkeys(t.upper() for t in split_names(text)))
    if not tickers:
        raise InputError(f"{option}: give tickers, e.g. NVDA,MSFT")
    for ticker in tickers:
        if ticker not in stocks:
            raise InputError(
                f"{option}: no prices for {ticker!r} in the warehouse; {did_you_mean(ticker, stocks)}"
                f"its stocks are {', '.join(sorted(stocks))}"
            )
    return tickers


def plan_samples(
    kind: str, chosen: Sequence[str], own: Sequence[str], stocks: Sequence[str], spillovers: bool
) -> dict[str, list[str]]:
    """Sample name -> tickers for a study: the chosen firms (the event's own for ``event``) and, unless the sample is
    the universe or the event has no spillovers (detected events), every other stock as 'spillover'."""
    firms = [t for t in own if t in stocks] if kind == "event" else list(chosen)
    name = "event" if kind == "event" else kind
    plan = {name: firms}
    others = [t for t in stocks if t not in firms]
    if spillovers and kind != "universe" and others:
        plan["spillover"] = others
    return plan


def stored_plan(stored: Any) -> dict[str, list[str]]:
    """Sample name -> tickers of a stored study (``read.StoredStudy``)."""
    return {s: stored.of_sample(s).tickers for s in stored.samples}


def sample_reason(stored: Any, plan: Mapping[str, Sequence[str]]) -> str | None:
    """Why the stored study does not answer ``plan`` (another set of firms), or None when it does."""
    held = {s: set(t) for s, t in stored_plan(stored).items()}
    wanted = {("event" if s in ("universe", "custom") else s): set(t) for s, t in plan.items()}
    if held == wanted:
        return None
    main = next(iter(plan))
    shown = ",".join(plan[main])
    return f"sample {main} ({shown}) differs from the stored study's event sample ({','.join(sorted(held.get('event', [])))})"


# --------------------------------------------------------------------------------------------- building


def _excluded(estimates: pd.DataFrame) -> pd.DataFrame:
    return estimates.loc[estimates["status"] != "ok", ["ticker", "status", "reason"]].reset_index(drop=True)


def from_stored(
    stored: Any, windows: Sequence[tuple[int, int]], dollars: pd.DataFrame | None = None
) -> list[SampleAnswer]:
    """The samples of a stored study (``read.StoredStudy``) over ``windows``, the event sample first."""
    answers = []
    for name in stored.samples:
        view = stored.of_sample(name).only(windows)
        ok = set(view.estimates.loc[view.estimates["status"] == "ok", "ticker"])
        answers.append(
            SampleAnswer(
                name,
                view.tickers,
                view.abnormal[view.abnormal["ticker"].isin(ok)].reset_index(drop=True),
                view.windows,
                view.aggregates,
                view.tests,
                _excluded(view.estimates),
                dollars,
            )
        )
    return answers


def refit(
    returns: pd.DataFrame,
    day0: pd.Timestamp,
    plan: Mapping[str, Sequence[str]],
    *,
    model: str,
    benchmark: str,
    windows: Sequence[tuple[int, int]],
    event_id: str = "ad-hoc",
    dollars: pd.DataFrame | None = None,
) -> list[SampleAnswer]:
    """Fit each sample of ``plan`` from ``returns`` on its own (its group tests over its firms only)."""
    renamed = {"start": "tau_start", "end": "tau_end"}
    answers = []
    for name, tickers in plan.items():
        pairs = pd.DataFrame({"event_id": event_id, "ticker": list(tickers), "day0": pd.Timestamp(day0)})
        result = study.fit_event(returns, pairs, model=model, benchmark=benchmark, windows=windows)
        ok = set(result.estimates.loc[result.estimates["status"] == "ok", "ticker"])
        answers.append(
            SampleAnswer(
                name,
                list(tickers),
                result.abnormal[result.abnormal["ticker"].isin(ok)].reset_index(drop=True),
                result.windows.rename(columns=renamed),
                result.aggregate.rename(columns=renamed),
                result.tests.rename(columns=renamed),
                _excluded(result.estimates),
                dollars,
            )
        )
    return answers


# --------------------------------------------------------------------------------------------- machine forms


def _value(value: object) -> object:
    """A JSON value: None for missing, plain Python numbers, ISO dates, lists for arrays."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_value(v) for v in value]
    if isinstance(value, pd.Timestamp) and not pd.isna(value) and value.tzinfo is None and value == value.normalize():
        return value.date().isoformat()  # a session
    if isinstance(value, (pd.Timestamp, date)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, object]]:
    present = [c for c in columns if c in frame.columns]
    return [{c: _value(v) for c, v in zip(present, row, strict=True)} for row in frame[present].itertuples(index=False)]


FIRM_COLUMNS = ("ticker", "window", "tau_start", "tau_end", "car", "bhar", "car_t", "car_p", "df")
TEST_COLUMNS = (
    "window",
    "tau_start",
    "tau_end",
    "test",
    "label",
    "statistic",
    "p_value",
    "df",
    "n",
    "method",
    "robust_to_clustering",
)
AGGREGATE_COLUMNS = (
    "window",
    "tau_start",
    "tau_end",
    "n",
    "caar",
    "median_car",
    "sd_car",
    "share_positive",
    "rbar",
    "clustered",
)
VERDICT_COLUMNS = tuple(c for c in VERDICT_FIELDS if c != "dollars_kind")
"""What the answer carries of each verdict: the verdict's fields but ``dollars_kind`` (``study.v1.json``)."""
DAY0_COLUMNS = ("ticker", "date", "ret", "expected", "ar")
EXCLUDED_COLUMNS = ("ticker", "status", "reason")


def _tests(sample: SampleAnswer) -> pd.DataFrame:
    """The group tests in reading order (``study.tests_table``'s), with their human label."""
    tests = sample.tests
    if tests.empty:
        return tests
    window_rank = {w: i for i, w in enumerate(dict.fromkeys(tests["window"]))}
    ranked = tests.assign(_w=tests["window"].map(window_rank), _t=tests["test"].map(significance.order))
    ranked = ranked.sort_values(["_w", "_t"], kind="stable").drop(columns=["_w", "_t"])
    return ranked.rename(columns={"adjusts_cross_correlation": "robust_to_clustering"}).assign(
        label=ranked["test"].map(significance.display_label)
    )


def _day0(sample: SampleAnswer) -> pd.DataFrame:
    return sample.abnormal.loc[sample.abnormal["tau"] == 0] if len(sample.abnormal) else sample.abnormal


def payload(answer: StudyAnswer) -> dict[str, Any]:
    """The JSON payload (schema ``study.v1``): snake_case keys, fractions, None for missing."""
    event = {k: _value(v) for k, v in answer.event.items()}
    return {
        "schema_version": STUDY_SCHEMA,
        "event": event,
        "model": answer.model,
        "benchmark": answer.benchmark,
        "estimation_window": list(study.estimation_window()),
        "windows": [{"window": window_label(lo, hi), "tau_start": lo, "tau_end": hi} for lo, hi in answer.windows],
        "source": {"kind": answer.source, "detail": answer.source_detail},
        "samples": [
            {
                "sample": s.sample,
                "title": SAMPLE_TITLES.get(s.sample, s.sample),
                "tickers": s.tickers,
                "day0": _records(_day0(s), DAY0_COLUMNS),
                "firms": _records(s.windows, FIRM_COLUMNS),
                "aggregates": _records(s.aggregates, AGGREGATE_COLUMNS),
                "tests": _records(_tests(s), TEST_COLUMNS),
                "verdicts": _records(s.verdicts, VERDICT_COLUMNS),
                "excluded": _records(s.excluded, EXCLUDED_COLUMNS),
            }
            for s in answer.samples
        ],
    }


TIDY_TABLES = ("verdicts", "firms", "day0", "aggregates", "tests", "excluded")
"""The ``table`` values of the tidy frame, in the order its rows come."""


def tidy(answer: StudyAnswer) -> pd.DataFrame:
    """Every table of the answer in one long frame for CSV and Parquet: a ``table`` column (TIDY_TABLES) and a
    ``sample`` column before the union of the tables' columns (empty where a table has none); lists of tickers are
    space-separated; fractions, not percent."""
    data = payload(answer)
    rows: list[dict[str, object]] = []
    for sample in data["samples"]:
        for table in TIDY_TABLES:
            for record in sample[table]:
                flat = {k: " ".join(v) if isinstance(v, list) else v for k, v in record.items()}
                rows.append({"table": table, "sample": sample["sample"], "event_id": data["event"]["event_id"], **flat})
    columns = ["table", "sample", "event_id"]
    for names in (FIRM_COLUMNS, DAY0_COLUMNS, AGGREGATE_COLUMNS, TEST_COLUMNS, VERDICT_COLUMNS, EXCLUDED_COLUMNS):
        columns += [c for c in names if c not in columns]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("tau_start", "tau_end", "n"):
        frame[column] = frame[column].astype("Int64")
    for column in ("clustered", "robust_to_clustering", "group_significant"):
        frame[column] = frame[column].astype("boolean")
    return frame
