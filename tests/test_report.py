"""The static report reads as an analyst's note (issue 12, item 5): a summary (the verdict), a methods paragraph,
human test names, one formatting of %, t and p with stars, and a "simulated" mark on demo data."""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from dashboards import report
from models.event_study import significance
from pipelines import warehouse
from pipelines.warehouse import read

EVENT = "deepseek-r1-release"


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The browser tests' demo warehouse (real Dagster runs), or a copy of IMPACT_TEST_DEMO_WAREHOUSE."""
    path = tmp_path_factory.mktemp("report") / "warehouse.duckdb"
    prebuilt = os.environ.get("IMPACT_TEST_DEMO_WAREHOUSE")
    if prebuilt:
        shutil.copyfile(prebuilt, path)
    else:
        from tests.test_dashboard_browser import build_demo_warehouse

        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DAGSTER_HOME", str(path.parent / "dagster"))
            build_demo_warehouse(path)
    return path


@pytest.fixture(scope="module")
def page(demo_warehouse: Path) -> str:
    bundle, status = report.load_event(EVENT, demo_warehouse)
    return report.render_html(bundle, status)


def _tables(text: str) -> list[str]:
    return re.findall(r"<table>.*?</table>", text, flags=re.S)


@pytest.mark.parametrize(
    ("p", "shown"),
    [
        (0.0004, "<0.001 ***"),
        (0.0099, "0.010 ***"),
        (0.012, "0.012 **"),
        (0.07, "0.070 *"),
        (0.1, "0.100"),
        (0.5443, "0.544"),
        (float("nan"), ""),
    ],
)
def test_p_values_have_three_decimals_and_stars(p, shown):
    assert report.fmt_p(p) == shown


def test_percent_and_statistics_have_two_decimals():
    assert report.fmt_pct(-0.152700) == "-15.27%" and report.fmt_pct(0.0312) == "+3.12%"
    assert report.fmt_stat(-5.19876) == "-5.20" and report.fmt_stat(float("inf")) == ""


def test_the_summary_is_the_verdict(page, demo_warehouse):
    with warehouse.reader(demo_warehouse) as con:
        sentences = read.event_verdicts(con, EVENT, "event")["sentence"].tolist()
    assert sentences, "the demo event has a stored study"
    summary = re.search(r"<div id='summary'>(.*?)</div>", page, flags=re.S).group(1)
    for sentence in sentences:
        assert html.escape(sentence) in summary
    assert page.index("id='summary'") < page.index("fig-prices")  # the answer first, then the evidence


def test_the_methods_say_model_windows_and_which_tests_count(page):
    methods = re.search(r"<div id='methods'>(.*?)</div>", page, flags=re.S).group(1)
    assert "market model" in methods and "SPY" in methods and "[-250,-11]" in methods
    assert "[0,0]" in methods and "[-1,+1]" in methods
    assert "share day 0" in methods and "cross-correlat" in methods  # DeepSeek-R1: one day 0 for all its firms
    for test in significance.REGISTRY.values():
        assert test.display_label in methods


def test_tables_use_human_test_names_and_one_number_format(page):
    tables = "".join(_tables(page))
    assert "Kolari-Pynnönen" in tables and ">kp_bmp_t<" not in tables and ">corrado_rank<" not in tables
    assert 'title="kp_bmp_t (mart.event_tests.test)"' in tables  # the stored id is one hover away
    named = re.findall(r'<td title="(\w+) \(mart\.event_tests\.test\)">([^<]*)</td>', tables)
    assert len(named) == 40 and all(significance.display_label(test) == html.unescape(shown) for test, shown in named)
    assert not re.search(r"\d\.\d{4}", tables), re.search(r".{40}\d\.\d{4}.{20}", tables)
    for cell in re.findall(r'<td class="num">([^<]*%)</td>', tables):
        assert re.fullmatch(r"[+-]\d+\.\d\d%", cell), cell
    p_cells = re.findall(r'<td class="num">((?:&lt;)?0\.\d{3}(?: \*{1,3})?|&lt;0\.001 \*\*\*)</td>', tables)
    assert p_cells

    def marks(p: float) -> int:
        return 3 if p < 0.01 else 2 if p < 0.05 else 1 if p < 0.1 else 0

    for cell in p_cells:  # the stars follow the unrounded p: "0.010 ***" is p = 0.0099
        value = 0.0005 if cell.startswith("&lt;") else float(cell.split()[0])
        assert cell.count("*") in {marks(value - 0.0005), marks(value + 0.0004999)}, cell


def test_demo_figures_are_marked_simulated(page, demo_warehouse):
    assert "SIMULATED DEMO DATA" in page
    assert page.count("simulated demo data, not market prices") >= 3  # on each figure: a PNG export keeps it
    bundle, status = report.load_event(EVENT, demo_warehouse)
    real = report.render_html(bundle, {**status, "demo": False})
    assert "simulated demo data, not market prices" not in real and "SIMULATED DEMO DATA" not in real


def test_an_event_without_a_study_says_so(page, demo_warehouse):
    bundle, status = report.load_event(EVENT, demo_warehouse)
    empty = {**bundle, "verdicts": pd.DataFrame(columns=["sentence"])}
    assert "No verdict" in report.render_html(empty, status)
