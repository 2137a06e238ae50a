"""Sharing intermediate arrays: the same values as one feature at a time, computed once."""

from __future__ import annotations

import numpy as np
import pytest

from harvester.features import FEATURES
from harvester.features._memo import shared, sharing
from harvester.testing import SyntheticParams, generate_market


@pytest.fixture(scope="module")
def panel():  # type: ignore[no-untyped-def]
    params = SyntheticParams(symbols=6, years=2, seed=11, start="2019-01-02")
    return generate_market(params).panel


def test_compute_many_equals_compute_one_by_one(panel) -> None:  # type: ignore[no-untyped-def]
    names = tuple(FEATURES)
    together = FEATURES.compute_many(panel, names)
    assert tuple(together) == names
    for name in names:
        alone = FEATURES.compute(panel, name)
        np.testing.assert_array_equal(together[name], alone, err_msg=name)


def test_compute_many_reports_progress_and_returns_read_only(panel) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[int, int]] = []
    names = ("sma", "bb_upper", "p_bb")
    result = FEATURES.compute_many(
        panel, names, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(ValueError, match="read-only"):
        result["sma"][0, 0] = 1.0


def test_shared_function_runs_once_per_input_inside_the_block_only() -> None:
    calls: list[int] = []

    @shared
    def doubled(values: np.ndarray, *, factor: float) -> np.ndarray:
        calls.append(1)
        return values * factor

    first, second = np.arange(3.0), np.arange(3.0)
    doubled(first, factor=2.0)
    doubled(first, factor=2.0)
    assert len(calls) == 2  # no sharing outside the block
    with sharing():
        one = doubled(first, factor=2.0)
        assert doubled(first, factor=2.0) is one
        doubled(second, factor=2.0)  # equal values, another array: computed
        doubled(first, factor=3.0)  # another parameter: computed
    assert len(calls) == 5
    assert doubled(first, factor=2.0).flags.writeable
