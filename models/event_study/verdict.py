"""One sentence per event window that answers "did it move the stocks?": the firms that moved significantly (each
firm's exact t), the group result from the tests that are valid for the event, and the size in % (and dollars).

Pure: frames of one study sample in, a frame out. Used by ``pipelines.warehouse.read.event_verdicts`` (CLI,
dashboards, report) so every reader says the same thing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.event_study import significance
from models.event_study.results import window_label

ALPHA = 0.05
"""Significance level of the per-firm and group tests in the verdict."""
CLUSTERED_PREFERENCE = ("kp_bmp_t", "kp_patell_z", "corrado_rank", "crude_dependence_t")
"""Group tests read first when firms share day 0 (all robust to cross-correlation), best first."""
INDEPENDENT_PREFERENCE = ("bmp_t", "patell_z", "t_cross_section", "corrado_rank")
"""Group tests read first when the firms' event days differ, best first."""
CLUSTERED_REASON = "firms share day 0, so only tests robust to cross-correlation count"
INDEPENDENT_REASON = "firms' event days differ, so cross-correlation does not bias the tests"
SINGLE_REASON = "one firm: no group test, its own t is the result"
NO_FIRM_REASON = "no firm could be studied in this window"
COLUMNS = [
    "window",
    "tau_start",
    "tau_end",
    "sentence",
    "n",
    "caar",
    "significant_tickers",
    "tickers_up",
    "tickers_down",
    "group_test",
    "group_label",
    "group_statistic",
    "group_p",
    "group_significant",
    "reason",
    "dollars",
    "dollars_kind",
    "valid_tests",
    "valid_significant",
]


def verdicts(
    windows: pd.DataFrame,
    aggregates: pd.DataFrame,
    tests: pd.DataFrame,
    *,
    alpha: float = ALPHA,
    dollars: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per window of one study sample: its ``sentence`` and the facts it states.

    ``windows``: per firm and window ``ticker``, ``car``, ``car_t``, ``car_p``; ``aggregates``: per window ``n``,
    ``caar``, ``clustered``; ``tests``: per window and test ``test``, ``statistic``, ``p_value``,
    ``adjusts_cross_correlation`` (window bounds as ``tau_start``/``tau_end`` or ``start``/``end``).
    ``dollars`` (optional): ``ticker`` with ``dollar_abnormal`` and/or ``dollar_change``, per window when it has
    window bounds, per session when it has ``tau``, else one total per ticker; summed over the sample's firms (no
    total when one of them has no value).
    """
    windows, aggregates, tests = (_bounds(f) for f in (windows, aggregates, tests))
    dollars = _bounds(dollars) if dollars is not None else None
    order = list(dict.fromkeys(zip(aggregates["tau_start"], aggregates["tau_end"], strict=True)))
    order += [b for b in dict.fromkeys(zip(windows["tau_start"], windows["tau_end"], strict=True)) if b not in order]
    rows = []
    for lo, hi in order:
        lo, hi = int(lo), int(hi)
        firms = windows[(windows["tau_start"] == lo) & (windows["tau_end"] == hi)]
        agg = aggregates[(aggregates["tau_start"] == lo) & (aggregates["tau_end"] == hi)]
        group = tests[(tests["tau_start"] == lo) & (tests["tau_end"] == hi)]
        rows.append(_verdict(lo, hi, firms, agg, group, alpha, dollars))
    return pd.DataFrame(rows, columns=COLUMNS)


def _bounds(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its window bounds named tau_start/tau_end (the model names them start/end)."""
    if frame.empty and "tau_start" not in frame.columns and "start" not in frame.columns:
        return frame.assign(tau_start=pd.Series(dtype="int64"), tau_end=pd.Series(dtype="int64"))
    return frame.rename(columns={"start": "tau_start", "end": "tau_end"})


def _verdict(
    lo: int,
    hi: int,
    firms: pd.DataFrame,
    agg: pd.DataFrame,
    group: pd.DataFrame,
    alpha: float,
    dollars: pd.DataFrame | None,
) -> dict:
    label = window_label(lo, hi)
    firms = firms[np.isfinite(firms["car"].astype(float))] if len(firms) else firms
    n = int(len(firms))
    caar = float(agg["caar"].iloc[0]) if len(agg) and n else (float(firms["car"].mean()) if n else math.nan)
    moved = firms[firms["car_p"].astype(float) < alpha].sort_values("car") if n else firms
    up = [str(t) for t in moved.loc[moved["car"] > 0, "ticker"]] if n else []
    down = [str(t) for t in moved.loc[moved["car"] < 0, "ticker"]] if n else []
    significant = [str(t) for t in moved["ticker"]] if n else []
    clustered = bool(agg["clustered"].iloc[0]) if len(agg) and "clustered" in agg else False
    valid, reason = _valid_tests(group, n, clustered)
    test = _preferred(valid, clustered)
    found = _dollars(dollars, lo, hi, [str(t) for t in firms["ticker"]]) if n else None
    row = {
        "window": label,
        "tau_start": lo,
        "tau_end": hi,
        "n": n,
        "caar": caar,
        "significant_tickers": significant,
        "tickers_up": up,
        "tickers_down": down,
        "group_test": None,
        "group_label": None,
        "group_statistic": math.nan,
        "group_p": math.nan,
        "group_significant": None,
        "reason": reason,
        "dollars": found[1] if found else None,
        "dollars_kind": found[0] if found else None,
        "valid_tests": [str(t) for t in valid["test"]],
        "valid_significant": [str(t) for t in valid.loc[valid["p_value"].astype(float) < alpha, "test"]],
    }
    if test is not None:
        stat, p = float(test["statistic"]), float(test["p_value"])
        row.update(
            group_test=str(test["test"]),
            group_label=significance.display_label(str(test["test"])),
            group_statistic=stat,
            group_p=p,
            group_significant=bool(p < alpha),
        )
    row["sentence"] = _sentence(label, firms, moved, row, alpha)
    return row


