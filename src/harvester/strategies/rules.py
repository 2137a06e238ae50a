"""The Python brain's rules as small, pure, vectorised objects.

Each rule is a frozen dataclass holding its parameters; its methods take arrays of any
leading shape — the whole (time × symbols) panel, one row of symbols for an incremental
consumer, or a single value — and return arrays of the broadcast shape. No state, no
look-back: every input is already a causal value at the decision bar, so one row computed
alone equals that row of the panel.

A vote is a float array of +1 (for), −1 (against) and 0 (abstain). Votes of several sources
are stacked on the *last* axis for :class:`ConsensusRule` (``np.stack(votes, axis=-1)``).

:class:`BrainRules` composes the rules into the whole decision, from source values to
direction, exit, size and score: the one decision core the daily strategy
(:mod:`harvester.strategies.consensus`) and a stream consumer share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from harvester.core.types import BoolArray, FloatArray
from harvester.regimes.market_filter import market_filter_adjustment

__all__ = [
    "SOURCES",
    "BrainDecision",
    "BrainInputs",
    "BrainRules",
    "ConsensusRule",
    "MarketFilterRule",
    "TechnicalRule",
    "ThresholdVoteRule",
    "VwapRule",
    "ZScoreRule",
]

SOURCES: tuple[str, ...] = ("news", "momentum", "technical", "microstructure")
"""The voting sources, in the order :class:`BrainRules` stacks their votes."""


def _array(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ThresholdVoteRule:
    """Vote +1 where the value is above ``threshold``, −1 below ``-threshold``, else 0.

    NaN (no data) abstains. With ``threshold=0`` the vote is the value's sign.
    """

    threshold: float = 0.0

    def vote(self, value: npt.ArrayLike) -> FloatArray:
        """Return the votes for ``value``."""
        x = _array(value)
        with np.errstate(invalid="ignore"):
            up = x > self.threshold
            down = x < -self.threshold
        return up.astype(np.float64) - down.astype(np.float64)


@dataclass(frozen=True, slots=True)
class TechnicalRule:
    """The technical source: RSI and MACD scores plus chart patterns, as one vote.

    ``score = mean(available RSI and MACD scores) + pattern_weight · (bullish − bearish)``,
    clipped to [−1, 1]; ``bullish`` counts the inverse head and shoulders and the bull flag,
    ``bearish`` the double top and the bear flag (NaN counts as no pattern). The score is NaN
    when neither RSI nor MACD score is known; it votes through a :class:`ThresholdVoteRule`.
    """

    pattern_weight: float = 0.5
    threshold: float = 0.2

    def score(
        self,
        rsi_score: npt.ArrayLike,
        macd_score: npt.ArrayLike,
        bullish: npt.ArrayLike,
        bearish: npt.ArrayLike,
    ) -> FloatArray:
        """Return the technical score in [−1, 1] (NaN without RSI and MACD)."""
        parts = np.broadcast_arrays(_array(rsi_score), _array(macd_score))
        known = sum((~np.isnan(p)).astype(np.float64) for p in parts)
        total = sum(np.nan_to_num(p, nan=0.0) for p in parts)
        with np.errstate(invalid="ignore", divide="ignore"):
            base = np.where(known > 0, total / np.maximum(known, 1.0), np.nan)
        patterns = np.nan_to_num(_array(bullish), nan=0.0) - np.nan_to_num(_array(bearish), nan=0.0)
        result: FloatArray = np.clip(base + self.pattern_weight * patterns, -1.0, 1.0)
        return result

    def vote(self, score: npt.ArrayLike) -> FloatArray:
        """Return the source's vote for a technical score."""
        return ThresholdVoteRule(self.threshold).vote(score)


@dataclass(frozen=True, slots=True)
class ZScoreRule:
    """Z-score mean reversion: +1 where z ≤ the long entry, −1 where z ≥ ``short_entry``.

    The long entry is an argument (an array), because the market filter tightens it per bar.
    NaN abstains.
    """

    short_entry: float = 2.0

    def vote(self, zscore: npt.ArrayLike, long_entry: npt.ArrayLike) -> FloatArray:
        """Return the votes for ``zscore`` given the (effective) long entry level."""
        z = _array(zscore)
        with np.errstate(invalid="ignore"):
            up = z <= _array(long_entry)
            down = z >= self.short_entry
        return up.astype(np.float64) - down.astype(np.float64)


@dataclass(frozen=True, slots=True)
class VwapRule:
    """VWAP anchor: no long entry while the close is more than ``max_extension`` above VWAP.

    ``max_extension`` is a fraction (the spec's ``VWAP_MEAN_REVERSION_PCT`` / 100); NaN
    (unknown VWAP) never blocks; ``enabled=False`` never blocks.
    """

    max_extension: float = 0.02
    enabled: bool = True

    def blocks_long(self, extension: npt.ArrayLike) -> BoolArray:
        """Return where a long entry must wait for mean reversion."""
        x = _array(extension)
        with np.errstate(invalid="ignore"):
            blocked: BoolArray = (x > self.max_extension) & self.enabled
        return blocked


