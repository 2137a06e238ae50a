"""The numba simulator equals its pure-Python twin, and both keep the books balanced.

Random small markets (1-6 symbols, 2-80 bars, NaN bars, zero volumes), random signals (score
ties and NaN scores) and random rules covering every branch of the simulator go through
``simulate_kernel`` and ``simulate_reference``; every output must be identical bit for bit.
Independent invariants, computed here from the inputs, check the accounting itself.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.backtest._arrays import (
    ENTRY_REASON,
    FILL_COLUMNS,
    TRADE_COLUMNS,
    WARNING_NAMES,
    EngineParams,
    MarketArrays,
    SignalArrays,
    SimOutput,
)
from harvester.backtest._kernels import _pairwise_nb, _rank_nb, _SumWork, simulate_kernel
from harvester.backtest._reference import simulate_reference
from harvester.domain.trades import ExitReason

TRADE = {name: k for k, name in enumerate(TRADE_COLUMNS)}
FILL = {name: k for k, name in enumerate(FILL_COLUMNS)}


class Case(NamedTuple):
    market: MarketArrays
    signals: SignalArrays
    params: EngineParams


# -- random inputs ------------------------------------------------------------------------


def _ohlc(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    vol = rng.uniform(0.005, 0.08, size=shape[1])
    close = rng.uniform(5.0, 200.0, size=shape[1]) * np.exp(
        np.cumsum(rng.normal(0.0, vol, size=shape), axis=0)
    )
    previous = np.vstack([close[:1], close[:-1]])
    open_ = previous * np.exp(rng.normal(0.0, vol / 2, size=shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, vol, size=shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, vol, size=shape)))
    return open_, high, low, close


def _missing(rng: np.random.Generator, shape: tuple[int, int], share: float) -> np.ndarray:
    gaps = rng.random(shape) < share
    if shape[0] > 3 and shape[1] > 0 and rng.random() < 0.5:
        # A late listing and an early delisting.
        gaps[: rng.integers(0, shape[0] // 2), 0] = True
        gaps[shape[0] - rng.integers(0, shape[0] // 2) :, -1] = True
    return gaps


def _with_warmup(
    rng: np.random.Generator, values: np.ndarray, gaps: np.ndarray, zero_share: float
) -> np.ndarray:
    out = np.where(gaps, np.nan, values)
    out[: rng.integers(0, 4)] = np.nan
    out[rng.random(out.shape) < zero_share] = 0.0
    return out


def _day_ids(rng: np.random.Generator, n_times: int, pattern: str) -> np.ndarray:
    if pattern == "daily":
        return np.arange(n_times, dtype=np.int64)
    if pattern == "intraday":
        return np.arange(n_times, dtype=np.int64) // int(rng.integers(2, 8))
    return np.cumsum(rng.random(n_times) < 0.3).astype(np.int64)


def random_market(
    rng: np.random.Generator, shape: tuple[int, int], *, nan_share: float, day_pattern: str
) -> MarketArrays:
    open_, high, low, close = _ohlc(rng, shape)
    volume = np.round(rng.lognormal(8.0, 2.0, size=shape))
    volume[rng.random(shape) < 0.1] = 0.0
    gaps = _missing(rng, shape, nan_share)
    open_, high, low, close, volume = (
        np.where(gaps, np.nan, a) for a in (open_, high, low, close, volume)
    )
    atr = close * rng.uniform(0.002, 0.15, size=shape)
    adv = rng.lognormal(8.0, 2.0, size=shape)
    realized = rng.uniform(0.02, 1.0, size=shape)
    return MarketArrays(
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        atr=_with_warmup(rng, atr, gaps, 0.02),
        adv=_with_warmup(rng, adv, gaps, 0.05),
        realized_vol=_with_warmup(rng, realized, gaps, 0.02),
        day=_day_ids(rng, shape[0], day_pattern),
        fractional=rng.random(shape[1]) < 0.4,
    )


def random_signals(
    rng: np.random.Generator, shape: tuple[int, int], *, density: float, discrete: bool
) -> SignalArrays:
    odds = [density / 2, 1 - density, density / 2]
    direction = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=shape, p=odds)
    size = rng.uniform(0.2, 2.0, size=shape)
    size[rng.random(shape) < 0.03] = np.nan
    if discrete:
        score = rng.choice(np.array([0.0, -0.0, 0.5, 1.0, np.nan, np.inf]), size=shape)
    else:
        score = rng.normal(size=shape)
        score[rng.random(shape) < 0.1] = np.nan
    return SignalArrays(direction, rng.random(shape) < density / 3, size, score)


def _ladder(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    steps = draw(st.integers(0, 3))
    levels = st.sampled_from([0.5, 1.0, 1.5, 2.5])
    r_multiples = sorted(draw(st.lists(levels, min_size=steps, max_size=steps)))
    if steps > 0 and draw(st.booleans()):
        fractions = [1.0 / steps] * steps  # the ladder closes the whole position
    else:
        fractions = [draw(st.sampled_from([0.1, 0.25, 0.3])) for _ in range(steps)]
    return np.array(r_multiples, dtype=np.float64), np.array(fractions, dtype=np.float64)


_RATES = {0: [5.0, 0.0, 50.0], 1: [0.1, 0.0, 0.5], 2: [0.1, 0.0, 1.0]}
_FRACTIONS = {0: [0.2, 0.05, 0.5], 1: [0.01, 0.002, 0.05], 2: [0.15, 0.05, 0.4]}


@st.composite
def random_params(draw: st.DrawFn) -> EngineParams:
    slippage_model, sizing = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    scale_r, scale_fraction = _ladder(draw)
    return EngineParams(
        initial_cash=draw(st.sampled_from([100_000.0, 2_000.0, 1e7])),
        fill_at_close=draw(st.booleans()),
        slippage_model=slippage_model,
        slippage_rate=draw(st.sampled_from(_RATES[slippage_model])),
        commission_bps=draw(st.sampled_from([0.0, 1.0, 10.0])),
        commission_per_share=draw(st.sampled_from([0.0, 0.005])),
        commission_min=draw(st.sampled_from([0.0, 1.0])),
        participation_cap=draw(st.sampled_from([0.0, 0.25, 0.01])),
        sizing=sizing,
        sizing_fraction=draw(st.sampled_from(_FRACTIONS[sizing])),
        max_size=draw(st.sampled_from([0.3, 1.0, 0.05])),
        max_notional=draw(st.sampled_from([0.0, 5_000.0])),
        stop_atr=draw(st.sampled_from([1.0, 0.0, 2.5])),
        target_atr=draw(st.sampled_from([1.5, 0.0, 4.0])),
        trail_enabled=draw(st.booleans()),
        trail_atr=draw(st.sampled_from([1.0, 3.0])),
        trail_min_distance=draw(st.sampled_from([0.0, 0.03])),
        time_stop_bars=draw(st.sampled_from([0, 2, 10])),
        scale_r=scale_r,
        scale_fraction=scale_fraction,
        allow_short=draw(st.booleans()),
        max_positions=draw(st.sampled_from([3, 1, 6, 2, 0])),
        max_gross=draw(st.sampled_from([1.0, 2.0, 0.1])),
        kill_switch=draw(st.sampled_from([0.0, 0.005, 0.03])),
        kill_switch_flatten=draw(st.booleans()),
        profit_cap=draw(st.sampled_from([0.0, 0.005, 0.05])),
        max_drawdown=draw(st.sampled_from([0.0, 0.02, 0.2])),
        cooldown_bars=draw(st.sampled_from([0, 1, 3])),
    )


def _case(draw: st.DrawFn, shape: tuple[int, int]) -> Case:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    market = random_market(
        rng,
        shape,
        nan_share=draw(st.sampled_from([0.0, 0.05, 0.25])),
        day_pattern=draw(st.sampled_from(["daily", "intraday", "random"])),
    )
    signals = random_signals(
        rng,
        shape,
        density=draw(st.sampled_from([0.3, 0.05, 0.9])),
        discrete=draw(st.booleans()),
    )
    return Case(market, signals, draw(random_params()))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    n_times = draw(st.integers(20, 80) | st.integers(2, 19))
    return _case(draw, (n_times, draw(st.sampled_from([4, 6, 1, 2, 3, 5]))))


@st.composite
def wide_cases(draw: st.DrawFn) -> Case:
    # Past 8 and 128 symbols numpy's pairwise summation changes shape; so must ours.
    case = _case(draw, (draw(st.integers(2, 25)), draw(st.integers(9, 300))))
    return case._replace(params=case.params._replace(max_positions=draw(st.integers(5, 200))))


# -- kernel == reference ------------------------------------------------------------------


def assert_identical(kernel: SimOutput, reference: SimOutput) -> None:
    for name, got, expected in zip(SimOutput._fields, kernel, reference, strict=True):
        assert got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected, err_msg=name, strict=True)


@settings(max_examples=300)
@given(cases())
def test_kernel_equals_reference_bit_for_bit(case: Case) -> None:
    assert_identical(simulate_kernel(*case), simulate_reference(*case))


@settings(max_examples=25)
@given(wide_cases())
def test_kernel_equals_reference_on_wide_panels(case: Case) -> None:
    assert_identical(simulate_kernel(*case), simulate_reference(*case))


@pytest.mark.parametrize("shape", [(0, 3), (1, 3), (4, 0), (1, 1)])
def test_kernel_equals_reference_on_degenerate_shapes(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(5)
    market = random_market(rng, shape, nan_share=0.0, day_pattern="daily")
    signals = random_signals(rng, shape, density=0.9, discrete=False)
    params = _fixed_params()
    kernel = simulate_kernel(market, signals, params)
    reference = simulate_reference(market, signals, params)
    assert_identical(kernel, reference)
    assert kernel.trades.shape == (reference.trades.shape[0], len(TRADE_COLUMNS))
    assert kernel.warnings.shape == (len(WARNING_NAMES),)


def test_kernel_rejects_arrays_off_the_grid() -> None:
    rng = np.random.default_rng(2)
    market = random_market(rng, (5, 3), nan_share=0.0, day_pattern="daily")
    signals = random_signals(rng, (5, 3), density=0.5, discrete=False)
    short_day = market._replace(day=market.day[:4])
    narrow = signals._replace(score=signals.score[:, :2])
    ladder = _fixed_params()._replace(scale_fraction=np.array([0.5, 0.5]))
    for args in ((short_day, signals, _fixed_params()), (market, narrow, _fixed_params())):
        with pytest.raises(ValueError, match="time × symbols"):
            simulate_kernel(*args)
    with pytest.raises(ValueError, match="time × symbols"):
        simulate_kernel(market, signals, ladder)


def _fixed_params() -> EngineParams:
    return EngineParams(
        initial_cash=100_000.0,
        fill_at_close=True,
        slippage_model=0,
        slippage_rate=5.0,
        commission_bps=1.0,
        commission_per_share=0.0,
        commission_min=1.0,
        participation_cap=0.1,
        sizing=0,
        sizing_fraction=0.2,
        max_size=0.5,
        max_notional=0.0,
        stop_atr=2.0,
        target_atr=3.0,
        trail_enabled=True,
        trail_atr=2.0,
        trail_min_distance=0.0,
        time_stop_bars=5,
        scale_r=np.array([1.0]),
        scale_fraction=np.array([0.5]),
        allow_short=True,
        max_positions=3,
        max_gross=1.0,
        kill_switch=0.02,
        kill_switch_flatten=True,
        profit_cap=0.0,
        max_drawdown=0.0,
        cooldown_bars=1,
    )


# -- independent invariants ---------------------------------------------------------------


def _last_close(close: np.ndarray) -> np.ndarray:
    seen = np.where(np.isnan(close), 0, np.arange(close.shape[0])[:, None])
    filled = close[np.maximum.accumulate(seen, axis=0), np.arange(close.shape[1])]
    return np.where(np.isnan(filled), 0.0, filled)


def check_marks(case: Case, out: SimOutput) -> None:
    values = out.positions * _last_close(case.market.close)
    scale = case.params.initial_cash + np.abs(values).sum(axis=1)
    expected = out.cash + values.sum(axis=1)
    np.testing.assert_allclose(out.equity, expected, rtol=0, atol=1e-9 * scale.max())
    np.testing.assert_allclose(out.gross, np.abs(values).sum(axis=1), rtol=1e-12, atol=1e-9)


def check_pnl_adds_up(case: Case, out: SimOutput) -> None:
    if out.equity.size == 0:
        return
    total = out.trades[:, TRADE["pnl"]].sum()
    assert total == pytest.approx(out.equity[-1] - case.params.initial_cash, abs=1e-6, rel=1e-12)
    open_rows = out.trades[out.trades[:, TRADE["exit_reason"]] == int(ExitReason.OPEN)]
    assert np.array_equal(np.sort(open_rows[:, TRADE["symbol"]]), np.flatnonzero(out.positions[-1]))


def check_fills_have_prices(case: Case, out: SimOutput) -> None:
    bars = out.fills[:, FILL["bar"]].astype(np.int64)
    symbols = out.fills[:, FILL["symbol"]].astype(np.int64)
    # Whole bars are missing in these markets, so a fill on a missing bar shows in the close.
    assert not np.isnan(case.market.close[bars, symbols]).any()
    assert np.isfinite(out.fills[:, FILL["price"]]).all()
    assert (out.fills[:, FILL["qty"]] > 0).all()


def check_entries_follow_signals(case: Case, out: SimOutput) -> None:
    entries = out.fills[out.fills[:, FILL["reason"]] == ENTRY_REASON]
    bars = entries[:, FILL["bar"]].astype(np.int64)
    symbols = entries[:, FILL["symbol"]].astype(np.int64)
    decided = bars if case.params.fill_at_close else bars - 1
    assert (decided >= 0).all()
    assert np.array_equal(case.signals.direction[decided, symbols], entries[:, FILL["side"]])


def check_gross_cap_at_close_fills(case: Case, out: SimOutput) -> None:
    # Provable for close fills only: entries fill at the close they were sized on, so after
    # the fills gross <= max_gross x (the equity they were sized on, before fees and slippage).
    if not case.params.fill_at_close:
        return
    held_without_price = (out.positions != 0) & np.isnan(case.market.close)
    for t in np.unique(out.fills[out.fills[:, FILL["reason"]] == ENTRY_REASON, FILL["bar"]]):
        bar = int(t)
        if held_without_price[bar].any():
            continue
        at_bar = out.fills[out.fills[:, FILL["bar"]] == bar]
        costs = at_bar[:, FILL["fee"]].sum() + at_bar[:, FILL["slippage"]].sum()
        sized_on = out.equity[bar] + costs
        assert out.gross[bar] <= case.params.max_gross * sized_on * (1 + 1e-9) + 1e-9


@settings(max_examples=150)
@given(cases())
def test_invariants_hold(case: Case) -> None:
    out = simulate_kernel(*case)
    check_marks(case, out)
    check_pnl_adds_up(case, out)
    check_fills_have_prices(case, out)
    check_entries_follow_signals(case, out)
    check_gross_cap_at_close_fills(case, out)
    trades = out.trades
    assert (trades[:, TRADE["exit_bar"]] >= trades[:, TRADE["entry_bar"]]).all()
    assert (trades[:, TRADE["qty"]] > 0).all()


# -- the kernel's own building blocks against numpy ---------------------------------------


@settings(max_examples=200)
@given(st.integers(0, 3000), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.5, 0.95, 1.0]))
def test_sparse_pairwise_sum_equals_numpy_sum(n: int, seed: int, zero_share: float) -> None:
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=n) * 10.0 ** rng.uniform(-3, 6, size=n)
    dense[rng.random(n) < zero_share] = 0.0
    index = np.flatnonzero(dense)
    work = _SumWork(np.zeros((256, 5), dtype=np.int64), np.zeros(256), np.zeros(8))
    got = _pairwise_nb(dense[index], index, index.size, n, work)
    assert got == float(dense.sum())


@settings(max_examples=200)
@given(
    st.lists(st.sampled_from([0.0, -0.0, 1.0, -2.5, np.nan, np.inf, -np.inf]), max_size=200),
    st.integers(0, 2**32 - 1),
)
def test_rank_equals_stable_argsort_of_negated_scores(values: list[float], seed: int) -> None:
    score = np.array(values, dtype=np.float64)
    score[np.random.default_rng(seed).random(score.size) < 0.3] = 0.25
    items = np.arange(score.size, dtype=np.int64)
    _rank_nb(items, np.zeros(score.size, dtype=np.int64), score.size, score)
    np.testing.assert_array_equal(items, np.argsort(-score, kind="stable"))
