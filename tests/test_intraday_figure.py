"""dashboards/intraday.py: the event session's chart marks the open and the news and shades pre/post-market."""

from datetime import date

import pandas as pd

from dashboards.intraday import intraday_chart, view_figure
from pipelines.sources.demo_intraday import DemoIntradaySource

DAY = date(2025, 1, 27)


def _shapes(fig):
    return [(s.type, s.x0, s.x1) for s in fig.layout.shapes]


def test_the_chart_shades_pre_and_post_and_marks_the_open_and_the_news():
    bars = DemoIntradaySource().fetch_bars(["NVDA", "SPY"], DAY, DAY)
    reaction = pd.DataFrame({"ticker": ["NVDA", "SPY"], "ref_price": [142.62, 607.97], "benchmark": ["SPY", "SPY"]})
    fig = intraday_chart(bars, reaction, DAY, pd.Timestamp("2025-01-27 07:15", tz="America/New_York"), ["NVDA"])
    shapes = _shapes(fig)
    assert ("rect", pd.Timestamp("2025-01-27 04:00"), pd.Timestamp("2025-01-27 09:30")) in shapes
    assert ("rect", pd.Timestamp("2025-01-27 16:00"), pd.Timestamp("2025-01-27 19:59")) in shapes
    lines = {s.x0 for s in fig.layout.shapes if s.type == "line"}
    assert lines == {pd.Timestamp("2025-01-27 09:30"), pd.Timestamp("2025-01-27 07:15")}
    texts = {a.text for a in fig.layout.annotations}
    assert {"open 09:30", "news 07:15", "pre-market", "post-market"} <= texts
    names = [t.name for t in fig.data]
    assert names == ["NVDA", "SPY"]  # the benchmark is drawn beside the chosen tickers
    nvda = fig.data[0]
    assert -14 <= min(nvda.y[:330]) <= -11  # the pre-market fall, in % from Friday's close


def test_news_before_the_session_is_said_in_the_title_and_no_bars_is_said_plainly():
    bars = DemoIntradaySource().fetch_bars(["NVDA"], DAY, DAY)
    fig = intraday_chart(bars, pd.DataFrame(), DAY, pd.Timestamp("2025-01-20 08:00", tz="America/New_York"))
    assert "news announced 2025-01-20 08:00 New York time" in fig.layout.title.text
    assert (
        "No intraday bars"
        in view_figure({"day0": DAY, "announced_at": None, "reaction": pd.DataFrame(), "bars": pd.DataFrame()})
        .layout.annotations[0]
        .text
    )
