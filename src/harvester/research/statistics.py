"""Statistics that decide whether a backtest result is real: pure functions on numpy arrays.

docs/research-statistics.md states every formula, its reference and a worked example.

Conventions
-----------
- Inputs are simple per-period returns (one value per bar), never prices or equity.
- A *per-period* Sharpe ratio is mean / std(ddof=1) of the returns, with no risk-free rate
  (pass excess returns if you want one). `sharpe_ratio` annualises it by
  ``sqrt(periods_per_year)``, exactly as ``harvester.analytics.metrics`` computes ``sharpe``
  with a zero risk-free rate. Returns spanning less than 1e-12 are flat: the Sharpe ratio is
  NaN, as with fewer than two returns.
- The probabilistic and deflated Sharpe ratios work on *per-period* (non-annualised) Sharpe
  ratios, as in Bailey & López de Prado; `deflated_sharpe_ratio` converts annualised trial
  Sharpe ratios when told their ``periods_per_year``.
- Kurtosis is the *non-excess* (Pearson) kurtosis: 3 for a normal distribution. Skewness and
  kurtosis of returns are the biased (population-moment) estimates, as ``scipy.stats.skew``
  and ``scipy.stats.kurtosis(fisher=False)`` give by default.
- Every function is deterministic: random draws come from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from harvester.research.comparison import (
    BootstrapResult,
    SharpeDifferenceTest,
    Verdict,
    bootstrap_sharpe_difference,
    sharpe_difference_test,
    verdict,
)
from harvester.research.pbo import PBOResult, pbo_cscv
from harvester.research.sharpe import (
    EULER_GAMMA,
    DeflatedSharpeResult,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    minimum_backtest_length,
    probabilistic_sharpe_ratio,
    sharpe_ratio,
    snooping_warnings,
)

__all__ = [
    "EULER_GAMMA",
    "BootstrapResult",
    "DeflatedSharpeResult",
    "PBOResult",
    "SharpeDifferenceTest",
    "Verdict",
    "bootstrap_sharpe_difference",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "minimum_backtest_length",
    "pbo_cscv",
    "probabilistic_sharpe_ratio",
    "sharpe_difference_test",
    "sharpe_ratio",
    "snooping_warnings",
    "verdict",
]
