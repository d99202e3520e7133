"""`impact sql` / `impact schema`, the macros and the query library on a real demo warehouse."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import threading
import time
from datetime import date

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from pipelines import schema_doc, study, warehouse
from pipelines import sql as engine
from pipelines.commands.sql import repl, schema, sql
from pipelines.resources import NewsSourceResource, PriceSourceResource
from pipelines.runner import run_job
from pipelines.warehouse.marts import DAILY_SENTIMENT_SQL

DEMO = (date(2023, 1, 3), date(2025, 3, 31))



def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The demo warehouse built by real runs (every writer applies the macros and comments)."""
    folder = tmp_path_factory.mktemp("sql")
    path = folder / "w.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(folder / "dh"))
        with dg.instance_for_test() as instance:
            for job, resources in (
                ("ingest_prices", {"price_source": PriceSourceResource(source="demo")}),
                ("ingest_news", {"news_source": NewsSourceResource(sources=["demo"])}),
                ("analyze", {}),
            ):
                outcome = run_job(job, *DEMO, warehouse_file=path, instance=instance, **resources)
                assert outcome.success, outcome.error
    return path


@pytest.fixture(scope="module")
def with_sentiment(base, tmp_path_factory):
    """A copy with the sentiment tables filled deterministically (their schema as the sentiment issue defines it)."""
    path = tmp_path_factory.mktemp("sentiment") / "w.duckdb"
    shutil.copy(base, path)
    with warehouse.writer(path) as con:
        con.execute("DELETE FROM core.headline_sentiment; DELETE FROM mart.daily_sentiment")
        con.execute("""
            INSERT INTO core.headline_sentiment BY NAME
            WITH raw AS (SELECT headline_id, ticker, (hash(headline_id || ticker) % 1000) / 1000.0 AS u,
                                (hash(headline_id || ticker || 'x') % 1000) / 1000.0 AS v FROM core.headline_tickers)
            SELECT headline_id, ticker, 'fixture' AS model, 'v1' AS model_version, 'direct' AS relevance,
                   CASE WHEN greatest(pn, pu, pp) = pn THEN 'negative' WHEN greatest(pn, pu, pp) = pp THEN 'positive'
                        ELSE 'neutral' END AS label,
                   pn AS p_negative, pu AS p_neutral, pp AS p_positive, pp - pn AS score,
                   TIMESTAMPTZ '2025-04-01 00:00:00+00' AS scored_at
            FROM (SELECT headline_id, ticker, u * (1 - v) AS pn, (1 - u) * (1 - v) AS pp, v AS pu FROM raw)
        """)
        con.execute(DAILY_SENTIMENT_SQL)
        con.execute("CHECKPOINT")
    return path


@pytest.fixture(scope="module")
def returns(base):
    with warehouse.reader(base) as con:
        return study.load_returns(con)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(sql)
    app.command()(schema)
    return app


def _cli(args, input=None):
    return CliRunner().invoke(_app(), args, input=input)


# --------------------------------------------------------------------------------------------- library


def test_every_library_query_runs_with_its_documented_columns(base, with_sentiment):
    queries = engine.library()
    assert {"car_by_event", "largest_abnormal_returns", "sentiment_vs_next_day_ar", "beta_shift",
            "sentiment_ar_disagreement"} <= set(queries)
    for name, entry in queries.items():
        assert entry.description and entry.columns, name
        path = with_sentiment if entry.requires else base
        frame = engine.query(name, path)
        assert list(frame.columns) == entry.columns, name
        assert len(frame) > 0, name


def test_sentiment_queries_say_which_table_is_missing(base, tmp_path):
    """A warehouse written before the sentiment tables existed gets an error naming them, not a crash."""
    old = tmp_path / "old.duckdb"
    shutil.copy(base, old)
    raw = duckdb.connect(str(old))
    raw.execute("DROP TABLE mart.daily_sentiment")
    raw.execute("DROP TABLE core.headline_sentiment")
    raw.close()
    for name in ("sentiment_vs_next_day_ar", "sentiment_ar_disagreement"):
        with pytest.raises(engine.SqlError, match=r"needs (core\.headline_sentiment|mart\.daily_sentiment)"):
            engine.query(name, old)


