"""Bad input, property-based: every file and API format the sources parse, generated with hypothesis.

Formats: price files (Yahoo export, yfinance-style, generic/IBKR per-ticker CSV, one long CSV with a
ticker column, Parquet), Alpha Vantage CSV / JSON (file and API feed), FMP CSV / JSON (file and API
items), the canonical headlines CSV, and Yahoo chart JSON served to the real yfinance client by
RecordedYahooSession. Generated faults: wrong types, missing/renamed columns, NaN/inf/negative/zero
prices, duplicate and unsorted dates, timezone-less and far-future timestamps, huge fields,
non-UTF-8 bytes, ragged rows, arbitrary JSON values.

Property: the parser returns rows that satisfy the canonical contract, or raises an
``ImpactError`` subclass whose message names the file (or the source); no other exception escapes.

Examples per format: 200 in CI, 5,000 with IMPACT_LONG_TESTS=1.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yfinance.data import YfData

from pipelines.errors import ImpactError
from pipelines.sources.alphavantage import parse_alphavantage_feed, read_alphavantage_csv
from pipelines.sources.base import HEADLINE_COLUMNS, PRICE_COLUMNS, PRICE_FIELDS
from pipelines.sources.files import FilePriceSource
from pipelines.sources.fmp import parse_fmp_items, read_fmp_csv
from pipelines.sources.news_files import read_headline_file
from pipelines.sources.yahoo import YahooPriceSource
from tests.yahoo_session import FIXTURES as YAHOO_FIXTURES
from tests.yahoo_session import RecordedYahooSession

LONG = os.environ.get("IMPACT_LONG_TESTS") == "1"
EXAMPLES = 5000 if LONG else 200
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.filter_too_much],
)

# ------------------------------------------------------------------------------------------- cells

NUMBERS = st.one_of(
    st.floats(min_value=0.01, max_value=5000, allow_nan=False).map(lambda v: f"{v:.4f}"),
    st.integers(min_value=0, max_value=10**9).map(str),
)
BAD_NUMBERS = st.sampled_from(["nan", "NaN", "inf", "-inf", "-1", "-0.5", "0", "0.0", "", " ", "1e309", "abc",
                               "1,5", "N/A", "null", "None", "True", "0x10", "١٢٣", "9" * 400])
HUGE = st.integers(min_value=1000, max_value=200_000).map(lambda n: "x" * n)
DATES = st.one_of(
    st.dates(min_value=date(2024, 12, 1), max_value=date(2025, 1, 31)).map(lambda d: d.isoformat()),
    st.dates(min_value=date(2024, 12, 1), max_value=date(2025, 1, 31)).map(lambda d: d.strftime("%Y%m%d")),
    st.dates(min_value=date(2024, 12, 1), max_value=date(2025, 1, 31)).map(lambda d: f"{d.isoformat()} 00:00:00-05:00"),
)
BAD_DATES = st.sampled_from(["", "2025-02-30", "2025-13-01", "01/27/2025", "27.01.2025", "9999-12-31", "0001-01-01",
                             "2262-04-12", "1677-09-21", "2025-01-27T25:00", "tomorrow", "20250127T1430", "nan", "-1"])
TEXT = st.text(max_size=30)
STAMPS = st.one_of(
    st.datetimes(min_value=pd.Timestamp("2024-12-01").to_pydatetime(), max_value=pd.Timestamp("2025-02-01").to_pydatetime())
    .map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),  # no zone
    st.datetimes(min_value=pd.Timestamp("2024-12-01").to_pydatetime(), max_value=pd.Timestamp("2025-02-01").to_pydatetime())
    .map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.datetimes(min_value=pd.Timestamp("2024-12-01").to_pydatetime(), max_value=pd.Timestamp("2025-02-01").to_pydatetime())
    .map(lambda d: d.strftime("%Y%m%dT%H%M%S")),
    st.sampled_from(["2025-01-27T10:00:00-05:00", "2025-01-27 10:00:00+09:00", "9999-12-31T23:59:59Z",
                     "3000-01-01 00:00:00", "2262-04-12T00:00:00Z", "1677-01-01T00:00:00Z", "", "soon",
                     "20250127T1430", "2025-11-02 01:30:00", "2025-03-09 02:30:00", "1738000000", "NaT"]),
)


def cell(good: st.SearchStrategy[str], bad: st.SearchStrategy[str], dirty: bool = True) -> st.SearchStrategy[str]:
    """Good values only in a clean example; in a dirty one, bad values, any text and huge fields too."""
    return st.one_of(good, good, good, bad, TEXT, HUGE) if dirty else good


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@st.composite
def mangled(draw, data: bytes) -> bytes:
    """Raw bytes, sometimes with non-UTF-8 bytes, a cut tail, a ragged line or a BOM."""
    choice = draw(st.sampled_from(["none", "none", "bytes", "cut", "ragged", "bom", "crlf"]))
    if choice == "bytes" and data:
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3", b"\x80abc", b"\xed\xa0\x80"])) + data[at:]
    if choice == "cut" and data:
        return data[: draw(st.integers(0, len(data)))]
    if choice == "ragged":
        return data + b"1,2,3\n\"unterminated,4\n"
    if choice == "bom":
        return b"\xef\xbb\xbf" + data
    if choice == "crlf":
        return data.replace(b"\n", b"\r\n")
    return data


# ------------------------------------------------------------------------------------------- properties


def assert_prices_valid(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(PRICE_COLUMNS)
    assert len(frame) > 0
    for field in PRICE_FIELDS:
        values = frame[field].to_numpy(dtype=float)
        assert np.isfinite(values).all() and (values > 0).all(), field
    assert (frame["volume"] >= 0).all()
    assert not frame.duplicated(["ticker", "date"]).any()
    assert (frame["date"] == frame["date"].dt.normalize()).all()


def assert_headlines_valid(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(HEADLINE_COLUMNS)
    if frame.empty:
        return
    assert str(frame["published_at"].dt.tz) == "UTC"
    assert frame["published_at"].notna().all()
    assert frame["title"].map(lambda t: isinstance(t, str) and t.strip() != "").all()
    assert frame["headline_id"].is_unique
    assert frame["tickers"].map(lambda ts: isinstance(ts, list) and all(isinstance(t, str) and t for t in ts)).all()


SEEN: dict[str, Counter] = {}
"""Per format: how many examples gave rows, how many an error (checked by the last test)."""


def outcome(call, origin: str, check) -> str:
    """Run ``call``: valid rows, or an ImpactError naming ``origin``; anything else fails the property."""
    name = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0].split("::")[-1]
    try:
        result = call()
    except ImpactError as error:
        assert origin in str(error), f"error does not name {origin!r}: {error}"
        kind = "error"
    else:
        check(result)
        kind = "rows" if len(result) else "no rows"
    SEEN.setdefault(name, Counter())[kind] += 1
    return kind


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ------------------------------------------------------------------------------------------- prices files

LAYOUTS = {
    "yahoo": ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"],
    "yfinance": ["Date", "Close", "High", "Low", "Open", "Volume"],
    "generic": ["date", "open", "high", "low", "close", "volume", "adj_close", "wap", "count"],
    "actions": ["Date", "Open", "High", "Low", "Close", "Volume", "Dividends", "Stock Splits"],
}


@st.composite
def price_csv(draw, long: bool) -> bytes:
    header = list(draw(st.sampled_from(list(LAYOUTS.values()))))
    if long:
        header.insert(draw(st.integers(0, len(header))), draw(st.sampled_from(["ticker", "Symbol", "TICKER"])))
    if draw(st.integers(0, 9)) == 0:  # drop, duplicate or rename a column
        i = draw(st.integers(0, len(header) - 1))
        header[i] = draw(st.sampled_from(["", "Close", "date", "Datetime", "Vol", header[i].upper()]))
    dirty = draw(st.booleans())
    # A clean example is flat, so it can be valid: one price for open, high, low and close, 1 in the other number
    # columns, a different day on each row, at least one row (random OHLC values are almost never consistent).
    flat = not dirty
    n = draw(st.integers(1 if flat else 0, 12))
    days = draw(st.lists(st.dates(min_value=date(2024, 12, 2), max_value=date(2025, 1, 31)), min_size=n, max_size=n,
                         unique=True))
    rows = []
    for day in days:
        row = []
        price = draw(st.floats(min_value=0.01, max_value=5000).map(lambda v: f"{v:.4f}"))
        for name in header:
            key = name.strip().lower()
            if key in ("date", "datetime"):
                row.append(day.isoformat() if flat else draw(cell(DATES, BAD_DATES, dirty)))
            elif key in ("ticker", "symbol"):
                row.append(draw(cell(st.sampled_from(["NVDA", "nvda", " MSFT ", "NVDA"]), TEXT, dirty)))
            elif flat:
                row.append(price if key in ("open", "high", "low", "close", "adj close", "adj_close") else "1")
            else:
                row.append(draw(cell(NUMBERS, BAD_NUMBERS, dirty)))
        rows.append(row)
    if rows and not flat and draw(st.booleans()):  # duplicate or unsorted dates
        rows.append(list(draw(st.sampled_from(rows))))
        rows = draw(st.permutations(rows))
    return draw(mangled(_csv_bytes(header, rows)))


@FUZZ
@given(data=price_csv(long=False))
def test_price_file_per_ticker(folder, data):
    path = folder / "prices" / "NVDA.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    source = FilePriceSource(path.parent)
    outcome(lambda: source.fetch_prices(["NVDA"], date(1900, 1, 1), date(2300, 1, 1)), str(path.parent), assert_prices_valid)


@FUZZ
@given(data=price_csv(long=True))
def test_price_long_file(folder, data):
    path = folder / "long.csv"
    path.write_bytes(data)
    source = FilePriceSource(path)
    outcome(lambda: source.fetch_prices(["NVDA"], date(1900, 1, 1), date(2300, 1, 1)), str(path), assert_prices_valid)


COLUMN_VALUES = {
    "float": st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=0, max_size=8),
    "int": st.lists(st.integers(-(2**63), 2**63 - 1), max_size=8),
    "str": st.lists(st.one_of(NUMBERS, BAD_NUMBERS, DATES), max_size=8),
    "date": st.lists(st.datetimes(min_value=pd.Timestamp("1700-01-01").to_pydatetime(),
                                  max_value=pd.Timestamp("2250-01-01").to_pydatetime()), max_size=8),
    "bool": st.lists(st.booleans(), max_size=8),
}


@st.composite
def parquet_frame(draw) -> pd.DataFrame:
    names = draw(st.sampled_from(list(LAYOUTS.values())))
    n = draw(st.integers(0, 8))
    if draw(st.booleans()):  # well-typed columns, values clean or not
        days = draw(st.lists(st.dates(min_value=date(2024, 12, 1), max_value=date(2025, 1, 31)), min_size=1, max_size=8))
        price = st.floats(min_value=0.01, max_value=1e4) if draw(st.booleans()) else st.floats()
        columns = {name: ([pd.Timestamp(d) for d in days] if name.lower() == "date" else
                          draw(st.lists(price, min_size=len(days), max_size=len(days)))) for name in names}
        return pd.DataFrame(columns)
    columns = {}
    for name in names:
        kind = draw(st.sampled_from(["date"] if name.lower() == "date" and draw(st.booleans()) else list(COLUMN_VALUES)))
        values = draw(COLUMN_VALUES[kind])
        values = (values * (n // max(len(values), 1) + 1))[:n] if values else [None] * n
        columns[name] = pd.Series(values, dtype="object" if kind == "str" else None)
    frame = pd.DataFrame(columns)
    if draw(st.booleans()) and "Date" in frame.columns:
        frame = frame.set_index("Date")
    return frame


@FUZZ
@given(frame=parquet_frame())
def test_price_parquet(folder, frame):
    path = folder / "pq" / "NVDA.parquet"
    path.parent.mkdir(exist_ok=True)
    try:
        frame.to_parquet(path)
    except Exception:  # pyarrow cannot store this frame: nothing to read
        return
    source = FilePriceSource(path.parent)
    outcome(lambda: source.fetch_prices(["NVDA"], date(1900, 1, 1), date(2300, 1, 1)), str(path.parent), assert_prices_valid)


# ------------------------------------------------------------------------------------------- headline files

HEADLINE_HEADERS = {
    "alphavantage": ["title", "url", "time_published", "authors", "summary", "relevance_score",
                     "ticker_sentiment_score", "ticker_sentiment_label"],
    "fmp": ["symbol", "publishedDate", "title", "image", "site", "text", "url"],
    "canonical": ["published_at", "title", "summary", "url", "publisher", "tickers"],
}
TIME_COLUMNS = {"time_published", "publishedDate", "published_at"}
URLS = st.integers(0, 10**6).map(lambda n: f"https://news.example.com/a/{n}")
WORDS = st.sampled_from(["Reuters", "0.42", "Somewhat-Bullish", "chips demand", ""])


@st.composite
def headline_csv(draw, layout: str) -> bytes:
    header = list(HEADLINE_HEADERS[layout])
    if draw(st.integers(0, 9)) == 0:
        del header[draw(st.integers(0, len(header) - 1))]
    dirty = draw(st.booleans())
    good_time = {"alphavantage": "%Y%m%dT%H%M%S", "fmp": "%Y-%m-%d %H:%M:%S", "canonical": "%Y-%m-%dT%H:%M:%SZ"}[layout]
    times = st.datetimes(min_value=pd.Timestamp("2024-12-01").to_pydatetime(),
                         max_value=pd.Timestamp("2025-02-01").to_pydatetime()).map(lambda d: d.strftime(good_time))
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        row = []
        for name in header:
            if name in TIME_COLUMNS:
                row.append(draw(cell(times, STAMPS, dirty)))
            elif name in ("tickers", "symbol"):  # FMP's symbol is one ticker; the canonical tickers a list
                good = ["NVDA", "nvda", "MSFT"] if name == "symbol" else ["NVDA", "NVDA MSFT", "nvda,msft"]
                row.append(draw(cell(st.sampled_from(good), st.sampled_from(["", "; ,", "NVDA MSFT"]), dirty)))
            elif name == "title":
                row.append(draw(cell(st.sampled_from(["NVIDIA beats", "&amp; co", "Same title"]), st.sampled_from(["", "  "]), dirty)))
            elif name == "url":
                row.append(draw(cell(URLS, st.one_of(TEXT, HUGE, BAD_NUMBERS), dirty)))
            else:  # summaries, authors, scores, images, sites: any text; plain words in a clean example
                row.append(draw(cell(WORDS, st.one_of(TEXT, HUGE, BAD_NUMBERS), dirty)))
        rows.append(row)
    if rows and draw(st.booleans()):
        rows.append(list(draw(st.sampled_from(rows))))
    return draw(mangled(_csv_bytes(header, rows)))


@pytest.mark.parametrize("layout", ["alphavantage", "fmp", "canonical"])
def test_headline_csv(folder, layout):
    name = {"alphavantage": "nvda_news.csv", "fmp": "fmp.csv", "canonical": "canonical.csv"}[layout]
    path = folder / name

    @FUZZ
    @given(data=headline_csv(layout))
    def run(data):
        path.write_bytes(data)
        direct = {"alphavantage": read_alphavantage_csv, "fmp": read_fmp_csv, "canonical": read_headline_file}[layout]
        outcome(lambda: direct(path), str(path), assert_headlines_valid)
        outcome(lambda: read_headline_file(path), str(path), assert_headlines_valid)

    run()


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT, HUGE)
JSON_ANY = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                              st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)


def field_value(good: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(good, good, good, JSON_ANY)


AV_ITEM = st.fixed_dictionaries(
    {"title": field_value(st.sampled_from(["NVIDIA beats", "Same", " "])), "time_published": field_value(STAMPS)},
    optional={
        "url": field_value(st.sampled_from(["https://www.fool.com/a", "fool.com", ""])),
        "summary": field_value(TEXT), "source": field_value(TEXT),
        "ticker_sentiment": field_value(st.lists(st.fixed_dictionaries({"ticker": field_value(st.sampled_from(["NVDA", "msft", ""]))}), max_size=3)),
    },
)
FMP_ITEM = st.fixed_dictionaries(
    {"symbol": field_value(st.sampled_from(["NVDA", "MSFT", ""])), "publishedDate": field_value(STAMPS),
     "title": field_value(st.sampled_from(["NVIDIA beats", "Same", ""]))},
    optional={"site": field_value(st.sampled_from(["fool.com", "https://x.y/z", ""])), "text": field_value(TEXT),
              "url": field_value(TEXT), "image": JSON_ANY},
)


@FUZZ
@given(items=st.lists(st.one_of(AV_ITEM, AV_ITEM, AV_ITEM, JSON_ANY), max_size=8))
def test_alphavantage_api_feed(items):
    outcome(lambda: parse_alphavantage_feed(items, "alphavantage"), "alphavantage", assert_headlines_valid)


@FUZZ
@given(items=st.lists(st.one_of(FMP_ITEM, FMP_ITEM, FMP_ITEM, JSON_ANY), max_size=8))
def test_fmp_api_items(items):
    outcome(lambda: parse_fmp_items(items, "fmp page 0"), "fmp", assert_headlines_valid)


@FUZZ
@given(
    payload=st.one_of(
        st.fixed_dictionaries({"feed": st.lists(st.one_of(AV_ITEM, JSON_ANY), max_size=6)}),
        st.lists(st.one_of(FMP_ITEM, FMP_ITEM, JSON_ANY), max_size=6),
        st.lists(st.fixed_dictionaries({"published_at": field_value(STAMPS), "title": field_value(TEXT),
                                        "tickers": field_value(st.sampled_from(["NVDA", ["NVDA", "msft"], []]))}), max_size=6),
        JSON_ANY,
    ),
    raw=st.booleans(),
)
def test_headline_json_files(folder, payload, raw):
    path = folder / "saved.json"
    data = json.dumps(payload).encode()  # NaN / Infinity included: Python writes them, strict readers refuse
    path.write_bytes(data if not raw else data[: len(data) // 2] + b"\xff")
    outcome(lambda: read_headline_file(path), str(path), assert_headlines_valid)


# ------------------------------------------------------------------------------------------- Yahoo chart JSON

BASE_CHART = json.loads((YAHOO_FIXTURES / "chart_NVDA.json").read_text())
QUOTE_VALUE = st.one_of(
    st.floats(min_value=0.01, max_value=1000), st.floats(min_value=0.01, max_value=1000), st.none(),
    st.sampled_from([0, -1, -0.0, float("nan"), float("inf"), 1e308, "12.5", "abc", True, [], {}]),
)


@st.composite
def chart_payload(draw) -> dict:
    payload = json.loads(json.dumps(BASE_CHART))
    result = payload["chart"]["result"][0]
    stamps = result["timestamp"]
    n = len(stamps)
    quote = result["indicators"]["quote"][0]
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(sorted(quote) + ["adjclose"]))
        i = draw(st.integers(0, n - 1))
        target = result["indicators"]["adjclose"][0]["adjclose"] if key == "adjclose" else quote[key]
        target[i] = draw(QUOTE_VALUE)
    mutation = draw(st.sampled_from(["none", "none", "dup", "unsorted", "future", "drop_key", "short_array", "events"]))
    if mutation == "dup":
        i = draw(st.integers(1, n - 1))
        stamps[i] = stamps[i - 1]
    elif mutation == "unsorted":
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        stamps[i], stamps[j] = stamps[j], stamps[i]
    elif mutation == "future":
        stamps[draw(st.integers(0, n - 1))] = draw(st.sampled_from([4102444800, 253402300799, -1, 0]))
    elif mutation == "drop_key":
        quote.pop(draw(st.sampled_from(sorted(quote))))
    elif mutation == "short_array":
        key = draw(st.sampled_from(sorted(quote)))
        quote[key] = quote[key][: draw(st.integers(0, n - 1))]
    elif mutation == "events":
        result.setdefault("events", {})["splits"] = {str(stamps[0]): {"date": stamps[0], "numerator": draw(QUOTE_VALUE),
                                                                      "denominator": draw(QUOTE_VALUE), "splitRatio": "x"}}
    return payload


@settings(parent=FUZZ, max_examples=EXAMPLES)
@given(payload=chart_payload())
def test_yahoo_chart_json(folder, payload):
    fixtures = folder / "yahoo"
    fixtures.mkdir(exist_ok=True)
    (fixtures / "chart_NVDA.json").write_text(json.dumps(payload))
    YfData.cache_get.cache_clear()  # yfinance memoises chart answers by URL
    session = RecordedYahooSession(fixtures)
    source = YahooPriceSource(session=session)
    stamps = [t for t in BASE_CHART["chart"]["result"][0]["timestamp"]]
    first, last = pd.Timestamp(min(stamps), unit="s").date(), pd.Timestamp(max(stamps), unit="s").date()
    outcome(lambda: source.fetch_prices(["NVDA"], first, last), "yahoo", assert_prices_valid)
    assert not session.unexpected, session.unexpected


def test_generated_inputs_reach_both_outcomes():
    """The generators are not all-garbage or all-clean: every format produced rows and errors."""
    if len(SEEN) < 10:
        pytest.skip("run the whole module to see the mix")
    print({name: dict(counts) for name, counts in SEEN.items()})
    for name, counts in SEEN.items():
        assert counts["rows"] > 0 and counts["error"] > 0, f"{name}: {dict(counts)}"
