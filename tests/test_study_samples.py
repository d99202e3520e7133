"""A study's firms are the event's own tickers; the other stocks are spillovers, stored and tested apart
(mart.event_estimates.sample, the sample in the group marts' keys, read.StoredStudy.of_sample, read.event_verdicts),
and migration 3 empties the event-study marts of files written before samples."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines import study, summary, warehouse
from pipelines.assets.events import STUDY_TABLES, _mart_frames
from pipelines.sources.demo_market import DemoPriceSource
from pipelines.warehouse import read, schema
from pipelines.warehouse.identity import read_marker, set_version

TICKERS = ["NVDA", "AMD", "MSFT", "META", "SPY", "SMH"]
FIRST, LAST = date(2024, 1, 2), date(2025, 2, 10)
EVENTS = pd.DataFrame(
    [
        {"event_id": "chips", "origin": "curated", "tickers": ["NVDA", "AMD"], "day0": pd.Timestamp("2025-01-27")},
        {"event_id": "detected-nvda", "origin": "detected", "tickers": ["NVDA"], "day0": pd.Timestamp("2025-01-27")},
    ]
)


def write_study(path: Path, events: pd.DataFrame = EVENTS) -> None:
    """Demo prices of TICKERS and the analyze job's event-study marts for ``events``, written as the asset does."""
    prices = DemoPriceSource().fetch_prices(TICKERS, FIRST, LAST)
    with warehouse.writer(path) as con:
        warehouse.replace_prices(con, prices, FIRST, LAST, TICKERS)
        returns = study.load_returns(con)
        tables = study.run_event_studies(returns, study.study_pairs(events, study.stocks_of(returns)))
        frames = _mart_frames(tables)
        warehouse.replace_tables(con, {table: frames[name] for name, table in STUDY_TABLES.items()})


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("samples") / "w.duckdb"
    write_study(path)
    return path


def test_pairs_put_the_events_tickers_first_and_the_rest_apart():
    pairs = study.study_pairs(EVENTS, ["AMD", "META", "MSFT", "NVDA"])
    chips = pairs[pairs["event_id"] == "chips"].groupby("sample")["ticker"].agg(sorted).to_dict()
    assert chips == {"event": ["AMD", "NVDA"], "spillover": ["META", "MSFT"]}
    detected = pairs[pairs["event_id"] == "detected-nvda"]
    assert list(detected["ticker"]) == ["NVDA"] and set(detected["sample"]) == {"event"}


def test_group_marts_hold_one_result_per_sample(small):
    with warehouse.reader(small) as con:
        estimates = con.execute(
            "SELECT sample, list(ticker ORDER BY ticker) FROM mart.event_estimates WHERE event_id = 'chips' GROUP BY 1"
        ).fetchall()
        n = con.execute(
            "SELECT sample, any_value(n) FROM mart.event_aggregates WHERE event_id = 'chips' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        tests = con.execute(
            "SELECT DISTINCT sample, n FROM mart.event_tests WHERE event_id = 'chips' ORDER BY 1"
        ).fetchall()
        macro = con.execute(
            "SELECT test, n FROM mart.event_significance('chips', lo := -1, hi := 1) WHERE test = 'kp_bmp_t'"
        ).fetchall()
    assert dict(estimates) == {"event": ["AMD", "NVDA"], "spillover": ["META", "MSFT"]}
    assert n == [("event", 2), ("spillover", 2)]
    assert tests == [("event", 2), ("spillover", 2)]
    assert macro == [("kp_bmp_t", 2)]


def test_stored_study_defaults_to_the_event_sample(small):
    with warehouse.reader(small) as con:
        stored = read.event_study(con, "chips")
        spill = read.event_study(con, "chips", sample="spillover")
    assert stored.sample == "event" and stored.samples == ["event", "spillover"]
    assert stored.tickers == ["AMD", "NVDA"]
    assert sorted(stored.windows["ticker"].unique()) == ["AMD", "NVDA"]
    assert sorted(stored.abnormal["ticker"].unique()) == ["AMD", "NVDA"]
    assert set(stored.aggregates["n"]) == {2} and set(stored.tests["sample"]) == {"event"}
    other = stored.of_sample("spillover")
    assert other.tickers == ["META", "MSFT"] == spill.tickers
    pd.testing.assert_frame_equal(other.tests, spill.tests)
    assert other.of_sample("event").tickers == ["AMD", "NVDA"]
    only = stored.only([(-1, 1)])
    assert set(only.tests["window"]) == {"[-1,+1]"} and only.of_sample("spillover").tickers == ["META", "MSFT"]
    assert set(only.of_sample("spillover").tests["window"]) == {"[-1,+1]"}
    assert stored.bounds == spill.bounds and stored.model == "market"


