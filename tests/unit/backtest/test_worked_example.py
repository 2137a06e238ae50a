"""The worked example of docs/execution.md, reproduced to the cent.

Every expected number below is computed by hand in the comments (and in the doc), not by
the code under test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from harvester.backtest.engine import Kernel, run_backtest
from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.strategies.signal_file import signals_from_frame

BARS = [  # date, open, high, low, close
    ("2024-01-02", 100.0, 101.0, 99.0, 100.0),
    ("2024-01-03", 100.0, 102.0, 99.5, 101.5),
    ("2024-01-04", 101.0, 103.0, 100.5, 102.5),
    ("2024-01-05", 102.0, 102.2, 99.0, 99.5),
    ("2024-01-08", 99.0, 103.0, 98.0, 102.0),
    ("2024-01-09", 101.0, 101.5, 100.0, 101.0),
]
SIGNALS = [("2024-01-02", "XYZ", 1), ("2024-01-05", "XYZ", -1), ("2024-01-08", "XYZ", 0)]
CONFIG = {
    "initial_capital": 100_000,
    "execution": {"slippage_bps": 10, "commission_bps": 5, "commission_min_usd": 1},
    "risk_management": {
        "base_position_fraction": 0.5,
        "max_position_notional_usd": 0,
        "atr_period": 1,
        "stop_loss_atr": 1,
        "take_profit_atr": 0,
        "trailing_stops": {"enabled": True, "atr_multiplier": 1, "min_distance": 0},
    },
    "risk_params": {
        "max_position_size": 1,
        "max_gross_exposure_pct": 100,
        "max_daily_loss_pct": 0,
        "max_drawdown_pct": 0,
    },
}


def example_panel() -> Panel:
    frame = pd.DataFrame(BARS, columns=["date", "open", "high", "low", "close"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["symbol"], frame["volume"] = "XYZ", 1_000_000.0
    return Panel.from_long(frame)


@pytest.mark.parametrize("kernel", ["reference", "numba"])
def test_worked_example_to_the_cent(kernel: Kernel) -> None:
    panel = example_panel()
    signals = pd.DataFrame(SIGNALS, columns=["date", "symbol", "signal"])
    signals["date"] = pd.to_datetime(signals["date"])
    aligned = signals_from_frame(signals, panel, source="example")
    result = run_backtest(
        panel, aligned.signals, HarvesterConfig.model_validate(CONFIG), kernel=kernel
    )
    long, short = result.trades.iloc[0], result.trades.iloc[1]

    # Long: 50 % of 100,000 at the 100.00 signal close = 500 shares, filled at the next
    # open 100.00 + 10 bps slippage = 100.10; fee 5 bps of 50,050.00 = 25.025.
    assert (long["side"], long["qty"], long["entry_price"]) == ("long", 500, pytest.approx(100.10))
    # Trailing stop after the 2024-01-04 close: 102.50 - ATR (true range 2.50) = 100.00,
    # above the initial stop 100.10 - 2.00 = 98.10. The 2024-01-05 low 99.00 touches it:
    # exit 100.00 - 0.10 slippage = 99.90, fee 5 bps of 49,950.00 = 24.975.
    assert long["exit_reason"] == "trailing"
    assert long["exit_price"] == pytest.approx(99.90, abs=1e-9)
    assert long["fees"] == pytest.approx(25.025 + 24.975, abs=1e-9)
    # pnl = (99.90 - 100.10) * 500 - 50.00 = -150.00
    assert long["pnl"] == pytest.approx(-150.00, abs=1e-9)
    assert long["mfe"] == pytest.approx((103.0 - 100.10) / 100.10)
    assert long["mae"] == pytest.approx((99.0 - 100.10) / 100.10)
    assert long["bars_held"] == 2

    # Short: equity 99,850.00 at the 2024-01-05 close; 50 % / 99.50 = 501.76 -> 501 shares,
    # sold at 99.00 - 0.099 = 98.901; fee 5 bps of 49,549.401 = 24.7747005.
    assert (short["side"], short["qty"]) == ("short", 501)
    assert short["entry_price"] == pytest.approx(98.901, abs=1e-9)
    # Initial stop 98.901 + ATR of the signal bar (true range 3.50) = 102.401; the
    # 2024-01-08 high 103.00 touches it in the entry bar: bought back at 102.401 + 10 bps
    # = 102.503401; fee 5 bps of 51,354.203901 = 25.6771019505.
    assert short["exit_reason"] == "stop"
    assert short["exit_price"] == pytest.approx(102.503401, abs=1e-9)
    assert short["fees"] == pytest.approx(24.7747005 + 25.6771019505, abs=1e-9)
    # pnl = -(102.503401 - 98.901) * 501 - 50.4518024505 = -1855.2547034505
    assert short["pnl"] == pytest.approx(-1855.2547034505, abs=1e-6)

    # Final equity = 100,000 - 150.00 - 1,855.2547034505, flat at the end.
    assert result.equity["equity"].iloc[-1] == pytest.approx(97_994.7452965495, abs=1e-6)
    assert result.equity["cash"].iloc[-1] == pytest.approx(97_994.7452965495, abs=1e-6)
    assert len(result.trades) == 2
    assert result.metrics["number_of_trades"] == 2
