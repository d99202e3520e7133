"""The default universe: AI-related tech stocks and the benchmarks their moves are measured against."""

from __future__ import annotations

AI_STOCKS: tuple[str, ...] = (
    "NVDA", "MSFT", "META", "GOOGL", "AMZN", "AAPL", "AVGO", "TSM", "AMD", "ORCL", "ASML", "SMCI",
)
BENCHMARKS: tuple[str, ...] = ("SPY", "QQQ", "SMH")
MARKET: str = BENCHMARKS[0]
"""The market index returns are measured against unless the user names another (the market model's benchmark)."""
DEFAULT_TICKERS: tuple[str, ...] = AI_STOCKS + BENCHMARKS


def split_names(text: str | None) -> list[str]:
    """Names from a comma- and/or space-separated list ("NVDA,MSFT" or "NVDA MSFT"), as users and env vars write them."""
    return [item for item in (text or "").replace(",", " ").split() if item]