def test_event_verdicts_name_the_samples_firms(small):
    with warehouse.reader(small) as con:
        event = read.event_verdicts(con, "chips")
        spill = read.event_verdicts(con, "chips", sample="spillover")
        none = read.event_verdicts(con, "no-such-event")
        dollars = read.event_verdicts(
            con, "chips", dollars=pd.DataFrame({"ticker": ["NVDA", "AMD", "META"], "dollar_change": [-5e11, -1e10, 1]})
        )
    required = {
        "window",
        "tau_start",
        "tau_end",
        "sentence",
        "significant_tickers",
        "group_test",
        "group_statistic",
        "group_p",
        "group_significant",
        "reason",
    }
    assert required <= set(event.columns) and required <= set(none.columns) and none.empty
    assert list(event["window"]) == ["[0,0]", "[0,+1]", "[-1,+1]", "[-5,+5]"]
    assert (event["n"] == 2).all() and set(event["group_test"]) == {"kp_bmp_t"}
    assert "NVDA" in event["significant_tickers"].iloc[0]
    day0 = event["sentence"].iloc[0]
    assert day0.startswith("CAR[0,0]: NVDA") and "META" not in day0 and "MSFT" not in day0
    assert "firms share day 0, so only tests robust to cross-correlation count" in day0
    assert all("NVDA" not in s and "AMD" not in s for s in spill["sentence"])
    assert dollars["dollars"].iloc[0] == pytest.approx(-5.1e11) and "value change -$510.0bn" in dollars["sentence"][0]


def _downgrade_to_version_2(path: Path) -> None:
    """Rewrite the group marts in their version-2 layout (no sample), keeping the rows, and mark the file version 2
    with no recorded layout, as a file written by the previous release is."""
    with warehouse.writer(path) as con:
        for table in ("mart.event_estimates", "mart.event_aggregates", "mart.event_tests"):
            con.execute(f"CREATE TABLE {table}_old AS SELECT * EXCLUDE (sample) FROM {table}")
            con.execute(f"DROP TABLE {table}")
            con.execute(f"ALTER TABLE {table}_old RENAME TO {table.split('.')[1]}")
        set_version(con, 2)
        con.execute("DELETE FROM meta.layout")


def test_migration_3_empties_the_study_marts_of_older_files(tmp_path):
    path = tmp_path / "old.duckdb"
    write_study(path)
    _downgrade_to_version_2(path)
    with warehouse.reader(path) as con:
        assert "sample" not in con.execute("SELECT * FROM mart.event_estimates LIMIT 0").df().columns
        assert con.execute("SELECT count(*) FROM mart.event_tests").fetchone()[0] > 0
        assert read.study_predates_samples(con) and read.event_study(con, "chips") is None  # readers never migrate
        assert read.event_verdicts(con, "chips").empty
    with warehouse.writer(path) as con:
        assert read_marker(con, path).schema_version == schema.SCHEMA_VERSION == 3
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in schema.STUDY_MARTS}
        columns = con.execute("SELECT * FROM mart.event_estimates LIMIT 0").df().columns
        keys = con.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = 'event_tests' "
            "AND constraint_type = 'PRIMARY KEY'"
        ).fetchone()[0]
        prices = con.execute("SELECT count(*) FROM core.prices").fetchone()[0]
    assert counts == dict.fromkeys(schema.STUDY_MARTS, 0)
    assert "sample" in columns and keys == ["event_id", "sample", "window", "test"]
    assert prices > 0
    with warehouse.reader(path) as con:
        assert read.event_study(con, "chips") is None and not read.study_predates_samples(con)
    write_study(path)  # the next analyze fills them again
    with warehouse.reader(path) as con:
        assert read.event_study(con, "chips").tickers == ["AMD", "NVDA"]


def test_the_demo_summary_carries_the_verdict_of_its_windows(small):
    report = summary.event_report("chips", small)
    assert [v.split(":")[0] for v in report["verdicts"]] == ["CAR[0,0]", "CAR[-1,+1]"]
    assert all("META" not in v and "MSFT" not in v for v in report["verdicts"])
