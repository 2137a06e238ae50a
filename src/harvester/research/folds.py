"""Walk-forward fold plans: which bars train and which bars test, in bar positions.

A plan walks a test window of ``test_len`` bars forward by ``stride`` bars at a time. The
training set before each test window is either *rolling* (the ``train_len`` bars right
before it) or *anchored* (every bar from bar 0 up to it). Two guards keep labels that look
forward from leaking into training (DESIGN.md §2, principle 2):

- **purge** drops the last ``purge`` training bars before each test window: a label whose
  horizon is up to ``purge`` bars would otherwise be computed from test-window prices;
- **embargo** drops the ``embargo`` bars right after every *earlier* test window from a
  later fold's training set (anchored training, or rolling training longer than the
  stride, spans earlier test windows; the bars just after one are serially correlated
  with it).

So every fold's training indices are disjoint from its own test window extended by
``purge`` bars before it and ``embargo`` bars after it, and from every earlier test window
extended by ``embargo`` bars after it.

Examples
--------
>>> folds = plan_folds(10, train_len=4, test_len=2, purge=1)
>>> [(f.train.tolist(), list(f.test)) for f in folds]
[([0, 1, 2], [4, 5]), ([2, 3, 4], [6, 7]), ([4, 5, 6], [8, 9])]
>>> [f.train.tolist() for f in plan_folds(10, train_len=4, test_len=2, anchored=True, embargo=1)]
[[0, 1, 2, 3], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 7]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harvester.core.errors import ConfigError

__all__ = ["Fold", "IndexArray", "plan_folds"]

IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Fold:
    """One walk-forward fold.

    Attributes
    ----------
    index
        Position of the fold in the plan, from 0.
    train
        Sorted bar positions the fold may learn from (purged and embargoed); may have holes.
    test
        The consecutive bar positions it is judged on.
    """

    index: int
    train: IndexArray
    test: range

    @property
    def train_span(self) -> range:
        """From the first to the last training bar (holes included)."""
        return range(int(self.train[0]), int(self.train[-1]) + 1)


def _check_plan(
    n_bars: int, *, train_len: int, test_len: int, stride: int, purge: int, embargo: int
) -> None:
    positive = {"train_len": train_len, "test_len": test_len, "stride": stride}
    for name, value in positive.items():
        if value < 1:
            raise ConfigError(f"walk-forward {name} is {value}; expected at least 1 bar")
    for name, value in {"purge": purge, "embargo": embargo, "n_bars": n_bars}.items():
        if value < 0:
            raise ConfigError(f"walk-forward {name} is {value}; expected 0 or more bars")
    if purge >= train_len:
        raise ConfigError(
            f"walk-forward purge ({purge}) removes the whole training window "
            f"(train_len {train_len}); use a purge below train_len"
        )
    needed = train_len + test_len
    if n_bars < needed:
        raise ConfigError(
            f"walk-forward plan has 0 folds: train_len {train_len} + test_len {test_len} needs "
            f"at least {needed} bars, the data has {n_bars}; load more data or shorten the windows"
        )


def _train_indices(
    test_start: int, *, train_len: int, anchored: bool, purge: int, blocked: list[range]
) -> IndexArray:
    first = 0 if anchored else test_start - train_len
    keep = np.ones(test_start - purge - first, dtype=np.bool_)
    for window in blocked:
        lo, hi = max(window.start - first, 0), max(min(window.stop - first, keep.size), 0)
        keep[lo:hi] = False
    return np.flatnonzero(keep).astype(np.int64) + first


def plan_folds(
    n_bars: int,
    *,
    train_len: int,
    test_len: int,
    stride: int | None = None,
    anchored: bool = False,
    purge: int = 0,
    embargo: int = 0,
) -> tuple[Fold, ...]:
    """Return the folds of a walk-forward over ``n_bars`` bars (all lengths in bars).

    The first test window starts at bar ``train_len``; each next one ``stride`` bars later
    (default: ``test_len``, so test windows are consecutive and never overlap); a window
    that would run past the data is not used.

    Raises
    ------
    ConfigError
        On a length below 1, a negative purge or embargo, a purge that empties the training
        window, or data too short for one fold (the message says how many bars are needed).
    """
    step = test_len if stride is None else stride
    _check_plan(
        n_bars, train_len=train_len, test_len=test_len, stride=step, purge=purge, embargo=embargo
    )
    folds: list[Fold] = []
    embargoed: list[range] = []
    for start in range(train_len, n_bars - test_len + 1, step):
        train = _train_indices(
            start, train_len=train_len, anchored=anchored, purge=purge, blocked=embargoed
        )
        if train.size == 0:
            raise ConfigError(
                f"walk-forward fold {len(folds)} has no training bars left after the embargo "
                f"({embargo}); use a smaller --embargo or a longer --train-len"
            )
        test = range(start, start + test_len)
        folds.append(Fold(len(folds), train, test))
        embargoed.append(range(test.stop, test.stop + embargo))
    return tuple(folds)