def test_library_parameters_override_defaults_and_unknown_ones_fail(base):
    default = engine.query("largest_abnormal_returns", base)
    assert len(default) == 20
    assert len(engine.query("largest_abnormal_returns", base, n=5)) == 5
    assert default["ar"].abs().is_monotonic_decreasing
    with pytest.raises(engine.SqlError, match="no parameter nope"):
        engine.query("car_by_event", base, nope=1)
    with pytest.raises(engine.SqlError, match="no query named"):
        engine.query("no_such_query", base)


# --------------------------------------------------------------------------------------------- agreement with Python


def test_car_macro_and_query_equal_the_python_event_study(base, returns):
    with warehouse.reader(base) as con:
        events = con.execute("SELECT event_id, origin, tickers, day0 FROM core.events").df()
    pairs = study.study_pairs(events, study.stocks_of(returns))
    pairs = pairs[pairs["event_id"].isin(["deepseek-r1-release", "nvda-q4fy24-earnings"])]
    tables = study.run_event_studies(returns, pairs, windows=[(-1, 1), (-2, 3)])
    for lo, hi in ((-1, 1), (-2, 3)):
        label = f"[{lo:+d},{hi:+d}]"
        python = tables.windows[tables.windows["window"] == label].set_index(["event_id", "ticker"])["car"]
        macro = engine.sql(f"SELECT event_id, ticker, car FROM mart.car({lo}, {hi})", base).set_index(["event_id", "ticker"])["car"]
        joined = python.to_frame("python").join(macro.rename("sql"), how="inner")
        assert len(joined) == len(python) > 10
        np.testing.assert_allclose(joined["sql"], joined["python"], rtol=1e-9, atol=1e-12)
    library = engine.query("car_by_event", base).set_index(["event_id", "ticker"])
    assert library["car"].is_monotonic_increasing
    python = tables.windows[tables.windows["window"] == "[-1,+1]"].set_index(["event_id", "ticker"])
    common = python.join(library[["car", "car_t", "car_p"]], rsuffix="_sql", how="inner")
    np.testing.assert_allclose(common["car_sql"], common["car"], rtol=1e-9)
    np.testing.assert_allclose(common["car_t_sql"], common["car_t"], rtol=1e-9)


def test_beta_query_equals_an_ols_fit(base, returns):
    frame = engine.query("beta_shift", base).set_index("period")
    sessions = returns.index
    day0 = sessions.get_loc(pd.Timestamp("2025-01-27"))
    for period, rows in (("before", slice(day0 - 120, day0)), ("after", slice(day0 + 1, day0 + 121))):
        sample = returns.iloc[rows][["NVDA", "SPY"]].dropna()
        x = np.column_stack([np.ones(len(sample)), sample["SPY"]])
        coef, ssr, *_ = np.linalg.lstsq(x, sample["NVDA"].to_numpy(), rcond=None)
        se = np.sqrt(ssr[0] / (len(sample) - 2) * np.linalg.inv(x.T @ x)[1, 1])
        row = frame.loc[period]
        assert row["n_obs"] == len(sample)
        np.testing.assert_allclose([row["alpha"], row["beta"], row["beta_se"]], [coef[0], coef[1], se], rtol=1e-8)
        assert row["first_date"] == sample.index[0] and row["last_date"] == sample.index[-1]
    assert frame.loc["after", "beta"] != frame.loc["before", "beta"]


def test_session_arithmetic_matches_the_price_calendar(base):
    with warehouse.reader(base) as con:
        days = [d for (d,) in con.execute("SELECT DISTINCT date FROM core.prices ORDER BY date").fetchall()]
    i = days.index(date(2025, 1, 27))
    got = engine.sql("""
        SELECT core.session_add(DATE '2025-01-27', 5) AS a, core.session_add(DATE '2025-01-27', -3) AS b,
               core.session_add(DATE '2025-01-25', 0) AS c, core.session_diff(DATE '2025-01-24', DATE '2025-02-03') AS d,
               core.session_add(DATE '2025-03-31', 1) AS e
    """, base).iloc[0]
    assert got["a"].date() == days[i + 5] and got["b"].date() == days[i - 3] and got["c"].date() == days[i]
    assert got["d"] == days.index(date(2025, 2, 3)) - days.index(date(2025, 1, 24))
    assert pd.isna(got["e"])
    # correlated use inside a query: the argument's alias must not be captured by the macro's own
    shifted = engine.sql("SELECT s.date, core.session_add(s.date, 1) AS nxt FROM core.sessions AS s ORDER BY s.date", base)
    assert [d.date() for d in shifted["nxt"].iloc[:-1]] == days[1:]


