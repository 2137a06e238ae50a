"""A deterministic synthetic market: regimes, a market factor, OHLCV, attention, VIX and oil.

The generator draws a hidden regime path (0 = calm, 1 = volatile, 2 = panic) from a Markov
chain, a market factor whose drift and volatility depend on the regime, and per-symbol
returns ``beta_i * market + regime-scaled idiosyncratic noise + jumps``. From the returns it
builds OHLCV bars, an attention index (Google-Trends-like, 0..100) for a share of the symbols,
and market-wide ``vix``, ``oil`` and ``benchmark`` series. Everything is a function of
:class:`SyntheticParams` alone: the same parameters give a bit-for-bit identical Panel.

Each random component draws from its own child stream of ``np.random.default_rng(seed)``, and
per-symbol draws are taken symbol by symbol, so symbol ``SYN003`` has the same data whether
the market has 5 symbols or 500 (for the same seed, years, start and calendar).

Examples
--------
>>> market = generate_market(parse_synthetic_spec("symbols=3,years=1,seed=1"))
>>> market.panel.shape, market.panel.symbols
((253, 3), ('SYN000', 'SYN001', 'SYN002'))
>>> sorted(market.panel.aux)
['benchmark', 'oil', 'vix']
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.data.calendars import sessions
from harvester.data.panel import Panel, SymbolMeta
from harvester.data.synthetic_params import Pair, SyntheticParams, Triple, parse_synthetic_spec

__all__ = [
    "REGIME_NAMES",
    "SyntheticMarket",
    "SyntheticParams",
    "generate_market",
    "parse_synthetic_spec",
]

REGIME_NAMES: tuple[str, str, str] = ("calm", "volatile", "panic")

RegimeArray = npt.NDArray[np.int8]


# -- generation ----------------------------------------------------------------------------

_ATTENTION_CENTRE = 50.0
_BENCHMARK_START = 100.0
# Share of yesterday's VIX level kept each session: the index moves most of the way to a new
# regime's level within three sessions instead of jumping with it, as implied volatility does.
_VIX_SMOOTHING = 0.5
# Daily log-noise of VIX around its regime level, with AR(1) persistence: a stationary
# wobble of about 9 percent, so calm days are not all the same number.
_VIX_NOISE = 0.04
_VIX_NOISE_PERSISTENCE = 0.9
# Longer than any run of closed days on the supported calendars (weekends plus holidays).
_CALENDAR_MARGIN = pd.Timedelta(days=10)


@dataclass(frozen=True, slots=True, eq=False)
class SyntheticMarket:
    """A generated market together with the hidden truth behind it.

    Attributes
    ----------
    panel : Panel
        Fields ``open``, ``high``, ``low``, ``close``, ``volume`` and ``attention`` (NaN for
        symbols without attention data); aux series ``vix``, ``oil`` and ``benchmark``.
    regimes : pandas.Series
        The hidden regime per session as ``int8`` codes into :data:`REGIME_NAMES`, on the
        panel's index, named ``"regime"``.
    params : SyntheticParams
        The parameters that generated this market.
    """

    panel: Panel
    regimes: pd.Series
    params: SyntheticParams


class _Streams(NamedTuple):
    regime: np.random.Generator
    market: np.random.Generator
    vix: np.random.Generator
    oil: np.random.Generator
    profile: np.random.Generator
    noise: np.random.Generator
    jump_times: np.random.Generator
    jump_sizes: np.random.Generator
    bars: np.random.Generator
    volume: np.random.Generator
    attention: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> _Streams:
        # One child stream per component, so how one component draws never shifts the numbers
        # another one sees. Add new streams at the end to keep old markets unchanged.
        return cls(*np.random.default_rng(seed).spawn(len(cls._fields)))


class _Profiles(NamedTuple):
    beta: FloatArray
    idio_vol: FloatArray
    start_price: FloatArray
    base_volume: FloatArray
    has_attention: npt.NDArray[np.bool_]


class _Returns(NamedTuple):
    log_return: FloatArray
    regime_vol: FloatArray


def _symbol_grid(draw: Callable[..., FloatArray], shape: tuple[int, int]) -> FloatArray:
    # Draw symbol by symbol, so a symbol's numbers do not depend on how many symbols follow.
    n_times, n_symbols = shape
    return np.ascontiguousarray(draw((n_symbols, n_times)).T)


def _by_regime(values: tuple[float, ...], regimes: RegimeArray) -> FloatArray:
    return np.asarray(values, dtype=np.float64)[regimes]


def _ar1(innovations: FloatArray, phi: float, *, initial: FloatArray) -> FloatArray:
    # a_t = phi * a_{t-1} + e_t, column by column, starting from a_{-1} = initial. An
    # exponentially weighted mean y_t = phi * y_{t-1} + (1 - phi) * x_t with x = e / (1 - phi)
    # is the same recursion, and pandas runs it in compiled code over all columns at once.
    stacked = np.vstack([initial.reshape(1, -1), innovations / (1.0 - phi)])
    smoothed = pd.DataFrame(stacked).ewm(alpha=1.0 - phi, adjust=False).mean()
    return np.asarray(smoothed.to_numpy()[1:], dtype=np.float64)


def _session_index(params: SyntheticParams) -> pd.DatetimeIndex:
    start = pd.Timestamp(params.start)
    end = start + pd.DateOffset(years=params.years) - pd.Timedelta(days=1)
    # Ask for a margin on both sides: sessions there prove the calendar covers the whole span
    # instead of silently cutting it at the calendar library's first or last day.
    around = sessions(params.calendar, start - _CALENDAR_MARGIN, end + _CALENDAR_MARGIN)
    if len(around) == 0 or around[0] >= start or around[-1] <= end:
        raise ConfigError(
            f"synthetic market: {params.years} years from {params.start} fall outside the "
            f"{params.calendar!r} calendar's range; choose fewer years or another start"
        )
    return around[(around >= start) & (around <= end)]


def _transition_matrix(persistence: Triple) -> FloatArray:
    distance = np.abs(np.subtract.outer(np.arange(3), np.arange(3)))
    # Leaving a regime lands in the nearer one twice as often as in the farther one: markets
    # seldom go from calm straight to panic, or back.
    weights = np.where(distance > 0, 1.0 / np.maximum(distance, 1), 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    stay = np.asarray(persistence, dtype=np.float64)
    return np.asarray(np.diag(stay) + (1.0 - stay)[:, None] * weights, dtype=np.float64)


def _regime_path(persistence: Triple, n_times: int, *, rng: np.random.Generator) -> RegimeArray:
    thresholds = [np.cumsum(row)[:-1].tolist() for row in _transition_matrix(persistence)]
    path = np.zeros(n_times, dtype=np.int8)
    state = 0  # every path starts calm, as a market at rest
    for t, draw in enumerate(rng.random(max(n_times - 1, 0)).tolist(), start=1):
        state = bisect.bisect_right(thresholds[state], draw)
        path[t] = state
    return path


def _market_returns(
    params: SyntheticParams, regimes: RegimeArray, *, rng: np.random.Generator
) -> FloatArray:
    vol = params.market_vol * _by_regime(params.vol_multipliers, regimes)
    shocks = rng.standard_normal(len(regimes))
    return _by_regime(params.market_drift, regimes) + vol * shocks


def _attention_mask(n_symbols: int, share: float) -> npt.NDArray[np.bool_]:
    # Spread attentive symbols evenly from SYN000 on: ceil(share * n) of them, and adding
    # symbols never changes whether an earlier one has attention data.
    position = np.arange(n_symbols)
    return np.asarray(np.ceil((position + 1) * share) > np.ceil(position * share))


def _draw_profiles(params: SyntheticParams, rng: np.random.Generator) -> _Profiles:
    draws = rng.random((params.symbols, 4))

    def spread(column: int, bounds: Pair, *, log: bool = False) -> FloatArray:
        low, high = (math.log(b) for b in bounds) if log else bounds
        values = low + (high - low) * draws[:, column]
        return np.exp(values) if log else values

    return _Profiles(
        beta=spread(0, params.beta_range),
        idio_vol=spread(1, params.idio_vol_range),
        start_price=spread(2, params.price_range, log=True),
        base_volume=spread(3, params.volume_range, log=True),
        has_attention=_attention_mask(params.symbols, params.attention_share),
    )


def _jumps(params: SyntheticParams, regimes: RegimeArray, *, streams: _Streams) -> FloatArray:
    shape = (len(regimes), params.symbols)
    happens = _symbol_grid(streams.jump_times.random, shape)
    sizes = _symbol_grid(streams.jump_sizes.standard_normal, shape)
    probability = _by_regime(params.jump_prob, regimes)[:, None]
    scale = _by_regime(params.jump_size, regimes)[:, None]
    return np.where(happens < probability, scale * sizes, 0.0)


def _symbol_returns(
    params: SyntheticParams,
    regimes: RegimeArray,
    *,
    market: FloatArray,
    profiles: _Profiles,
    streams: _Streams,
) -> _Returns:
    multiplier = _by_regime(params.vol_multipliers, regimes)[:, None]
    noise = _symbol_grid(streams.noise.standard_normal, (len(regimes), params.symbols))
    idiosyncratic = profiles.idio_vol * multiplier * noise
    log_return = (
        profiles.beta * market[:, None] + idiosyncratic + _jumps(params, regimes, streams=streams)
    )
    regime_vol = np.hypot(profiles.beta * params.market_vol, profiles.idio_vol) * multiplier
    return _Returns(log_return, regime_vol)


def _bars(
    params: SyntheticParams, returns: _Returns, *, profiles: _Profiles, rng: np.random.Generator
) -> dict[str, FloatArray]:
    n_times, n_symbols = returns.log_return.shape
    close = profiles.start_price * np.exp(np.cumsum(returns.log_return, axis=0))
    previous = np.vstack([profiles.start_price.reshape(1, -1), close[:-1]])
    draws = rng.standard_normal((n_symbols, 3, n_times))
    gap, up, down = (np.ascontiguousarray(draws[:, k, :].T) for k in range(3))
    open_ = previous * np.exp(params.gap_scale * returns.regime_vol * gap)
    reach = params.range_scale * returns.regime_vol
    high = np.maximum(open_, close) * np.exp(reach * np.abs(up))
    low = np.minimum(open_, close) * np.exp(-reach * np.abs(down))
    return {"open": open_, "high": high, "low": low, "close": close}


def _standardised_magnitude(log_return: FloatArray) -> FloatArray:
    magnitude = np.abs(log_return)
    spread: FloatArray = magnitude.std(axis=0)
    centred: FloatArray = magnitude - magnitude.mean(axis=0)
    return centred / np.where(spread > 0, spread, 1.0)


def _mix(signal: FloatArray, noise: FloatArray, *, correlation: float) -> FloatArray:
    # Unit-variance signal and noise give a unit-variance mix correlated `correlation` with signal.
    return correlation * signal + math.sqrt(1.0 - correlation**2) * noise


def _volume(
    params: SyntheticParams,
    regimes: RegimeArray,
    *,
    magnitude: FloatArray,
    profiles: _Profiles,
    rng: np.random.Generator,
) -> FloatArray:
    noise = _symbol_grid(rng.standard_normal, magnitude.shape)
    shock = params.volume_vol * _mix(magnitude, noise, correlation=params.volume_corr)
    stress = _by_regime(params.volume_stress, regimes)[:, None]
    log_volume = np.log(profiles.base_volume) + stress + shock
    # Shares trade in whole units; at least one keeps log-volume features finite.
    return np.maximum(np.rint(np.exp(log_volume)), 1.0)


def _attention(
    params: SyntheticParams, magnitude: FloatArray, *, profiles: _Profiles, rng: np.random.Generator
) -> FloatArray:
    n_times, n_symbols = magnitude.shape
    draws = _symbol_grid(rng.standard_normal, (n_times + 1, n_symbols))
    columns = profiles.has_attention
    phi = params.attention_persistence
    innovation = _mix(magnitude[:, columns], draws[1:, columns], correlation=params.attention_corr)
    # Start from the stationary spread of the level (variance 1 / (1 - phi^2) for unit
    # innovations) so the first sessions need no warm-up.
    level = _ar1(innovation, phi, initial=draws[0, columns] / math.sqrt(1.0 - phi**2))
    attention = np.full((n_times, n_symbols), np.nan)
    attention[:, columns] = np.clip(_ATTENTION_CENTRE + params.attention_scale * level, 0, 100)
    return attention


def _vix(
    params: SyntheticParams,
    regimes: RegimeArray,
    *,
    periods_per_year: float,
    rng: np.random.Generator,
) -> FloatArray:
    regime_vol = params.market_vol * _by_regime(params.vol_multipliers, regimes)
    target = np.log(100.0 * params.vix_premium * regime_vol * math.sqrt(periods_per_year))
    smoothed = _ar1((1.0 - _VIX_SMOOTHING) * target[:, None], _VIX_SMOOTHING, initial=target[:1])
    shocks = _VIX_NOISE * rng.standard_normal((len(regimes), 1))
    noise = _ar1(shocks, _VIX_NOISE_PERSISTENCE, initial=np.zeros(1))
    return np.asarray(np.exp(smoothed + noise).ravel(), dtype=np.float64)


def _oil(params: SyntheticParams, market: FloatArray, *, rng: np.random.Generator) -> FloatArray:
    shocks, sizes = rng.standard_normal((2, len(market)))
    jumps = np.where(rng.random(len(market)) < params.oil_jump_prob, sizes, 0.0)
    log_return = params.oil_beta * market + params.oil_vol * shocks + params.oil_jump_size * jumps
    path: FloatArray = np.exp(np.cumsum(log_return))
    return params.oil_start * path


def _aux(
    params: SyntheticParams,
    regimes: RegimeArray,
    *,
    market: FloatArray,
    streams: _Streams,
) -> dict[str, FloatArray]:
    periods_per_year = len(regimes) / params.years
    return {
        "vix": _vix(params, regimes, periods_per_year=periods_per_year, rng=streams.vix),
        "oil": _oil(params, market, rng=streams.oil),
        "benchmark": _BENCHMARK_START * np.exp(np.cumsum(market)),
    }


def _fields(
    params: SyntheticParams, regimes: RegimeArray, *, market: FloatArray, streams: _Streams
) -> dict[str, FloatArray]:
    profiles = _draw_profiles(params, streams.profile)
    returns = _symbol_returns(params, regimes, market=market, profiles=profiles, streams=streams)
    magnitude = _standardised_magnitude(returns.log_return)
    return {
        **_bars(params, returns, profiles=profiles, rng=streams.bars),
        "volume": _volume(
            params, regimes, magnitude=magnitude, profiles=profiles, rng=streams.volume
        ),
        "attention": _attention(params, magnitude, profiles=profiles, rng=streams.attention),
    }


def generate_market(params: SyntheticParams | None = None) -> SyntheticMarket:
    """Generate the synthetic market described by ``params`` (the defaults when ``None``).

    Parameters
    ----------
    params
        The knobs; build them directly or with :func:`parse_synthetic_spec`.

    Returns
    -------
    SyntheticMarket
        The panel, the hidden regime path and the parameters.

    Raises
    ------
    ConfigError
        When the calendar is unknown or ``years`` from ``start`` leave its range.
    """
    params = SyntheticParams() if params is None else params
    index = _session_index(params)
    streams = _Streams.from_seed(params.seed)
    regimes = _regime_path(params.regime_persistence, len(index), rng=streams.regime)
    market = _market_returns(params, regimes, rng=streams.market)
    symbols = tuple(f"SYN{i:03d}" for i in range(params.symbols))
    panel = Panel(
        index,
        symbols,
        _fields(params, regimes, market=market, streams=streams),
        aux=_aux(params, regimes, market=market, streams=streams),
        meta={s: SymbolMeta("equity", name=f"Synthetic equity {s}") for s in symbols},
    )
    return SyntheticMarket(panel, pd.Series(regimes, index=index, name="regime"), params)
