"""On the synthetic market the filtered HMM state tracks the generator's true regime path.

Features, all known at the close of bar t: the benchmark's daily log return and the log of
the cross-sectional standard deviation of the symbols' daily log returns (market-wide
dispersion, which scales with the regime like every volatility in the generator). States are
ordered by the variance of the first feature, a return, so no label matching is needed.
"""

from __future__ import annotations

import numpy as np
import pytest

from harvester.core.types import FloatArray, IntArray
from harvester.regimes.hmm import filter_probabilities, fit_batched, most_likely_filtered_state
from harvester.testing import SyntheticParams, generate_market

PANIC = 2


@pytest.fixture(scope="module")
def market() -> tuple[FloatArray, FloatArray, IntArray]:
    """(symbol log returns (time, symbols), benchmark log returns (time,), true regimes)."""
    generated = generate_market(SyntheticParams(symbols=30, years=10, seed=11))
    close = generated.panel.array("close")
    benchmark = np.asarray(generated.panel.aux["benchmark"], dtype=np.float64)
    regimes = generated.regimes.to_numpy().astype(np.int64)
    return np.diff(np.log(close), axis=0), np.diff(np.log(benchmark)), regimes[1:]


def _market_features(returns: FloatArray, benchmark: FloatArray) -> FloatArray:
    dispersion = np.log(np.nanstd(returns, axis=1))
    return np.stack([benchmark, dispersion], axis=1)[None]


def _onsets(regimes: IntArray) -> IntArray:
    starts = np.flatnonzero((regimes[1:] == PANIC) & (regimes[:-1] != PANIC)) + 1
    return starts[(starts >= 10) & (starts + 3 <= regimes.size)]


def test_filtered_state_matches_true_regimes(
    market: tuple[FloatArray, FloatArray, IntArray],
) -> None:
    returns, benchmark, regimes = market
    x = _market_features(returns, benchmark)
    accuracy = float((most_likely_filtered_state(fit_batched(x), x)[0] == regimes).mean())
    alone = benchmark[None, :, None]
    accuracy_return = float(
        (most_likely_filtered_state(fit_batched(alone), alone)[0] == regimes).mean()
    )
    print(f"\nfiltered-state accuracy, benchmark return + dispersion: {accuracy:.1%}")
    print(f"filtered-state accuracy, benchmark return alone: {accuracy_return:.1%}")
    assert accuracy >= 0.80


def test_fit_on_training_window_tracks_regimes_out_of_sample(
    market: tuple[FloatArray, FloatArray, IntArray],
) -> None:
    """Fit on the first 60 % of bars only, filter everything, score the last 40 %."""
    returns, benchmark, regimes = market
    x = _market_features(returns, benchmark)
    split = int(0.6 * x.shape[1])
    states = most_likely_filtered_state(fit_batched(x[:, :split]), x)[0]
    accuracy = float((states[split:] == regimes[split:]).mean())
    print(f"\nout-of-sample filtered-state accuracy (fit on first 60 %): {accuracy:.1%}")
    assert accuracy >= 0.80


def test_batched_per_symbol_fit_matches_true_regimes(
    market: tuple[FloatArray, FloatArray, IntArray],
) -> None:
    returns, _, regimes = market
    dispersion = np.log(np.nanstd(returns, axis=1))
    x = np.stack([returns.T, np.broadcast_to(dispersion, returns.T.shape)], axis=2)
    per_symbol = (most_likely_filtered_state(fit_batched(x), x) == regimes[None]).mean(axis=1)
    own = returns.T[:, :, None]
    own_only = (most_likely_filtered_state(fit_batched(own), own) == regimes[None]).mean(axis=1)
    print(
        f"\nper-symbol accuracy, own return + dispersion: mean {per_symbol.mean():.1%}, "
        f"min {per_symbol.min():.1%}"
    )
    print(
        f"per-symbol accuracy, own return alone: mean {own_only.mean():.1%}, "
        f"min {own_only.min():.1%}"
    )
    assert per_symbol.min() >= 0.80


def test_panic_probability_rises_at_panic_onsets(
    market: tuple[FloatArray, FloatArray, IntArray],
) -> None:
    """Mean p(panic) over the onset bar and the next two exceeds the mean of the 10 bars before."""
    returns, benchmark, regimes = market
    x = _market_features(returns, benchmark)
    panic = filter_probabilities(fit_batched(x), x)[0, :, PANIC]
    onsets = _onsets(regimes)
    after = np.array([panic[t : t + 3].mean() for t in onsets])
    before = np.array([panic[t - 10 : t].mean() for t in onsets])
    rises = after > before
    print(
        f"\npanic onsets: {onsets.size}, p(panic) rises at {rises.mean():.0%} of them; "
        f"mean before {before.mean():.3f}, mean after {after.mean():.3f}"
    )
    assert onsets.size >= 5
    assert rises.all()
