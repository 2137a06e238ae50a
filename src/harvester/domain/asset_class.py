"""Asset-class detection (crypto / etf / equity) from symbol patterns and bundled metadata."""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["ASSET_CLASSES", "AssetClass", "detect_asset_class"]

AssetClass = Literal["crypto", "etf", "equity"]
ASSET_CLASSES: tuple[AssetClass, ...] = ("crypto", "etf", "equity")

_CRYPTO_QUOTES = ("USD", "USDT", "USDC", "BUSD", "EUR", "BTC", "ETH")
_CRYPTO_PATTERN = re.compile(
    rf"^[A-Z0-9]{{2,10}}(-|/)({'|'.join(_CRYPTO_QUOTES)})$|^[A-Z0-9]{{2,10}}(USDT|USDC|BUSD)$"
)
_CRYPTO_BASES = frozenset({"BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "AVAX", "DOT", "LTC", "BNB"})

# Liquid US-listed ETFs and the index symbols that stand for them; a symbol not listed here
# and not matching a crypto pattern is treated as a single stock.
KNOWN_ETFS = frozenset(
    {
        "SPY", "IVV", "VOO", "VTI", "QQQ", "IWM", "DIA", "MDY", "RSP", "EFA", "EEM", "VEA",
        "VWO", "AGG", "BND", "TLT", "IEF", "SHY", "LQD", "HYG", "TIP", "GLD", "SLV", "USO",
        "UNG", "DBC", "VNQ", "XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU",
        "XLV", "XLY", "SMH", "SOXX", "XBI", "IBB", "KRE", "XOP", "GDX", "ARKK", "MTUM",
        "QUAL", "SIZE", "USMV", "VLUE", "VIG", "SCHD", "UVXY", "VXX", "SQQQ", "TQQQ",
        "^GSPC", "^IXIC", "^DJI", "^RUT", "^VIX", "^NDX",
    }
)  # fmt: skip


def detect_asset_class(symbol: str) -> AssetClass:
    """Return the asset class of ``symbol``.

    Examples
    --------
    >>> detect_asset_class("BTC-USD"), detect_asset_class("SPY"), detect_asset_class("TSLA")
    ('crypto', 'etf', 'equity')
    """
    upper = symbol.strip().upper()
    if upper in _CRYPTO_BASES or _CRYPTO_PATTERN.match(upper):
        return "crypto"
    if upper in KNOWN_ETFS:
        return "etf"
    return "equity"
