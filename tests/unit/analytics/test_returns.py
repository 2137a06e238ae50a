"""Return statistics checked against pandas and against hand calculations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harvester.analytics.returns import (
    annualized_volatility,
    max_drawdown,
    simple_returns,
    total_return,
)

prices_strategy = arrays(
    np.float64,
    st.tuples(st.integers(3, 40), st.integers(1, 4)),
    elements=st.floats(1.0, 1000.0, allow_nan=False),
)


@given(prices_strategy)
def test_matches_pandas_on_gapless_prices(prices: np.ndarray) -> None:
    frame = pd.DataFrame(prices)
    expected_returns = frame.pct_change().to_numpy()
    np.testing.assert_allclose(simple_returns(prices), expected_returns, equal_nan=True)
    np.testing.assert_allclose(
        annualized_volatility(prices, periods_per_year=252),
        frame.pct_change().std(ddof=1).to_numpy() * np.sqrt(252),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        max_drawdown(prices), (frame / frame.cummax() - 1).min().to_numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(total_return(prices), prices[-1] / prices[0] - 1, rtol=1e-12)


def test_gaps_compare_with_the_last_close() -> None:
    close = np.array([[np.nan], [100.0], [np.nan], [120.0], [90.0]])
    # 100 -> 120 across the gap is +20 %, then 120 -> 90 is -25 %.
    np.testing.assert_allclose(
        simple_returns(close)[:, 0], [np.nan, np.nan, np.nan, 0.2, -0.25], equal_nan=True
    )
    assert total_return(close)[0] == pytest.approx(-0.1)
    assert max_drawdown(close)[0] == pytest.approx(-0.25)


def test_symbol_without_prices_gives_nan() -> None:
    close = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan]])
    assert np.isnan(total_return(close)[1])
    assert np.isnan(annualized_volatility(close, periods_per_year=252)[1])
    assert np.isnan(max_drawdown(close)[1])