def test_car_around_equals_the_sum_of_daily_abnormal_returns(base):
    with warehouse.reader(base) as con:
        daily = con.execute("SELECT date, ar FROM mart.daily_abnormal_returns WHERE ticker = 'NVDA' ORDER BY date").df()
    i = daily.index[daily["date"] == pd.Timestamp("2025-01-27")][0]
    value = engine.sql("SELECT mart.car_around('NVDA', DATE '2025-01-27', lo := -2, hi := 1) AS car", base)["car"][0]
    assert value == pytest.approx(daily["ar"].iloc[i - 2:i + 2].sum(), rel=1e-12)


def test_abnormal_volume_is_split_adjusted_and_trailing(base):
    with warehouse.reader(base) as con:
        prices = con.execute("SELECT date, volume, split_ratio FROM core.prices WHERE ticker = 'NVDA' ORDER BY date").df()
    later = prices["split_ratio"][::-1].cumprod()[::-1].shift(-1).fillna(1.0)
    adjusted = prices["volume"] * later
    trailing = adjusted.shift(1).rolling(20).mean()
    expected = (adjusted / trailing - 1).dropna()
    got = engine.sql("SELECT date, abnormal_volume FROM mart.abnormal_volume() WHERE ticker = 'NVDA' ORDER BY date", base)
    np.testing.assert_allclose(got["abnormal_volume"].to_numpy(), expected.to_numpy(), rtol=1e-9)
    split_day = got.set_index("date").loc[pd.Timestamp("2024-06-10"), "abnormal_volume"]
    assert abs(split_day) < 2  # the 10-for-1 split is not a tenfold volume spike


def test_headline_macros_and_sentiment_window_match_pandas(with_sentiment):
    with warehouse.reader(with_sentiment) as con:
        expected = con.execute("""
            SELECT t.headline_id, s.score FROM core.headline_tickers t
            JOIN core.headline_sentiment s ON s.headline_id = t.headline_id AND s.ticker = t.ticker
            WHERE t.ticker = 'NVDA' AND t.session_date BETWEEN DATE '2025-01-24' AND DATE '2025-01-28'
        """).df()
    got = engine.sql("FROM mart.headline_sentiment_window('NVDA', DATE '2025-01-24', DATE '2025-01-28')", with_sentiment)
    assert len(got) == len(expected) > 0
    assert set(got["headline_id"]) == set(expected["headline_id"])
    mean = engine.sql("SELECT mart.sentiment_around('NVDA', DATE '2025-01-27', lo := -1, hi := 1) AS m", with_sentiment)["m"][0]
    assert mean == pytest.approx(expected["score"].mean())
    event = engine.sql("FROM mart.event_headlines('deepseek-r1-release', lo := -1, hi := 1)", with_sentiment)
    assert set(event["tau"]) <= {-1, 0, 1} and len(event) > 0


def test_sentiment_correlation_query_equals_pandas(with_sentiment):
    with warehouse.reader(with_sentiment) as con:
        daily = con.execute("SELECT ticker, date, mean_score FROM mart.daily_sentiment").df()
        ar = con.execute("SELECT ticker, date, ar FROM mart.daily_abnormal_returns ORDER BY ticker, date").df()
        sessions = [d for (d,) in con.execute("SELECT date FROM core.sessions ORDER BY date").fetchall()]
    nxt = dict(zip(pd.to_datetime(sessions[:-1]), pd.to_datetime(sessions[1:])))
    daily["next"] = daily["date"].map(nxt)
    paired = daily.merge(ar, left_on=["ticker", "next"], right_on=["ticker", "date"], suffixes=("", "_ar"))
    got = engine.query("sentiment_vs_next_day_ar", with_sentiment, min_days=5).set_index("ticker")
    for ticker, rows in paired.groupby("ticker"):
        if len(rows) >= 5:
            assert got.loc[ticker, "n_days"] == len(rows)
            assert got.loc[ticker, "corr_next_day"] == pytest.approx(rows["mean_score"].corr(rows["ar"]), rel=1e-9)


# --------------------------------------------------------------------------------------------- safety


