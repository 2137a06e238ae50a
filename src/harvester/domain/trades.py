"""Trade-level vocabulary shared by backtest, paper and live: exit reasons and sides."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["EXIT_REASON_NAMES", "ExitReason", "Side"]


class Side(IntEnum):
    """Direction of a position: long owns the asset, short owes it."""

    LONG = 1
    SHORT = -1


class ExitReason(IntEnum):
    """Why (part of) a position was closed; the integer codes are stable (kernels use them)."""

    SIGNAL = 0
    STOP = 1
    TRAILING = 2
    TARGET = 3
    SCALE_OUT = 4
    TIME = 5
    KILL_SWITCH = 6
    MAX_DRAWDOWN = 7
    OPEN = 8


EXIT_REASON_NAMES: tuple[str, ...] = tuple(reason.name.lower() for reason in ExitReason)