@dataclass(frozen=True, slots=True)
class MarketFilterRule:
    """SPY below its 200-day average: a tighter long z entry and a smaller long size.

    ``below`` is the flag of :func:`harvester.regimes.market_filter.below_200_day`;
    ``enabled=False`` treats every bar as above the average.
    """

    z_entry: float = -2.0
    z_tighten: float = -2.8
    long_size_multiplier: float = 0.5
    enabled: bool = True

    def _adjust(self, below: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        flag = np.asarray(below, dtype=bool) & self.enabled
        size, z = market_filter_adjustment(
            flag,
            long_size_multiplier=self.long_size_multiplier,
            z_tighten=self.z_tighten,
            base_z=self.z_entry,
        )
        return _array(size), _array(z)

    def long_entry_z(self, below: npt.ArrayLike) -> FloatArray:
        """Return the z-score a long entry must reach on each bar."""
        return self._adjust(below)[1]

    def long_size(self, below: npt.ArrayLike) -> FloatArray:
        """Return the factor on long position size on each bar."""
        return self._adjust(below)[0]


@dataclass(frozen=True, slots=True)
class ConsensusRule:
    """A buy needs ``min_sources`` positive votes; a sell, as many negative ones.

    ``votes`` stacks the sources on the last axis. A buy also needs at most
    ``max_negative`` negative votes (None: no limit) and more positive than negative votes
    (so a buy and a sell never hold together); a sell mirrors it.
    """

    min_sources: int = 2
    max_negative: int | None = None

    def counts(self, votes: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Return the numbers of positive and negative votes (the last axis summed)."""
        v = _array(votes)
        return (v > 0).sum(axis=-1).astype(np.float64), (v < 0).sum(axis=-1).astype(np.float64)

    def _side(self, agree: FloatArray, disagree: FloatArray) -> BoolArray:
        ok: BoolArray = (agree >= self.min_sources) & (agree > disagree)
        if self.max_negative is not None:
            ok &= disagree <= self.max_negative
        return ok

    def buy(self, votes: npt.ArrayLike) -> BoolArray:
        """Return where the sources agree on a buy."""
        positive, negative = self.counts(votes)
        return self._side(positive, negative)

    def sell(self, votes: npt.ArrayLike) -> BoolArray:
        """Return where the sources agree on a sell."""
        positive, negative = self.counts(votes)
        return self._side(negative, positive)


class BrainInputs(NamedTuple):
    """The source values at the decision bar, arrays of one broadcastable shape.

    ``below`` (benchmark under its 200-day average) is per bar: pass it shaped to broadcast
    against the rest, e.g. (time, 1) for a (time × symbols) panel.
    """

    sentiment: npt.ArrayLike
    momentum: npt.ArrayLike
    rsi_score: npt.ArrayLike
    macd_score: npt.ArrayLike
    bullish_patterns: npt.ArrayLike
    bearish_patterns: npt.ArrayLike
    zscore: npt.ArrayLike
    vwap_extension: npt.ArrayLike
    below: npt.ArrayLike


class BrainDecision(NamedTuple):
    """The decision and every intermediate value that explains it (all one shape)."""

    votes: FloatArray
    """The sources' votes stacked on the last axis, in :data:`SOURCES` order."""
    technical_score: FloatArray
    long_entry_z: FloatArray
    long_size: FloatArray
    vwap_block: BoolArray
    positive: FloatArray
    negative: FloatArray
    buy: BoolArray
    sell: BoolArray
    direction: npt.NDArray[np.int8]
    exit: BoolArray
    size: FloatArray
    score: FloatArray


@dataclass(frozen=True, slots=True)
class BrainRules:
    """The whole decision: source votes → consensus → market filter and VWAP gate.

    ``direction`` is +1 on a buy consensus the VWAP anchor lets through, −1 on a sell
    consensus when ``allow_short``, else 0. ``exit`` (close a long) is the sell consensus
    when shorts are off; with shorts on, the −1 direction closes longs itself (an exit flag
    would also close the short it opens). ``size`` is the market filter's long factor on
    longs and 1 elsewhere; ``score`` is the net vote count in the entry's direction.
    """

    news: ThresholdVoteRule = ThresholdVoteRule(0.05)
    momentum: ThresholdVoteRule = ThresholdVoteRule(0.0)
    technical: TechnicalRule = TechnicalRule()
    zscore: ZScoreRule = ZScoreRule()
    vwap: VwapRule = VwapRule()
    market: MarketFilterRule = MarketFilterRule()
    consensus: ConsensusRule = ConsensusRule()
    allow_short: bool = False

    def decide(self, inputs: BrainInputs) -> BrainDecision:
        """Return the decision for ``inputs`` (any leading shape)."""
        values = [_array(v) for v in inputs[:-1]]
        flag = np.asarray(inputs.below, dtype=bool)
        shape = np.broadcast_shapes(flag.shape, *(v.shape for v in values))
        sentiment, mom, rsi, macd, bullish, bearish, z, vwap = (
            np.broadcast_to(v, shape) for v in values
        )
        below = np.broadcast_to(flag, shape)
        long_entry_z = self.market.long_entry_z(below)
        long_size = self.market.long_size(below)
        technical_score = self.technical.score(rsi, macd, bullish, bearish)
        votes = np.stack(
            [
                self.news.vote(sentiment),
                self.momentum.vote(mom),
                self.technical.vote(technical_score),
                self.zscore.vote(z, long_entry_z),
            ],
            axis=-1,
        )
        positive, negative = self.consensus.counts(votes)
        buy, sell = self.consensus.buy(votes), self.consensus.sell(votes)
        vwap_block = self.vwap.blocks_long(vwap)
        long = buy & ~vwap_block
        short = sell & self.allow_short
        direction = long.astype(np.int8) - short.astype(np.int8)
        exit_long: BoolArray = sell & (not self.allow_short)
        size = np.where(long, long_size, 1.0)
        score = np.where(long, positive - negative, np.where(short, negative - positive, 0.0))
        return BrainDecision(
            votes, technical_score, long_entry_z, long_size, vwap_block, positive, negative,
            buy, sell, direction, exit_long, size, score,
        )  # fmt: skip