WRITES = [
    "INSERT INTO core.prices SELECT * FROM core.prices LIMIT 1",
    "UPDATE core.prices SET close = 0",
    "DELETE FROM core.prices",
    "CREATE TABLE mart.mine AS SELECT 1",
    "CREATE TEMP TABLE mine AS SELECT 1",
    "COPY (SELECT 1) TO '{out}'",
    "COPY core.prices TO '{out}' (FORMAT parquet)",
    "ATTACH '{db}' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "DROP TABLE core.prices",
    "SELECT 1; DELETE FROM core.prices",
    "EXPORT DATABASE '{dir}'",
]


@pytest.mark.parametrize("statement", WRITES)
def test_every_write_is_refused_and_the_file_is_unchanged(base, tmp_path, statement):
    text = statement.format(out=tmp_path / "out.csv", db=tmp_path / "other.duckdb", dir=tmp_path / "export")
    before = _sha(base)
    with pytest.raises(engine.ReadOnlyError, match="read-only"):
        engine.sql(text, base)
    result = _cli(["sql", text, "--warehouse", str(base)])
    assert result.exit_code == 1 and "read-only" in result.output
    assert _sha(base) == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("statement", ["INSERT INTO core.prices SELECT * FROM core.prices LIMIT 1",
                                       "COPY (SELECT 1) TO '{out}'", "ATTACH '{db}' AS other",
                                       "INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true"])
def test_the_raw_connection_refuses_writes_too(base, tmp_path, statement):
    before = _sha(base)
    with engine.connect(base) as con:
        with pytest.raises(duckdb.Error):
            con.execute(statement.format(out=tmp_path / "o.csv", db=tmp_path / "o.duckdb"))
        con.register("mine", pd.DataFrame({"x": [1, 2]}))  # a notebook's own frames still work
        assert con.execute("SELECT sum(x) FROM mine").fetchone()[0] == 3
    assert _sha(base) == before and list(tmp_path.iterdir()) == []


def test_bad_sql_reports_duckdbs_message_and_the_line(base):
    result = _cli(["sql", "SELECT 1;\n\nSELECT nope\nFROM core.prices", "--warehouse", str(base)])
    assert result.exit_code == 1
    assert 'Referenced column "nope" not found' in result.output
    assert "statement 2 of 2, line 3 of the query" in result.output
    result = _cli(["sql", "SELECT 1 +", "--warehouse", str(base)])
    assert result.exit_code == 1 and "syntax error" in result.output and "line 1 of the query" in result.output


def test_ctrl_c_interrupts_a_long_query(base):
    con = engine.connect(base)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    watchdog = threading.Timer(30, con.interrupt)  # if the signal never arrives, fail instead of hanging
    started = time.monotonic()
    timer.start()
    watchdog.start()
    try:
        with pytest.raises(engine.QueryInterrupted):
            engine.interruptible(con, lambda: engine.execute(con, "SELECT sum(hash(i)) FROM range(10000000000000) t(i)"))
    finally:
        timer.cancel()
        watchdog.cancel()
    assert time.monotonic() - started < 20
    assert engine.execute(con, "SELECT 42 AS x")[0].frame["x"][0] == 42  # the connection still works
    con.close()


# --------------------------------------------------------------------------------------------- the CLI


def test_cli_formats_files_and_parameters(base, tmp_path):
    w = ["--warehouse", str(base)]
    table = _cli(["sql", "--query", "car_by_event", "--param", "lo=0", "--param", "hi=0", *w])
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split() == engine.library()["car_by_event"].columns
    csv = _cli(["sql", "SELECT ticker, count(*) AS n FROM core.prices GROUP BY 1 ORDER BY 1", "--format", "csv", *w])
    assert csv.output.splitlines()[0] == "ticker,n" and len(csv.output.splitlines()) == 16
    js = _cli(["sql", "SELECT date FROM core.sessions ORDER BY date LIMIT 1", "--format", "json", *w])
    assert json.loads(js.output) == [{"date": "2023-01-03"}]
    md = _cli(["sql", "SELECT 1 AS a, 'x' AS b", "--format", "markdown", *w])
    assert md.output.splitlines()[:3] == ["| a | b |", "|---:|---|", "| 1 | x |"]
    out = tmp_path / "r.parquet"
    pq = _cli(["sql", "--query", "beta_shift", "--param", "ticker=META", "--format", "parquet", "--out", str(out), *w])
    assert pq.exit_code == 0, pq.output
    back = pd.read_parquet(out)
    assert list(back["period"]) == ["before", "after"]
    assert _cli(["sql", "SELECT 1", "--format", "parquet", *w]).exit_code == 1
    script = tmp_path / "q.sql"
    script.write_text("-- how many sessions?\nSELECT count(*) AS n FROM core.sessions WHERE date >= CAST($since AS DATE);\n")
    run = _cli(["sql", "-f", str(script), "--param", "since=2025-01-01", "--format", "csv", *w])
    sessions = warehouse.query("SELECT count(DISTINCT date) AS n FROM core.prices WHERE date >= DATE '2025-01-01'", path=base)
    assert run.exit_code == 0 and run.output.splitlines() == ["n", str(sessions["n"][0])]
    piped = _cli(["sql", "--format", "csv", *w], input="SELECT 7 AS seven;")
    assert piped.output.splitlines() == ["seven", "7"]
    missing = _cli(["sql", "-f", str(script), *w])
    assert missing.exit_code == 1 and "$since" in missing.output
    listing = _cli(["sql", "--list"])
    assert "car_by_event(lo=-1, hi=1)" in listing.output


