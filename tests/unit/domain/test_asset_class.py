"""Asset-class detection from symbol patterns and the bundled ETF list."""

from __future__ import annotations

import pytest

from harvester.domain.asset_class import detect_asset_class


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("BTC-USD", "crypto"),
        ("ETH-USD", "crypto"),
        ("BTCUSDT", "crypto"),
        ("AVAX/USDT", "crypto"),
        ("btc", "crypto"),
        ("SPY", "etf"),
        ("QQQ", "etf"),
        ("^GSPC", "etf"),
        ("TSLA", "equity"),
        ("AAPL", "equity"),
        ("BRK-B", "equity"),
    ],
)
def test_detect_asset_class(symbol: str, expected: str) -> None:
    assert detect_asset_class(symbol) == expected
