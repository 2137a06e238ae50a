"""Engine rules on small hand-made cases, and the no-look-ahead property."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.backtest.engine import Kernel, run_backtest
from harvester.backtest.inputs import market_arrays
from harvester.backtest.result import BacktestResult
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError, StrategyError
from harvester.data.panel import Panel
from harvester.strategies.signals import Signals, empty_signals
from harvester.testing import SyntheticParams, generate_market

KERNELS = ["reference", "numba"]
OPEN_GUARDS = {
    "max_position_size": 1,
    "max_gross_exposure_pct": 100,
    "max_daily_loss_pct": 0,
    "max_drawdown_pct": 0,
}


def flat_panel(closes: list[list[float]], *, start: str = "2024-01-01") -> Panel:
    """Bars with open = high = low = close, one column per symbol, business days."""
    close = np.array(closes, dtype=float)
    index = pd.bdate_range(start, periods=close.shape[0])
    symbols = tuple(f"S{i}" for i in range(close.shape[1]))
    fields = {"open": close, "high": close, "low": close, "close": close}
    return Panel(index, symbols, {**fields, "volume": np.full(close.shape, 1e6)})


def config(**sections: Any) -> HarvesterConfig:
    base: dict[str, Any] = {
        "execution": {"slippage_bps": 0, "commission_bps": 0},
        "risk_management": {
            "base_position_fraction": 0.5,
            "max_position_notional_usd": 0,
            "stop_loss_atr": 0,
            "take_profit_atr": 0,
            "trailing_stops": {"enabled": False},
        },
        "risk_params": dict(OPEN_GUARDS),
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return HarvesterConfig.model_validate(base)


def go_long(shape: tuple[int, int], at: dict[int, list[int]]) -> Signals:
    signals = empty_signals(shape)
    for bar, symbols in at.items():
        signals.direction[bar, symbols] = 1
    return signals


def run(panel: Panel, signals: Signals, cfg: HarvesterConfig, kernel: Kernel) -> BacktestResult:
    return run_backtest(panel, signals, cfg, kernel=kernel)


@pytest.mark.parametrize("kernel", KERNELS)
def test_close_fill_uses_the_signal_bar_close(kernel: Kernel) -> None:
    panel = flat_panel([[10.0], [11.0], [12.0]])
    cfg = config(execution={"fill": "close"})
    result = run(panel, go_long(panel.shape, {0: [0]}), cfg, kernel)
    # 50 % of 100,000 at 10.00 = 5,000 shares bought at the first close.
    fill = result.fills.iloc[0]
    assert (fill["time"], fill["qty"], fill["price"]) == (panel.index[0], 5000, 10.0)
    assert result.equity["equity"].iloc[-1] == pytest.approx(100_000 + 5000 * 2.0)
    # Exposure: 50,000 / 100,000, then 55,000 / 105,000, then 60,000 / 110,000.
    assert result.metrics["exposure"] == pytest.approx((0.5 + 55 / 105 + 60 / 110) / 3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_no_bar_at_the_fill_fills_nothing(kernel: Kernel) -> None:
    panel = flat_panel([[10.0], [np.nan], [12.0]])
    result = run(panel, go_long(panel.shape, {0: [0]}), config(), kernel)
    assert result.fills.empty
    assert result.warnings["no_data_at_fill"] == 1


@pytest.mark.parametrize("kernel", KERNELS)
def test_max_positions_takes_the_best_scores(kernel: Kernel) -> None:
    panel = flat_panel([[10.0, 20.0, 40.0]] * 3)
    signals = go_long(panel.shape, {0: [0, 1, 2]})
    signals.score[0] = [0.1, 0.9, 0.5]
    cfg = config(risk_management={"max_open_positions": 2, "base_position_fraction": 0.1})
    result = run(panel, signals, cfg, kernel)
    assert sorted(result.fills["symbol"]) == ["S1", "S2"]
    assert result.warnings["blocked_max_positions"] == 1


@pytest.mark.parametrize("kernel", KERNELS)
def test_time_stop_exits_after_n_bars(kernel: Kernel) -> None:
    panel = flat_panel([[10.0]] * 8)
    cfg = config(risk_management={"time_stop_bars": 3})
    trade = run(panel, go_long(panel.shape, {0: [0]}), cfg, kernel).trades.iloc[0]
    # Filled at the open of bar 1; the third close after that is bar 3; out at bar 4's open.
    assert (trade["exit_reason"], trade["bars_held"]) == ("time", 3)
    assert trade["exit_time"] == panel.index[4]


@pytest.mark.parametrize("kernel", KERNELS)
def test_scale_out_ladder_closes_a_quarter_at_one_r(kernel: Kernel) -> None:
    close = [10.0, 10.0, 10.0, 10.0]
    panel = flat_panel([[c] for c in close])
    high = panel.array("close").copy()
    high[2, 0] = 11.5  # reaches 1 R above the entry
    low = panel.array("close").copy()
    low[0, 0] = 9.0  # true range of the signal bar = 1.00 → R = 1 ATR = 1.00
    panel = panel.with_fields(high=high, low=low)
    cfg = config(
        risk_management={
            "atr_period": 1,
            "stop_loss_atr": 1,
            "scale_out": [{"r_multiple": 1.0, "fraction": 0.25}],
        }
    )
    trades = run(panel, go_long(panel.shape, {0: [0]}), cfg, kernel).trades
    # 5,000 shares at 10.00; 1,250 leave at 11.00 (entry + 1 R), the rest stay open.
    partial = trades[trades["exit_reason"] == "scale_out"].iloc[0]
    assert (partial["qty"], partial["exit_price"]) == (1250, pytest.approx(11.0))
    assert trades[trades["exit_reason"] == "open"]["qty"].tolist() == [3750]


@pytest.mark.parametrize("kernel", KERNELS)
def test_cooldown_blocks_a_quick_reentry(kernel: Kernel) -> None:
    panel = flat_panel([[10.0]] * 6)
    signals = go_long(panel.shape, {0: [0], 3: [0]})
    signals.exit[1, 0] = True
    cfg = config(risk_params={"reentry_cooldown_bars": 2})
    result = run(panel, signals, cfg, kernel)
    # Entered at bar 1, exited at bar 2's open; a signal at bar 3 is within 2 bars: blocked.
    assert result.warnings["blocked_cooldown"] == 1
    assert len(result.fills) == 2


@pytest.mark.parametrize("kernel", KERNELS)
def test_kill_switch_blocks_entries_on_a_losing_day(kernel: Kernel) -> None:
    panel = flat_panel([[10.0, 10.0], [10.0, 10.0], [8.0, 10.0], [8.0, 10.0]])
    signals = go_long(panel.shape, {0: [0], 2: [1]})
    cfg = config(risk_params={"max_daily_loss_pct": 5})
    result = run(panel, signals, cfg, kernel)
    # Bar 2: the long in S0 loses 5,000 × 2 = 10 % of equity in the day: S1 stays out.
    assert result.warnings["blocked_kill_switch"] == 1
    assert set(result.fills["symbol"]) == {"S0"}


@pytest.mark.parametrize("kernel", KERNELS)
def test_kill_switch_flatten_and_drawdown_halt_close_everything(kernel: Kernel) -> None:
    panel = flat_panel([[10.0], [10.0], [8.0], [8.0], [8.0]])
    flatten = config(risk_params={"max_daily_loss_pct": 5, "kill_switch_flatten": True})
    trade = run(panel, go_long(panel.shape, {0: [0]}), flatten, kernel).trades.iloc[0]
    # Down 10 % on bar 2: flattened at bar 3's open.
    assert (trade["exit_reason"], trade["exit_time"]) == ("kill_switch", panel.index[3])
    halt = config(risk_params={"max_drawdown_pct": 8})
    signals = go_long(panel.shape, {0: [0], 3: [0]})
    result = run(panel, signals, halt, kernel)
    assert result.trades.iloc[0]["exit_reason"] == "max_drawdown"
    assert result.warnings["blocked_max_drawdown"] == 1  # the bar-3 signal stays out


@pytest.mark.parametrize("kernel", KERNELS)
def test_crypto_trades_fractional_units_on_weekends(kernel: Kernel) -> None:
    index = pd.date_range("2024-01-05", periods=4)  # Friday to Monday
    close = np.array([[30_000.0], [31_000.0], [32_000.0], [33_000.0]])
    fields = {f: close for f in ("open", "high", "low", "close")}
    panel = Panel(index, ("BTC-USD",), {**fields, "volume": np.full(close.shape, 10.0)})
    cfg = config(risk_management={"base_position_fraction": 0.1})
    fill = run(panel, go_long(panel.shape, {0: [0]}), cfg, kernel).fills.iloc[0]
    # 10 % of 100,000 / 30,000 = 0.3333… BTC, filled on Saturday's open.
    assert fill["qty"] == pytest.approx(10_000 / 30_000)
    assert fill["time"].day_name() == "Saturday"


@pytest.mark.parametrize("kernel", KERNELS)
def test_participation_cap_cuts_the_order(kernel: Kernel) -> None:
    panel = flat_panel([[10.0]] * 3)
    panel = panel.with_fields(volume=np.full(panel.shape, 1000.0))
    cfg = config(execution={"participation_cap": 0.1})
    fill = run(panel, go_long(panel.shape, {0: [0]}), cfg, kernel).fills.iloc[0]
    assert fill["qty"] == 100  # 10 % of the fill bar's 1,000 shares
    assert (
        run(panel, go_long(panel.shape, {0: [0]}), cfg, kernel).warnings["participation_cut"] == 1
    )


@pytest.mark.parametrize("kernel", KERNELS)
def test_participation_cap_ignores_a_bar_without_volume(kernel: Kernel) -> None:
    # An index or FX quote has prices but no volume: the cap cannot apply, the order fills.
    panel = flat_panel([[10.0]] * 3)
    panel = panel.with_fields(volume=np.full(panel.shape, np.nan))
    cfg = config(execution={"participation_cap": 0.1})
    result = run(panel, go_long(panel.shape, {0: [0]}), cfg, kernel)
    assert result.fills["qty"].tolist() == [5000]
    assert result.warnings["participation_cut"] == 0


def test_trades_record_the_regime_of_the_entry_decision() -> None:
    panel = flat_panel([[10.0]] * 5)
    signals = go_long(panel.shape, {1: [0]})
    labels = pd.Series(["calm", "calm", "panic", "panic", "panic"], index=panel.index)
    trade = run_backtest(panel, signals, config(), regimes=labels).trades.iloc[0]
    # Decided at the close of bar 1 (calm), filled at the open of bar 2 (panic).
    assert trade["regime"] == "calm"


def test_negative_fraction_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="base_position_fraction"):
        from harvester.config.loader import ConfigRequest, load_config

        load_config(
            ConfigRequest(assignments=["risk_management.base_position_fraction=-0.1"]),
            environ={},
        )


def test_signals_of_the_wrong_shape_are_refused() -> None:
    panel = flat_panel([[10.0]] * 3)
    with pytest.raises(StrategyError, match="shape"):
        run_backtest(panel, empty_signals((2, 1)), config())


def random_signals(shape: tuple[int, int], seed: int) -> Signals:
    rng = np.random.default_rng(seed)
    direction = rng.choice([-1, 0, 0, 0, 0, 1], size=shape).astype(np.int8)
    return Signals(direction, rng.random(shape) < 0.05, np.ones(shape), rng.random(shape))


@settings(max_examples=25)
@given(st.integers(0, 10_000), st.integers(5, 110), st.sampled_from(["next_open", "close"]))
def test_no_look_ahead(seed: int, cut: int, fill: str) -> None:
    market = generate_market(SyntheticParams(symbols=4, years=1, seed=seed % 7))
    panel = market.panel
    signals = random_signals(panel.shape, seed)
    cfg = config(
        execution={"fill": fill, "slippage_bps": 5, "commission_bps": 1},
        risk_management={"stop_loss_atr": 1, "take_profit_atr": 2, "base_position_fraction": 0.2},
    )
    before = run_backtest(panel, signals, cfg, kernel="numba")
    # Change every price after bar `cut` (and every later signal): nothing up to it may move.
    scale = np.where(np.arange(panel.shape[0])[:, None] > cut, 1.37, 1.0)
    changed = panel.with_fields(
        **{f: panel.array(f) * scale for f in ("open", "high", "low", "close")}
    )
    later = random_signals(panel.shape, seed + 1)
    future = scale > 1
    mixed = Signals(
        np.where(future, later.direction, signals.direction).astype(np.int8),
        np.where(future, later.exit, signals.exit),
        np.where(future, later.size, signals.size),
        np.where(future, later.score, signals.score),
    )
    after = run_backtest(changed, mixed, cfg, kernel="numba")
    until = panel.index[cut]
    pd.testing.assert_frame_equal(
        before.fills[before.fills["time"] <= until], after.fills[after.fills["time"] <= until]
    )
    pd.testing.assert_frame_equal(before.equity.loc[:until], after.equity.loc[:until])


# -- the book after the last bar: what a real broker is sent after the close --------------


def run_with_atr(
    panel: Panel, signals: Signals, cfg: HarvesterConfig, kernel: Kernel, atr: float
) -> BacktestResult:
    market = market_arrays(panel, cfg)._replace(atr=np.full(panel.shape, atr))
    return run_backtest(panel, signals, cfg, kernel=kernel, market=market)


@pytest.mark.parametrize("kernel", KERNELS)
def test_book_holds_the_entry_decided_on_the_last_bar(kernel: Kernel) -> None:
    panel = flat_panel([[10.0, 20.0], [10.0, 20.0], [10.0, 20.0]])
    result = run(panel, go_long(panel.shape, {2: [1]}), config(), kernel)
    book = result.book
    # Decided at the last close, filled at the next open: 50 % of 100,000 at 20.00 = 2,500.
    assert list(book.loc["S1", ["position", "order", "side", "qty"]]) == [
        0.0, "entry", "long", 2500.0,
    ]  # fmt: skip
    assert book.loc["S1", "exit_reason"] == ""
    assert list(book.loc["S0", ["order", "side", "qty"]]) == ["none", "", 0.0]
    assert result.fills.empty  # nothing filled within the run


@pytest.mark.parametrize("kernel", KERNELS)
def test_book_holds_a_signal_exit_and_the_position_levels(kernel: Kernel) -> None:
    panel = flat_panel([[10.0], [10.0], [10.0], [10.0]])
    signals = go_long(panel.shape, {0: [0]})
    signals.exit[3, 0] = True
    cfg = config(risk_management={"stop_loss_atr": 1.5, "take_profit_atr": 3.0})
    book = run_with_atr(panel, signals, cfg, kernel, atr=2.0).book
    # Bought 5,000 at the open of bar 1 (10.00); stop 10 − 1.5·2 = 7, target 10 + 3·2 = 16.
    row = book.loc["S0"]
    assert (row["position"], row["order"], row["exit_reason"]) == (5000.0, "exit", "signal")
    assert (row["stop"], row["target"]) == (7.0, 16.0)
    assert np.isnan(row["trail"])  # trailing stops are off in this config


@pytest.mark.parametrize("kernel", KERNELS)
def test_book_holds_a_reversal(kernel: Kernel) -> None:
    panel = flat_panel([[10.0], [10.0], [10.0]])
    signals = go_long(panel.shape, {0: [0]})
    signals.direction[2, 0] = -1
    row = run(panel, signals, config(), kernel).book.loc["S0"]
    # Long 5,000 since bar 1; the short signal exits it and enters 5,000 short next open.
    assert list(row[["position", "order", "side", "qty", "exit_reason"]]) == [
        5000.0, "reverse", "short", 5000.0, "signal",
    ]  # fmt: skip
