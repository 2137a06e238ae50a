"""Sharing intermediate arrays between the features of one computation.

Many features are built from the same pieces: the Rally compression score ranks the same ATR,
Bollinger width and realised volatility that ``p_atr``, ``p_bb`` and ``p_rv`` rank, and a
dozen features start from a 20- or 200-bar SMA of the close. Inside :func:`sharing`, a call
of a :func:`shared` function with the same input arrays (the same objects) and parameters as
an earlier call returns the earlier result instead of computing it again. Outside it, every
call computes; results are the same either way.

Shared results are made read-only, so a caller that modified one in place (and would corrupt
the other features) fails loudly instead. The memo keeps its input arrays alive, so an
``id`` cannot be reused by another array while it lasts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import numpy as np

__all__ = ["Memo", "new_memo", "shared", "sharing"]

P = ParamSpec("P")
R = TypeVar("R")

_Key = tuple[str, tuple[int, ...], tuple[tuple[str, Any], ...]]
_Entry = tuple[tuple[object, ...], Any]

Memo = dict[_Key, _Entry]
"""Results kept by :func:`sharing`: opaque to callers."""


def new_memo() -> Memo:
    """An empty memo to pass to :func:`sharing` again and again."""
    return {}


_MEMO: ContextVar[dict[_Key, _Entry] | None] = ContextVar("harvester_feature_memo", default=None)


@contextmanager
def sharing(memo: dict[_Key, _Entry] | None = None) -> Iterator[None]:
    """Share the results of :func:`shared` functions until the block ends.

    ``memo`` (from :func:`new_memo`) carries the results over to later blocks: an
    optimisation's trials on one panel reuse what earlier trials computed.
    """
    token = _MEMO.set({} if memo is None else memo)
    try:
        yield
    finally:
        _MEMO.reset(token)


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, tuple):
        for item in value:
            _freeze(item)
    return value


def shared(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a pure function of arrays and scalar keyword parameters to share its results."""
    name = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        memo = _MEMO.get()
        if memo is None:
            return function(*args, **kwargs)
        key = (name, tuple(id(arg) for arg in args), tuple(sorted(kwargs.items())))
        entry = memo.get(key)
        if entry is not None and all(a is b for a, b in zip(entry[0], args, strict=True)):
            result: R = entry[1]
            return result
        result = _freeze(function(*args, **kwargs))
        memo[key] = (tuple(args), result)
        return result

    return wrapper
