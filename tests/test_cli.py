"""The `impact` CLI end to end: the demo into a temp warehouse, ingest from files, clear failures."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import warehouse
from pipelines.cli import app


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


@pytest.mark.slow
def test_demo_builds_the_warehouse_and_prints_the_deepseek_day(runner, tmp_path):
    path = tmp_path / "demo.duckdb"
    result = runner.invoke(app, ["demo", "--warehouse", str(path)])
    assert result.exit_code == 0, result.output
    assert "SIMULATED" in result.output.upper()
    assert re.search(r"NVDA\s.*-16\.97", result.output)
    assert "DeepSeek-R1" in result.output and "kp_bmp_t" in result.output  # the event table and its group tests
    assert "lost $1.07tn of market value, $694.9bn of it abnormal; NVDA -$592.7bn" in result.output  # real share counts
    with warehouse.reader(path) as con:
        nvda = con.execute(
            "SELECT close, lag(close) OVER (ORDER BY date) AS prev, date FROM core.prices WHERE ticker = 'NVDA' "
            "QUALIFY date = DATE '2025-01-27'"
        ).fetchone()
        stories = con.execute("SELECT count(*) FROM core.headlines WHERE source = 'demo'").fetchone()[0]
        tickers = con.execute("SELECT count(DISTINCT ticker) FROM core.prices WHERE source = 'demo'").fetchone()[0]
    assert round(100 * (nvda[0] / nvda[1] - 1), 2) == -16.97
    assert stories >= 150
    assert tickers == 15
    assert (tmp_path / "dagster_home" / "dagster.yaml").exists()


def test_ingest_from_files_then_a_bad_file_fails_with_its_name(runner, tmp_path):
    folder = tmp_path / "vendor"
    folder.mkdir()
    frame = pd.DataFrame(
        {"Date": ["2025-01-24", "2025-01-27"], "Open": [148.37, 124.8], "High": [148.97, 128.4],
         "Low": [141.88, 116.7], "Close": [142.62, 118.42], "Adj Close": [142.62, 118.42], "Volume": [1, 2]}
    )
    frame.to_csv(folder / "NVDA.csv", index=False)
    path = tmp_path / "w.duckdb"
    args = ["ingest", "--source", "files", "--path", str(folder), "--tickers", "NVDA",
            "--start", "2025-01-24", "--end", "2025-01-27", "--no-analyze", "--warehouse", str(path)]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert "files" in ok.output

    frame.loc[1, "Close"] = -1
    frame.to_csv(folder / "NVDA.csv", index=False)
    bad = runner.invoke(app, args)
    assert bad.exit_code == 1
    assert "NVDA.csv" in bad.output and "row 2" in bad.output and "close" in bad.output
    with warehouse.reader(path) as con:
        assert con.execute("SELECT max(close) FROM core.prices").fetchone()[0] == pytest.approx(142.62)


def test_ingest_rejects_bad_arguments(runner, tmp_path):
    result = runner.invoke(app, ["ingest", "--source", "nowhere", "--start", "2025-01-24", "--end", "2025-01-27",
                                 "--warehouse", str(tmp_path / "w.duckdb")])
    assert result.exit_code != 0
    assert "unknown source 'nowhere'" in result.output
    backwards = runner.invoke(app, ["ingest", "--start", "2025-01-27", "--end", "2025-01-24",
                                    "--warehouse", str(tmp_path / "w.duckdb")])
    assert backwards.exit_code != 0 and "before --start" in backwards.output
