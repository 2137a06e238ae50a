"""Walk-forward fold plans: training never touches the test window beyond purge/embargo."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.core.errors import ConfigError
from harvester.research.folds import Fold, plan_folds


@st.composite
def plans(draw: st.DrawFn) -> dict[str, int | bool | None]:
    train_len = draw(st.integers(1, 60))
    test_len = draw(st.integers(1, 30))
    return {
        "n_bars": draw(st.integers(train_len + test_len, 400)),
        "train_len": train_len,
        "test_len": test_len,
        "stride": draw(st.none() | st.integers(1, 40)),
        "anchored": draw(st.booleans()),
        "purge": draw(st.integers(0, train_len - 1)),
        "embargo": draw(st.integers(0, 10)),
    }


def _folds(plan: dict[str, int | bool | None]) -> tuple[Fold, ...]:
    kwargs = dict(plan)
    n_bars = kwargs.pop("n_bars")
    assert isinstance(n_bars, int)
    try:
        return plan_folds(n_bars, **kwargs)  # type: ignore[arg-type]
    except ConfigError as e:  # an embargo may empty a short rolling window: said clearly
        assert "no training bars left" in str(e)
        return ()


@given(plans())
def test_training_never_touches_the_guarded_test_window(plan: dict[str, int | bool | None]) -> None:
    purge, embargo = int(plan["purge"] or 0), int(plan["embargo"] or 0)
    for fold in _folds(plan):
        guarded = set(range(fold.test.start - purge, fold.test.stop + embargo))
        assert guarded.isdisjoint(fold.train.tolist())
        assert fold.train.size > 0
        assert np.all(np.diff(fold.train) > 0)
        assert fold.train[-1] < fold.test.start - purge


@given(plans())
def test_embargo_keeps_bars_after_earlier_tests_out_of_training(
    plan: dict[str, int | bool | None],
) -> None:
    embargo = int(plan["embargo"] or 0)
    folds = _folds(plan)
    for later in folds:
        train = set(later.train.tolist())
        for earlier in folds[: later.index]:
            assert train.isdisjoint(range(earlier.test.stop, earlier.test.stop + embargo))


@given(plans())
def test_windows_lie_inside_the_data_and_anchored_starts_at_zero(
    plan: dict[str, int | bool | None],
) -> None:
    folds = _folds(plan)
    for fold in folds:
        assert len(fold.test) == plan["test_len"]
        assert fold.test.stop <= int(plan["n_bars"] or 0)
        if plan["anchored"]:
            assert fold.train[0] == 0
        else:
            # Rolling: inside the train_len bars before the test (an embargo may drop the first).
            assert fold.train[0] >= fold.test.start - int(plan["train_len"] or 0)
            if not plan["embargo"]:
                assert fold.train[0] == fold.test.start - int(plan["train_len"] or 0)


@given(plans())
def test_default_stride_gives_consecutive_non_overlapping_tests(
    plan: dict[str, int | bool | None],
) -> None:
    folds = _folds({**plan, "stride": None})
    for before, after in itertools.pairwise(folds):
        assert after.test.start == before.test.stop
    if folds:  # as many folds as fit
        assert folds[-1].test.stop + int(plan["test_len"] or 0) > int(plan["n_bars"] or 0)


def test_a_small_plan_by_hand() -> None:
    folds = plan_folds(10, train_len=4, test_len=2, purge=1)
    assert [(f.index, f.train.tolist(), list(f.test)) for f in folds] == [
        (0, [0, 1, 2], [4, 5]),
        (1, [2, 3, 4], [6, 7]),
        (2, [4, 5, 6], [8, 9]),
    ]
    anchored = plan_folds(10, train_len=4, test_len=2, anchored=True, embargo=1)
    assert anchored[2].train.tolist() == [0, 1, 2, 3, 4, 5, 7]
    assert anchored[2].train_span == range(0, 8)


def test_too_little_data_says_how_many_bars_are_needed() -> None:
    with pytest.raises(ConfigError, match=r"0 folds.*needs at least 630 bars, the data has 600"):
        plan_folds(600, train_len=504, test_len=126)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train_len": 0, "test_len": 5}, "train_len is 0"),
        ({"train_len": 5, "test_len": 5, "stride": 0}, "stride is 0"),
        ({"train_len": 5, "test_len": 5, "purge": -1}, "purge is -1"),
        ({"train_len": 5, "test_len": 5, "purge": 5}, "removes the whole training window"),
    ],
)
def test_impossible_plans_are_config_errors(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_folds(100, **kwargs)  # type: ignore[arg-type]
