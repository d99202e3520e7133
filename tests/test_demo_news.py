"""The demo headlines file and DemoNewsSource: counts, timing, NY-date and ticker filtering, real-event tone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from models.calendar import is_session, session_close
from pipelines.errors import DataValidationError
from pipelines.sources.base import HEADLINE_COLUMNS
from pipelines.sources.demo_news import DEMO_HEADLINES, DemoNewsSource

ALLOWED = {"NVDA", "MSFT", "META", "GOOGL", "AMZN", "AAPL", "AVGO", "TSM", "AMD", "ORCL", "ASML", "SMCI", "SPY", "QQQ", "SMH"}
NY = "America/New_York"
IMPOSED_DAYS = set(pd.bdate_range("2025-01-21", "2025-02-04").date) | {
    date(2024, 2, 22), date(2024, 5, 23), date(2024, 8, 29), date(2024, 11, 21), date(2025, 2, 27),
}
"""NY dates on which the simulated market replays the real returns."""


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(DEMO_HEADLINES, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def everything() -> pd.DataFrame:
    return DemoNewsSource().fetch_headlines([], date(2000, 1, 1), date(2100, 1, 1))


def test_file_layout_and_labels(raw: pd.DataFrame) -> None:
    assert list(raw.columns) == ["published_at", "title", "summary", "publisher", "tickers", "tone"]
    assert len(raw) >= 200
    assert raw["published_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert set(raw["tone"]) == {"positive", "negative", "neutral"}
    assert raw["tone"].value_counts().min() >= 40
    tickers = {t for cell in raw["tickers"] for t in cell.split()}
    assert tickers <= ALLOWED and {"NVDA", "ORCL", "ASML", "SMCI"} <= tickers
    assert (raw["tickers"].str.strip() != "").all()
    assert (raw["summary"].str.strip() != "").all()
    assert raw["publisher"].str.contains(r"Demo|Sample|Mock|Example").all()


def test_every_row_survives_validation_without_merging(raw: pd.DataFrame, everything: pd.DataFrame) -> None:
    assert len(everything) == len(raw)
    assert list(everything.columns) == list(HEADLINE_COLUMNS)
    assert set(everything["source"]) == {"demo"}
    assert str(everything["published_at"].dt.tz) == "UTC"


def test_timing_requirements(everything: pd.DataFrame) -> None:
    ny = everything["published_at"].dt.tz_convert(NY)
    days = ny.dt.date
    assert days.min() >= date(2023, 1, 3) and days.max() <= date(2025, 3, 31)
    assert ((days >= date(2025, 1, 20)) & (days <= date(2025, 1, 31))).sum() >= 50
    assert (ny.dt.hour >= 16).sum() >= 20
    assert (ny.dt.dayofweek >= 5).sum() >= 10
    assert (days == date(2025, 1, 20)).sum() >= 2
    assert (days == date(2025, 1, 9)).sum() >= 1
    assert sum(not is_session(d) for d in days) >= 30


def test_filters_by_new_york_date_not_utc_date() -> None:
    late = DemoNewsSource().fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    stamps = set(late["published_at"].dt.strftime("%Y-%m-%dT%H:%MZ"))
    assert "2025-01-28T02:00Z" in stamps  # 21:00 in New York on the 27th
    assert "2025-01-27T15:10Z" in stamps
    next_day = DemoNewsSource().fetch_headlines(["NVDA"], date(2025, 1, 28), date(2025, 1, 28))
    assert "2025-01-28T02:00Z" not in set(next_day["published_at"].dt.strftime("%Y-%m-%dT%H:%MZ"))
    assert not next_day.empty


def test_filters_by_ticker_case_insensitively(everything: pd.DataFrame) -> None:
    meta = DemoNewsSource().fetch_headlines(["meta"], date(2025, 1, 20), date(2025, 1, 31))
    assert not meta.empty and all("META" in ts for ts in meta["tickers"])
    both = DemoNewsSource().fetch_headlines(["META", "ORCL"], date(2025, 1, 20), date(2025, 1, 31))
    assert len(both) > len(meta)
    assert all({"META", "ORCL"} & set(ts) for ts in both["tickers"])
    assert DemoNewsSource().fetch_headlines(["XYZ"], date(2023, 1, 1), date(2025, 12, 31)).empty
    assert DemoNewsSource().fetch_headlines([], date(2025, 1, 31), date(2025, 1, 20)).empty


def test_results_are_copies(everything: pd.DataFrame) -> None:
    first = DemoNewsSource().fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    first.loc[0, "title"] = "changed"
    first.loc[0, "tickers"].append("ZZZZ")
    again = DemoNewsSource().fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    assert "changed" not in set(again["title"])
    assert all("ZZZZ" not in ts for ts in again["tickers"])


def test_a_custom_file_with_a_bad_row_names_file_and_row(tmp_path: Path) -> None:
    bad = tmp_path / "headlines.csv"
    bad.write_text(
        "published_at,title,summary,publisher,tickers,tone\n"
        "2025-01-20T15:00:00Z,ok,s,Demo Wire,NVDA,neutral\n"
        "2025-01-21T15:00:00Z,,s,Demo Wire,NVDA,neutral\n",
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError) as caught:
        DemoNewsSource(bad).fetch_headlines([], date(2025, 1, 1), date(2025, 2, 1))
    assert caught.value.row == 2 and caught.value.field == "title" and "headlines.csv" in str(caught.value)


def _real_returns(shared_data: Path, tickers: set[str]) -> dict[str, pd.Series]:
    out = {}
    for ticker in tickers:
        closes = pd.read_csv(shared_data / "prices" / "adjclose_only" / f"{ticker}.csv", parse_dates=["Date"])
        out[ticker] = closes.set_index("Date")["Close"].pct_change()
    return out


def test_tone_matches_real_moves_on_imposed_days(everything: pd.DataFrame, shared_data: Path) -> None:
    """During a session whose real return the demo market replays, a positive (negative) headline's
    tickers really rose (fell) that day."""
    ny = everything["published_at"].dt.tz_convert(NY)
    raw_tone = pd.read_csv(DEMO_HEADLINES, dtype=str).set_index("title")["tone"]
    checked = 0
    returns = _real_returns(shared_data, ALLOWED)
    for stamp, local, title, tickers in zip(everything["published_at"], ny, everything["title"], everything["tickers"]):
        day = local.date()
        tone = raw_tone[title]
        if day not in IMPOSED_DAYS or tone == "neutral" or not is_session(day) or stamp >= session_close(day):
            continue
        for ticker in tickers:
            move = returns[ticker].loc[pd.Timestamp(day)]
            assert (move > 0) == (tone == "positive"), f"{day} {ticker} {move:+.2%}: {title!r} is {tone}"
            checked += 1
    assert checked >= 60
    nvda = returns["NVDA"]
    assert nvda.loc["2025-01-27"] == pytest.approx(-0.1697, abs=5e-4)
