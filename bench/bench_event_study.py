"""Benchmark the event-study engine: 500 firms x 100 events, 250-day estimation, window [-5,+5].

Side by side in one process: the full ``EventStudy.fit()`` with every test, its market-model core
(estimation, AR, CAR, firm t), a bare vectorized numpy market model (the baseline), a naive per-firm
statsmodels loop and the ``eventstudy`` PyPI package (both timed on a subsample and extrapolated).
Run: ``.venv/bin/python bench/bench_event_study.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.event_study import EventStudy  # noqa: E402
from models.event_study._inputs import build_layout, check_windows  # noqa: E402
from models.event_study.estimation import abnormal, estimate, gather_span  # noqa: E402

FIRMS, EVENTS, SESSIONS = 500, 100, 1300
EST, WINDOW = (-250, -11), (-5, 5)
WINDOWS = [(0, 0), (-1, 1), (0, 1), (-5, 5)]


def simulate(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A market factor plus firm noise; every firm has every one of the 100 event dates."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-02", periods=SESSIONS)
    market = rng.normal(0.0004, 0.011, SESSIONS)
    beta = rng.uniform(0.5, 1.6, FIRMS)
    firms = 0.0002 + market[:, None] * beta[None, :] + rng.normal(0, 0.02, (SESSIONS, FIRMS))
    returns = pd.DataFrame(firms, index=dates, columns=[f"F{i:03d}" for i in range(FIRMS)])
    returns["SPY"] = market
    day0 = np.sort(rng.choice(np.arange(260, SESSIONS - 10), EVENTS, replace=False))
    events = pd.DataFrame(
        {
            "event_id": np.repeat([f"E{j:03d}" for j in range(EVENTS)], FIRMS),
            "ticker": np.tile(returns.columns[:FIRMS], EVENTS),
            "day0": np.repeat(dates[day0], FIRMS),
        }
    )
    return returns, events


def best_of(fn, repeat: int = 5) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bare_numpy(returns: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Baseline: 3-D gather of the estimation windows, closed-form OLS, AR, CAR, t = CAR/(sqrt(L) s)."""
    values = returns.to_numpy().T
    col = returns.columns.get_indexer(events["ticker"])
    pos = returns.index.get_indexer(events["day0"])
    est_len, width = EST[1] - EST[0] + 1, WINDOW[1] - WINDOW[0] + 1
    firm_est = sliding_window_view(values, est_len, axis=1)[col, pos + EST[0]]
    mkt_est = sliding_window_view(values[-1], est_len)[pos + EST[0]]
    xm, ym = mkt_est.mean(axis=1), firm_est.mean(axis=1)
    xc = mkt_est - xm[:, None]
    beta = np.einsum("ij,ij->i", xc, firm_est - ym[:, None]) / np.einsum("ij,ij->i", xc, xc)
    alpha = ym - beta * xm
    resid = firm_est - alpha[:, None] - beta[:, None] * mkt_est
    s2 = np.einsum("ij,ij->i", resid, resid) / (est_len - 2)
    firm_ev = sliding_window_view(values, width, axis=1)[col, pos + WINDOW[0]]
    mkt_ev = sliding_window_view(values[-1], width)[pos + WINDOW[0]]
    ar = firm_ev - alpha[:, None] - beta[:, None] * mkt_ev
    car = ar.sum(axis=1)
    return car / np.sqrt(width * s2)


def engine_core(returns: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Our market-model core: layout, prefix-sum OLS, span gather, AR/SAR/CAR/BHAR, exact firm t and p."""
    windows = check_windows(EST, WINDOWS)
    layout = build_layout(returns, events, "market", "SPY", None, windows)
    est = estimate(layout, windows, "market")
    rows = np.flatnonzero(est.n >= 120)
    return abnormal(est, rows, gather_span(layout, windows, rows), windows, "simple", "exact").car_t


def statsmodels_loop(returns: pd.DataFrame, events: pd.DataFrame) -> None:
    """Naive: one statsmodels OLS per firm-event, then AR, CAR and t from its residual variance."""
    index = returns.index
    for row in events.itertuples(index=False):
        p = index.get_loc(row.day0)
        est = returns.iloc[p + EST[0] : p + EST[1] + 1]
        fit = sm.OLS(est[row.ticker].to_numpy(), sm.add_constant(est["SPY"].to_numpy())).fit()
        ev = returns.iloc[p + WINDOW[0] : p + WINDOW[1] + 1]
        ar = ev[row.ticker].to_numpy() - fit.params[0] - fit.params[1] * ev["SPY"].to_numpy()
        _ = ar.sum() / np.sqrt(len(ar) * fit.scale)


def eventstudy_package(returns: pd.DataFrame, events: pd.DataFrame) -> float | None:
    """The PyPI ``eventstudy`` package (GPL, dev only): Single.market_model per firm-event."""
    try:
        from eventstudy import Single
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "returns.csv"
        returns.rename_axis("date").to_csv(path, float_format="%.17g")
        Single.import_returns(str(path), is_price=False)
    buffer = WINDOW[0] - EST[1] - 1
    start = time.perf_counter()
    for row in events.itertuples(index=False):
        Single.market_model(
            security_ticker=row.ticker,
            market_ticker="SPY",
            event_date=np.datetime64(row.day0.date()),
            event_window=WINDOW,
            estimation_size=EST[1] - EST[0] + 1,
            buffer_size=buffer,
        )
    return time.perf_counter() - start


def main() -> None:
    returns, events = simulate()
    n = len(events)
    print(f"{FIRMS} firms x {EVENTS} events = {n} firm-events, estimation {EST}, windows {WINDOWS}")
    fit = lambda: EventStudy(returns, events, event_windows=WINDOWS).fit()  # noqa: E731
    fit()
    t_full = best_of(fit)
    t_core = best_of(lambda: engine_core(returns, events))
    t_bare = best_of(lambda: bare_numpy(returns, events))
    sub = events.sample(500, random_state=1)
    t_sm = best_of(lambda: statsmodels_loop(returns, sub), repeat=1) * n / len(sub)
    pkg_sub = events.sample(200, random_state=2)
    t_pkg = eventstudy_package(returns, pkg_sub)
    rows = [
        ("bare vectorized numpy market model (baseline)", t_bare, ""),
        ("EventStudy market-model core (AR, SAR, CAR, BHAR, exact t, p)", t_core, ""),
        ("EventStudy.fit() full: every frame and all 10 tests", t_full, ""),
        ("statsmodels OLS loop per firm-event", t_sm, "extrapolated from 500"),
    ]
    if t_pkg is None:
        print("eventstudy package not installed: skipped")
    else:
        rows.append(("eventstudy package (Single.market_model)", t_pkg * n / len(pkg_sub), "extrapolated from 200"))
    print(f"{'implementation':<66}{'seconds':>10}{'x baseline':>12}")
    for name, sec, note in rows:
        print(f"{name:<66}{sec:>10.3f}{sec / t_bare:>12.2f}  {note}")
    print(f"targets: full fit < 0.3 s -> {'met' if t_full < 0.3 else 'MISSED'}; "
          f"core within 2x of baseline -> {'met' if t_core < 2 * t_bare else 'MISSED'}")


if __name__ == "__main__":
    main()
