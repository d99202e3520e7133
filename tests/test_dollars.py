"""Market value in the warehouse: core.shares from observations and splits, the shares asset and its jump check in
a real ingest run, and the dollar marts (values, NULL with a reason, totals, the macro and the read model)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from models.calendar import sessions
from pipelines import warehouse
from pipelines.resources import PriceSourceResource
from pipelines.runner import run_job
from pipelines.sources.base import validate_prices
from pipelines.summary import dollar_line
from pipelines.warehouse import read
from pipelines.warehouse.dollars import rebuild_event_dollars
from pipelines.warehouse.shares import replace_shares


def _bars(ticker: str, closes: dict[str, float], splits: dict[str, float] | None = None) -> pd.DataFrame:
    """Consistent daily bars (open = high = low = close) for ``closes`` (date -> close)."""
    rows = [
        {
            "ticker": ticker,
            "date": day,
            "open": c,
            "high": c,
            "low": c,
            "close": c,
            "adj_close": c,
            "volume": 1000,
            "split_ratio": (splits or {}).get(day, 1.0),
            "dividend": 0.0,
            "source": "test",
        }
        for day, c in closes.items()
    ]
    return validate_prices(pd.DataFrame(rows), "test")


def _observed(rows: list[tuple[str, str, float]], source: str = "test") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows]),
            "shares": [r[2] for r in rows],
            "source": source,
        }
    )


def _shares(con) -> dict[str, float]:
    rows = con.execute("SELECT date, shares FROM core.shares WHERE ticker = 'NVDA' ORDER BY date").fetchall()
    return {str(d): s for d, s in rows}


def test_each_session_gets_the_latest_count_scaled_by_later_splits(tmp_path: Path) -> None:
    days = ["2024-06-06", "2024-06-07", "2024-06-10", "2024-06-11", "2024-06-12"]
    closes = dict(zip(days, [1200.0, 1210.0, 121.0, 122.0, 125.0], strict=True))
    observed = _observed([("NVDA", "2024-05-17", 2.46e9), ("NVDA", "2024-06-11", 24.5e9)])
    with warehouse.writer(tmp_path / "w.duckdb") as con:
        warehouse.replace_prices(
            con, _bars("NVDA", closes, {"2024-06-10": 10.0}), date(2024, 6, 6), date(2024, 6, 12), ["NVDA"]
        )
        rows = replace_shares(con, observed, date(2024, 6, 6), date(2024, 6, 12), ["NVDA"], "test")
        first = con.execute("SELECT * EXCLUDE (ingested_at) FROM core.shares ORDER BY ALL").df()
        assert rows == 5
        assert _shares(con) == {
            "2024-06-06": 2.46e9,
            "2024-06-07": 2.46e9,  # as filed (pre-split)
            "2024-06-10": 24.6e9,  # the 10:1 split took effect: the old count x 10
            "2024-06-11": 24.5e9,
            "2024-06-12": 24.5e9,  # a newer count replaces it
        }
        assert con.execute("SELECT as_of FROM core.shares WHERE date = '2024-06-10'").fetchall()[0][0] == date(
            2024, 5, 17
        )
        replace_shares(con, observed, date(2024, 6, 6), date(2024, 6, 12), ["NVDA"], "test")  # re-run: identical
        pd.testing.assert_frame_equal(
            con.execute("SELECT * EXCLUDE (ingested_at) FROM core.shares ORDER BY ALL").df(), first
        )
        assert con.execute("SELECT count(*) FROM raw.shares").fetchall()[0][0] == 2
        # a later one-day partition whose source states nothing new still knows the count from raw.shares
        warehouse.replace_prices(
            con, _bars("NVDA", {"2024-06-13": 126.0}), date(2024, 6, 13), date(2024, 6, 13), ["NVDA"]
        )
        replace_shares(con, _observed([]), date(2024, 6, 13), date(2024, 6, 13), ["NVDA"], "test")
        assert _shares(con)["2024-06-13"] == 24.5e9


def _study_warehouse(path: Path) -> None:
    """A warehouse with prices for NVDA and MSFT, shares for NVDA only and one studied event (mart rows by hand)."""
    days = ["2025-01-23", "2025-01-24", "2025-01-27", "2025-01-28"]
    with warehouse.writer(path) as con:
        for ticker, closes in {
            "NVDA": [147.22, 142.62, 118.42, 128.99],
            "MSFT": [446.2, 444.06, 434.56, 447.2],
            "SPY": [609.75, 607.97, 599.37, 604.52],  # the benchmark: the explorer's price paths need it
        }.items():
            warehouse.replace_prices(
                con, _bars(ticker, dict(zip(days, closes, strict=True))), date(2025, 1, 23), date(2025, 1, 28), [ticker]
            )
        replace_shares(
            con, _observed([("NVDA", "2024-11-15", 24.49e9)]), date(2025, 1, 23), date(2025, 1, 28), ["NVDA"], "test"
        )
        con.execute(
            "INSERT INTO core.events BY NAME SELECT 'e1' AS event_id, 'Event one' AS name, 'test' AS kind, "
            "'curated' AS origin, DATE '2025-01-27' AS day0, 'exact' AS day0_rule, ['NVDA', 'MSFT'] AS tickers, "
            "now() AS computed_at"
        )
        returns = {"NVDA": [-0.031245, -0.169682, 0.089258], "MSFT": [-0.004796, -0.021394, 0.029087]}
        for ticker, rets in returns.items():
            for tau, (day, ret) in enumerate(zip(days[1:], rets, strict=True), start=-1):
                con.execute(
                    "INSERT INTO mart.abnormal_returns BY NAME SELECT ? AS event_id, ? AS ticker, ? AS tau, "
                    "CAST(? AS DATE) AS date, ? AS ret, ? AS ar",
                    ["e1", ticker, tau, day, ret, ret + 0.01],
                )
            con.execute(
                "INSERT INTO mart.event_windows BY NAME SELECT 'e1' AS event_id, ? AS ticker, '[-1,+1]' AS \"window\", "
                "-1 AS tau_start, 1 AS tau_end, ? AS car, -2.0 AS car_t, 0.05 AS car_p",
                [ticker, sum(rets) + 0.03],
            )
        assert rebuild_event_dollars(con) == (6, 3)


def test_dollar_marts(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _study_warehouse(path)
    with warehouse.reader(path) as con:
        day0 = read.event_dollars(con, "e1")
        assert day0 is not None
        nvda = day0.set_index("ticker").loc["NVDA"]
        assert nvda["market_value"] == pytest.approx(142.62 * 24.49e9)
        assert nvda["dollar_change"] == pytest.approx(-0.169682 * 142.62 * 24.49e9)  # -$592.7bn
        assert nvda["dollar_abnormal"] == pytest.approx((-0.169682 + 0.01) * 142.62 * 24.49e9)
        assert nvda["dollar_car_m1p1"] == pytest.approx((-0.031245 - 0.169682 + 0.089258 + 0.03) * 147.22 * 24.49e9)
        assert read.money(nvda["dollar_change"]) == "-$592.7bn"
        msft = day0.set_index("ticker").loc["MSFT"]
        assert pd.isna(msft["dollar_change"]) and pd.isna(msft["market_value"])
        assert msft["ret"] == pytest.approx(-0.021394)  # the percentages stay
        assert msft["reason"] == "no shares outstanding for MSFT: its price source gave none"
        assert list(day0["ticker"]) == ["NVDA", "MSFT"]
        windows = read.event_dollar_windows(con, "e1")
        assert windows is not None and windows.set_index("ticker").loc["MSFT", "reason"].startswith("no shares")
        growth = (1 - 0.031245) * (1 - 0.169682) * (1 + 0.089258)
        assert windows.set_index("ticker").loc["NVDA", "dollar_change"] == pytest.approx(
            (growth - 1) * 147.22 * 24.49e9
        )
        total = read.event_dollar_total(con, "e1")
        assert total is not None and (total["tickers"], total["valued"]) == (2, 1)
        assert total["dollar_change"] == pytest.approx(nvda["dollar_change"])
        impact = con.execute("SELECT * FROM mart.dollar_impact('e1', lo := -1, hi := 1)").df()
        assert list(impact["ticker"]) == ["NVDA", "MSFT", "(total)"]
        assert impact.iloc[-1]["dollar_change"] == pytest.approx(
            con.execute("SELECT sum(dollar_change) FROM mart.event_dollars").fetchall()[0][0]
        )
        assert read.event_dollars(con, "unknown") is None
        bundle = read.event(con, "e1")  # what the explorer and the report read
        assert bundle is not None and bundle["dollars"]["ticker"].tolist() == ["NVDA", "MSFT"]
        assert set(bundle["dollar_windows"]["window"]) == {"[-1,+1]"}
        spot = read.spotlight(con)
        assert (
            spot is not None
            and spot["ticker"] == "NVDA"
            and spot["dollar_change"] == pytest.approx(nvda["dollar_change"])
        )
    line = dollar_line("e1", path)
    assert line is not None
    assert "(1 of 2 stocks with a market value) lost $592.7bn of market value" in line
    assert "NVDA -$592.7bn" in line and "No dollars for MSFT (no shares outstanding for MSFT" in line


def test_money() -> None:
    assert [read.money(v) for v in (-1.0745e12, 5.99e9, -850e6, 1234.0, None, float("nan"))] == [
        "-$1.07tn",
        "$5.99bn",
        "-$850.0m",
        "$1,234",
        "",
        "",
    ]


def _files(folder: Path, shares_csv: str) -> Path:
    days = sessions(date(2025, 1, 21), date(2025, 1, 24))
    for ticker, base in (("NVDA", 140.0), ("SPY", 600.0)):
        lines = ["date,open,high,low,close,volume"] + [f"{d:%Y-%m-%d},{base},{base},{base},{base},1000" for d in days]
        (folder / f"{ticker}.csv").write_text("\n".join(lines) + "\n")
    (folder / "shares.csv").write_text(shares_csv)
    return folder


@pytest.mark.parametrize(
    ("shares_csv", "passed"),
    [
        ("ticker,date,shares\nNVDA,2024-11-15,24490000000\n", True),
        ("ticker,date,shares\nNVDA,2024-11-15,24490000000\nNVDA,2025-01-23,2449000000\n", False),  # 10x, no split
    ],
)
def test_shares_ingest_and_jump_check(tmp_path: Path, shares_csv: str, passed: bool) -> None:
    folder = _files(tmp_path, shares_csv)
    path = tmp_path / "w.duckdb"
    with dg.instance_for_test() as instance:
        outcome = run_job(
            "ingest_prices",
            date(2025, 1, 21),
            date(2025, 1, 24),
            warehouse_file=path,
            instance=instance,
            price_source=PriceSourceResource(source="files", path=str(folder), tickers=["NVDA", "SPY"]),
        )
    assert outcome.success, outcome.error
    assert outcome.metadata["rows"] == 8  # the prices' materialization comes first
    assert outcome.checks["share_jumps_explained"] is passed
    with warehouse.reader(path) as con:
        rows = con.execute("SELECT ticker, count(*), min(source) FROM core.shares GROUP BY ticker").fetchall()
    assert rows == [("NVDA", 4, "files")]  # SPY: no count in the file, no rows


def test_bad_shares_file_fails_the_run_naming_the_row(tmp_path: Path) -> None:
    folder = _files(tmp_path, "ticker,date,shares\nNVDA,2024-11-15,lots\n")
    with dg.instance_for_test() as instance:
        outcome = run_job(
            "ingest_prices",
            date(2025, 1, 21),
            date(2025, 1, 24),
            warehouse_file=tmp_path / "w.duckdb",
            instance=instance,
            price_source=PriceSourceResource(source="files", path=str(folder), tickers=["NVDA", "SPY"]),
        )
    assert not outcome.success
    assert "shares.csv" in outcome.error and "row 1" in outcome.error and "'lots'" in outcome.error, outcome.error


def test_explorer_report_and_overview_show_the_dollars(tmp_path: Path) -> None:
    from dashboards import report
    from dashboards.pages import events, overview

    path = tmp_path / "w.duckdb"
    _study_warehouse(path)
    with warehouse.writer(path) as con:  # a stored study for the explorer's per-firm table
        for ticker in ("NVDA", "MSFT"):
            con.execute(
                "INSERT INTO mart.event_estimates BY NAME SELECT 'e1' AS event_id, ? AS ticker, 'event' AS sample, "
                "DATE '2025-01-27' AS day0, 'market' AS model, 'SPY' AS benchmark, 'ok' AS status, 0.02 AS sigma_e, "
                "now() AS computed_at",
                [ticker],
            )
    with warehouse.reader(path) as con:
        bundle = read.event(con, "e1")
        spot = read.spotlight(con)
    assert bundle is not None and spot is not None
    firm_block = str(events.event_views(bundle, (-1, 1), False)[5])
    assert "'$ day 0'" in firm_block and "'$ CAR[-1,+1]'" in firm_block and "-$592.7bn" in firm_block
    assert "Total, 1 of 2 tickers with a market value: day 0 -$592.7bn" in firm_block
    assert "no market value for MSFT" in firm_block
    refitted = str(events.event_views(bundle, (-1, 1), False, reason="another estimation window")[5])
    assert "-$592.7bn" in refitted and "CAR[-1,+1] -$" not in refitted  # stored dollar CARs only for the stored study
    with_sentiment = {**bundle, "sentiment": pd.DataFrame(columns=["ticker", "mean_score"])}  # as load_event adds it
    per_firm = report._tables(with_sentiment)["per_firm"].set_index("ticker")
    assert per_firm.loc["NVDA", "$ day 0"] == "-$592.7bn" and per_firm.loc["MSFT", "$ day 0"] == ""
    assert per_firm.loc["NVDA", "$ CAR[-1,+1]"].startswith("-$")
    total = report.dollar_total_html(bundle)
    assert "1 of 2 tickers with a market value: day 0 -$592.7bn" in total and "MSFT (no shares outstanding" in total
    assert overview.spot_dollars(spot).startswith("NVDA -$592.7bn of market value on day 0")
