"""The default universe: AI-related tech stocks and the benchmarks their moves are measured against."""

from __future__ import annotations

AI_STOCKS: tuple[str, ...] = (
    "NVDA", "MSFT", "META", "GOOGL", "AMZN", "AAPL", "AVGO", "TSM", "AMD", "ORCL", "ASML", "SMCI",
)
BENCHMARKS: tuple[str, ...] = ("SPY", "QQQ", "SMH")
DEFAULT_TICKERS: tuple[str, ...] = AI_STOCKS + BENCHMARKS
