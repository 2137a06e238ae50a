"""Typed parameters of the built-in strategies: the ``strategies`` section of the config.

Each strategy reads its own slice (``config.strategies.panic``, …) plus the shared sections
it names in its docs (``signals``, ``bayesian``, ``composer``, ``regimes``, risk). Change them
like any key: ``--set strategies.panic.contrarian=false``.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from harvester.config.base import Section

__all__ = [
    "ComposerStrategyConfig",
    "ConsensusStrategyConfig",
    "PanicStrategyConfig",
    "RallyStrategyConfig",
    "StrategiesConfig",
]


class PanicStrategyConfig(Section):
    """Harvester II: contrarian entries on a high Panic Score among crowd-reactive assets.

    ``cri_threshold``: tradable when CRI ≥ it (spec 0.4); None reads ``universe.cri_threshold``.
    ``cri_window``: bars of the CRI correlation. ``contrarian``: buy sharp drops and sell
    sharp rises (False: follow the move). ``return_lookback``: bars of the return whose sign
    is the move. ``g_score_halving``: G-Score at which the size multiplier halves (spec 2).
    ``g_score_factor``: the multiplier then (spec 0.5). ``hmm_refit_every``: bars between
    walk-forward HMM refits. ``hmm_min_train``: observed bars a symbol needs to be fitted.
    ``hmm_n_iter``: EM iterations per refit.
    """

    cri_threshold: float | None = Field(None, ge=-1.0, le=1.0)
    cri_window: int = Field(20, ge=3)
    contrarian: bool = True
    return_lookback: int = Field(3, ge=1)
    g_score_halving: int = Field(2, ge=0, le=3)
    g_score_factor: float = Field(0.5, ge=0.0, le=1.0)
    hmm_refit_every: int = Field(252, ge=1)
    hmm_min_train: int = Field(126, ge=10)
    hmm_n_iter: int = Field(100, ge=1)


class ComposerStrategyConfig(Section):
    """Composer: momentum, mean reversion and breakout blended by regime weights.

    Base scores (each in [-1, 1]): momentum ``tanh((SMA(momentum_fast) −
    SMA(momentum_lookback)) / (momentum_scale · σ))``, σ the population std of the closes
    over ``momentum_lookback``; mean reversion ``−clip(z / mean_reversion_z, −1, 1)``, z the
    ``mean_reversion_lookback`` z-score; breakout: the close's position in the
    ``breakout_lookback`` high/low channel, 0 inside the middle and rising to ±1 over the
    outer ``breakout_zone`` of each half. ``w_<regime>_<strategy>``: the softmax logits per
    rule regime (neutral also serves bars whose regime is still unknown when
    ``unknown_as_neutral``). Entry when ``|blend| ≥ entry_threshold``; a long exits when the
    blend falls below ``exit_threshold``, a short when it rises above ``−exit_threshold``.
    """

    momentum_fast: int = Field(10, ge=1)
    momentum_lookback: int = Field(20, ge=2)
    momentum_scale: float = Field(0.5, gt=0.0)
    mean_reversion_lookback: int = Field(20, ge=2)
    mean_reversion_z: float = Field(2.0, gt=0.0)
    breakout_lookback: int = Field(20, ge=2)
    breakout_zone: float = Field(0.2, gt=0.0, le=1.0)
    w_trend_momentum: float = 2.0
    w_trend_mean_reversion: float = 0.0
    w_trend_breakout: float = 1.0
    w_chop_momentum: float = 0.0
    w_chop_mean_reversion: float = 2.0
    w_chop_breakout: float = 0.0
    w_volatile_momentum: float = 1.0
    w_volatile_mean_reversion: float = 1.0
    w_volatile_breakout: float = 1.0
    w_neutral_momentum: float = 1.0
    w_neutral_mean_reversion: float = 1.0
    w_neutral_breakout: float = 1.0
    unknown_as_neutral: bool = True
    entry_threshold: float = Field(0.3, gt=0.0, le=1.0)
    exit_threshold: float = Field(0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> ComposerStrategyConfig:
        if self.exit_threshold >= self.entry_threshold:
            raise ValueError("exit_threshold must be below entry_threshold")
        if self.momentum_fast >= self.momentum_lookback:
            raise ValueError("momentum_fast must be shorter than momentum_lookback")
        return self


class RallyStrategyConfig(Section):
    """Rally: calibrated P(rally) from walk-forward logistic regression.

    ``named_config`` picks a row of the spec's table (``baseline``, ``conservative``,
    ``aggressive``, ``concentrated``); ``p_threshold``, ``comp_threshold`` and ``max_size``
    left at ``None`` take that row's values. ``r_up`` / ``d_dn`` at ``None`` are calibrated
    per asset and fold from historical volatility (see docs/strategy-rally.md).
    """

    named_config: str = "baseline"
    p_threshold: float | None = Field(None, ge=0.0, le=1.0)
    comp_threshold: float | None = Field(None, ge=0.0, le=1.0)
    max_size: float | None = Field(None, gt=0.0, le=10.0)
    horizon: int = Field(10, ge=1)  # spec forward_horizon
    atr_period: int = Field(20, ge=1)  # spec atr_period (simple-mean ATR)
    r_up: float | None = Field(None, gt=0.0)  # None: auto-calibrated
    d_dn: float | None = Field(None, gt=0.0)  # None: auto-calibrated
    train_years: float = Field(2.0, gt=0.0)  # spec 5; 2 so the 5-year sample has test folds
    test_years: float = Field(1.0, gt=0.0)  # spec walk_forward_test_years
    bars_per_year: int = Field(252, ge=1)
    embargo_bars: int = Field(0, ge=0)  # extra purge after the label horizon
    calibration_fraction: float = Field(0.25, gt=0.0, lt=1.0)  # latest training share
    regularization_c: float = Field(1.0, gt=0.0)
    max_train_rows: int = Field(200_000, ge=100)
    hmm_states: int = Field(3, ge=2)
    hmm_n_iter: int = Field(100, ge=1)  # spec hmm_n_iter
    rv_period: int = Field(20, ge=2)  # spec rv_period
    rv_exhaustion_pct: float = Field(0.80, ge=0.0, le=1.0)  # spec rv_exit_pct
    seed: int = 0


class ConsensusStrategyConfig(Section):
    """Python brain (daily bars): a buy needs N of the sources positive.

    Four sources vote +1 / −1 / 0 per bar and symbol: news sentiment, momentum, technical
    (RSI, MACD, chart patterns) and microstructure (Z-score mean reversion). A buy needs
    ``min_sources`` positive votes (``rules/consensus.py``), at most ``max_negative_sources``
    negative ones (None: no limit) and more positive than negative votes; a sell mirrors it.
    Spec names in capitals; see docs/strategy-consensus.md for which defaults are the
    spec's and which are this project's choice.
    """

    min_sources: int = Field(2, ge=1)
    max_negative_sources: int | None = Field(None, ge=0)
    allow_short: bool = False
    """Short on a sell consensus (the spec is long-only: "when shorts are added")."""
    sentiment_threshold: float = Field(0.05, ge=0.0, le=1.0)
    """News votes +1 above it, −1 below minus it; NaN / no ``sentiment`` field abstains."""
    momentum_lookback: int = Field(10, ge=1)
    momentum_threshold: float = Field(0.0, ge=0.0)
    """Momentum votes on the ``momentum_lookback``-bar return beyond ± this fraction."""
    use_technical_indicators: bool = True
    """``USE_TECHNICAL_INDICATORS``: the technical source (RSI score)."""
    rsi_period: int = Field(14, ge=2)
    use_macd: bool = True
    """``USE_MACD``: add the MACD score to the technical source."""
    use_patterns: bool = True
    """``USE_PATTERNS``: add the chart patterns to the technical source."""
    pattern_weight: float = Field(0.5, ge=0.0)
    technical_threshold: float = Field(0.2, ge=0.0, le=1.0)
    use_zscore_mean_reversion: bool = True
    """``USE_ZSCORE_MEAN_REVERSION``: the microstructure source."""
    zscore_period: int = Field(20, ge=2)
    """``ZSCORE_PERIOD``."""
    zscore_mean_reversion_buy: float = Field(-2.0, le=0.0)
    """``ZSCORE_MEAN_REVERSION_BUY``: z at or below it votes +1; at or above minus it, −1."""
    use_vwap_anchor: bool = True
    """``USE_VWAP_ANCHOR``: no long entry while the close is extended above its VWAP."""
    vwap_lookback: int = Field(20, ge=1)
    """``VWAP_LOOKBACK``."""
    vwap_mean_reversion_pct: float = Field(2.0, ge=0.0)
    """``VWAP_MEAN_REVERSION_PCT``: the extension (percent) above which longs wait."""
    spy_200ma_regime_enabled: bool = True
    """``SPY_200MA_REGIME_ENABLED``: the benchmark 200-day filter (``regimes`` period)."""
    spy_below_200ma_z_tighten: float = Field(-2.8, le=0.0)
    """``SPY_BELOW_200MA_Z_TIGHTEN``: the long z entry while the benchmark is below."""
    spy_below_200ma_long_size_multiplier: float = Field(0.5, ge=0.0)
    """``SPY_BELOW_200MA_LONG_SIZE_MULTIPLIER``."""


class StrategiesConfig(Section):
    """The built-in strategies' parameters, one slice each."""

    panic: PanicStrategyConfig = PanicStrategyConfig()
    composer: ComposerStrategyConfig = ComposerStrategyConfig()
    rally: RallyStrategyConfig = RallyStrategyConfig()
    consensus: ConsensusStrategyConfig = ConsensusStrategyConfig()