def test_interactive_prompt_runs_multiline_statements(base):
    lines = iter(["SELECT 1 AS a,", "  2 AS b;", ".tables", "SELECT nope;", ".queries", ".quit", "SELECT 3;"])
    shown: list[str] = []
    with engine.connect(base) as con:
        failures = repl(con, lambda prompt: next(lines), write=shown.append)
    text = "\n".join(shown)
    assert failures == 1
    assert "a  b" in text and "1  2" in text
    assert "prices" in text and "car_by_event:" in text and 'column "nope"' in text
    assert "3" not in text.split("car_by_event")[-1].split("\n")[-1]


# --------------------------------------------------------------------------------------------- the schema


def test_schema_documents_every_table_column_and_macro(with_sentiment):
    result = _cli(["schema", "--warehouse", str(with_sentiment)])
    assert result.exit_code == 0
    text = result.output
    with warehouse.reader(with_sentiment) as con:
        objects = con.execute("""
            SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() WHERE schema_name IN ('raw','core','mart')
            UNION ALL SELECT schema_name || '.' || view_name, comment FROM duckdb_views() WHERE schema_name IN ('raw','core','mart')
        """).fetchall()
        uncommented = con.execute("""
            SELECT table_name, column_name FROM duckdb_columns()
            WHERE schema_name IN ('raw','core','mart') AND comment IS NULL
        """).fetchall()
    assert uncommented == []
    for name, comment in objects:
        assert f"`{name}`" in text and comment, name
    assert "Primary key: (ticker, date)" in text and "`core.session_add(d, n)`" in text
    assert "`mart.headline_sentiment_window(" in text


def test_readme_section_equals_the_generated_schema(with_sentiment):
    readme = (warehouse.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = schema_doc.readme_section(readme)
    if section is None:
        pytest.skip("README has no generated schema section yet: paste `impact schema` output into it")
    with engine.connect(with_sentiment) as con:
        assert section == schema_doc.generate(con)


# --------------------------------------------------------------------------------------------- EXPLAIN


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    """A warehouse with the schema and macros, no rows: enough for the allow-list."""
    path = tmp_path_factory.mktemp("explain") / "w.duckdb"
    with warehouse.writer(path):
        pass
    return path


@pytest.mark.parametrize("statement", [
    "EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1",
    "EXPLAIN ANALYZE CREATE TEMP TABLE x AS SELECT 1",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}'",
    "explain analyse insert into core.prices select * from core.prices",
    "EXPLAIN (ANALYZE, FORMAT JSON) CREATE TEMP TABLE x AS SELECT 1",
    "EXPLAIN /* hidden */ ANALYZE CREATE TEMP TABLE x AS SELECT 1",
])
def test_explain_analyze_runs_only_allowed_statements(empty, tmp_path, statement):
    text = statement.format(out=tmp_path / "out.csv")
    before = _sha(empty)
    with pytest.raises(engine.ReadOnlyError, match="an EXPLAIN"):
        engine.sql(text, empty)
    result = _cli(["sql", text, "--warehouse", str(empty)])
    assert result.exit_code == 1 and "read-only" in result.output and "EXPLAIN" in result.output
    assert _sha(empty) == before and list(tmp_path.iterdir()) == []


def test_explain_of_a_read_still_runs(empty):
    plan = engine.sql("EXPLAIN ANALYZE SELECT count(*) FROM core.prices", empty)
    assert plan["explain_key"].tolist() == ["analyzed_plan"] and "Total Time" in plan["explain_value"][0]