def _valid_tests(group: pd.DataFrame, n: int, clustered: bool) -> tuple[pd.DataFrame, str]:
    """The group tests that count for this window, in registry order (computed, and robust to cross-correlation when
    the firms share day 0), and why those; none with fewer than two firms."""
    empty = pd.DataFrame(columns=["test", "statistic", "p_value"])
    if n == 0:
        return empty, NO_FIRM_REASON
    if n == 1:
        return empty, SINGLE_REASON
    reason = CLUSTERED_REASON if clustered else INDEPENDENT_REASON
    valid = group[np.isfinite(group["p_value"].astype(float))] if len(group) else empty
    if clustered and len(valid):
        valid = valid[valid["adjusts_cross_correlation"].astype(bool)]
    if valid.empty:
        return empty, f"{reason}; none of them could be computed"
    ranked = valid.assign(_order=valid["test"].map(significance.order)).sort_values("_order", kind="stable")
    return ranked.drop(columns="_order"), reason


def _preferred(valid: pd.DataFrame, clustered: bool) -> pd.Series | None:
    """The valid test whose result is the group's (the preference list's first, else the registry's first)."""
    if valid.empty:
        return None
    preference = CLUSTERED_PREFERENCE if clustered else INDEPENDENT_PREFERENCE
    rank = {name: i for i, name in enumerate(preference)}
    ranked = valid.assign(_rank=valid["test"].map(lambda t: (rank.get(t, len(rank)), significance.order(t))))
    return ranked.sort_values("_rank", kind="stable").iloc[0]


def _dollars(dollars: pd.DataFrame | None, lo: int, hi: int, tickers: list[str]) -> tuple[str, float] | None:
    """The sample's summed dollar abnormal change (else dollar change) over the window and which of the two it is;
    None when unknown."""
    if dollars is None or dollars.empty:
        return None
    column = next((c for c in ("dollar_abnormal", "dollar_change") if c in dollars.columns), None)
    if column is None:
        return None
    rows = dollars[dollars["ticker"].isin(tickers)]
    if "tau_start" in rows.columns:
        rows = rows[(rows["tau_start"] == lo) & (rows["tau_end"] == hi)]
    elif "tau" in rows.columns:
        rows = rows[(rows["tau"] >= lo) & (rows["tau"] <= hi)]
    values = rows[column].astype(float)
    if values.empty or values.isna().any() or set(rows["ticker"]) != set(tickers):
        return None  # a firm without a market value: no total rather than a partial one
    return column, float(values.sum())


def _pct(value: float) -> str:
    return f"{100 * value:+.1f}%"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _money(value: float) -> str:
    sign = "-" if value < 0 else "+"
    size = abs(value)
    for unit, scale in (("tn", 1e12), ("bn", 1e9), ("m", 1e6)):
        if size >= scale:
            return f"{sign}${size / scale:.1f}{unit}"
    return f"{sign}${size:,.0f}"


def _names(tickers: list[str]) -> str:
    return tickers[0] if len(tickers) == 1 else ", ".join(tickers[:-1]) + " and " + tickers[-1]


def _sentence(label: str, firms: pd.DataFrame, moved: pd.DataFrame, row: dict, alpha: float) -> str:
    """'CAR[-1,+1]: NVDA moved significantly (-17.0%, t = -5.20, p < 0.001); ... Group: ...' in one sentence."""
    if row["n"] == 0:
        return f"CAR{label}: {NO_FIRM_REASON}."
    level = f"{100 * alpha:g}%"
    if len(moved):
        parts = [f"{r.ticker} {_pct(r.car)} (t = {r.car_t:.2f}, {_p(r.car_p)})" for r in moved.itertuples()]
        firm_text = f"{'; '.join(parts)} moved significantly at {level}"
        rest = [str(t) for t in firms["ticker"] if t not in set(moved["ticker"])]
        if rest:
            firm_text += f"; {_names(rest)} did not" if len(rest) <= 5 else f"; {len(rest)} other firms did not"
    else:
        firm_text = (
            f"no firm moved significantly at {level}"
            if row["n"] > 1
            else (
                f"{firms['ticker'].iloc[0]} {_pct(firms['car'].iloc[0])} (t = {firms['car_t'].iloc[0]:.2f}, "
                f"{_p(firms['car_p'].iloc[0])}) did not move significantly at {level}"
            )
        )
    if row["n"] == 1:
        group_text = ""
    elif row["group_test"] is None:
        group_text = f"; group: mean CAR {_pct(row['caar'])}, no valid group test ({row['reason']})"
    else:
        verdict = "significant" if row["group_significant"] else "not significant"
        group_text = (
            f"; group of {row['n']}: mean CAR {_pct(row['caar'])}, {verdict} by {row['group_label']} "
            f"({row['group_statistic']:.2f}, {_p(row['group_p'])}; {row['reason']})"
        )
    if len(row["valid_tests"]) > 1:
        agree = len(row["valid_significant"])
        group_text += f"; {agree} of {len(row['valid_tests'])} valid tests significant"
    kind = "abnormal value change" if row["dollars_kind"] == "dollar_abnormal" else "value change"
    money = f"; {kind} {_money(row['dollars'])}" if row["dollars"] is not None else ""
    return f"CAR{label}: {firm_text}{group_text}{money}."
