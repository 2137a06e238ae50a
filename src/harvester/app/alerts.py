"""Alerts of the daily jobs: the notifier the environment configures, fed from their reports.

:func:`notifier_for` reads the Discord settings from the process environment and the
project's ``.env`` secrets (a silent notifier when none is set). The daily scan sends its
new signals (price, stop, target, size) and the positions it closed (reason, return, bars
held); a retrain sends its fresh and stale model counts and its wall time; a scheduled job
that fails sends an error. A notifier never raises, so an alert can never fail a job.
"""

from __future__ import annotations

import math
from typing import Any

from harvester.app.context import AppContext
from harvester.app.scan import ScanReport
from harvester.notify import ExitAlert, Notifier, RetrainAlert, SignalAlert, notify_from_env

__all__ = ["exit_alerts", "notifier_for", "retrain_alert", "send_scan", "signal_alerts"]


def notifier_for(ctx: AppContext) -> Notifier:
    """The notifier of the process environment merged over the ``.env`` secrets."""
    return notify_from_env({**ctx.secrets.plain(), **ctx.environ})


def _number(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def signal_alerts(report: ScanReport) -> list[SignalAlert]:
    """One alert per new signal of the scan, best score first."""
    close = dict(zip(report.ranking["symbol"], report.ranking["close"], strict=True))
    label = "P(rally)" if report.strategy == "rally" else "score"
    return [_signal(row, close.get(row.symbol, math.nan), label)
            for row in report.signals.itertuples()]  # fmt: skip


def _signal(row: Any, price: float, label: str) -> SignalAlert:
    return SignalAlert(
        str(row.symbol),
        float(row.score),
        price=_number(price),
        stop=_number(row.stop),
        target=_number(row.target),
        size=_number(row.size),
        direction=int(row.direction),
        score_label=label,
    )


def exit_alerts(report: ScanReport) -> list[ExitAlert]:
    """One alert per position the scan's session closed."""
    return [
        ExitAlert(t.symbol, t.exit_reason, t.trade_return, t.bars_held, pnl=t.pnl)
        for t in report.closed
    ]


def retrain_alert(trained: int, fresh: int, stale: int, elapsed_seconds: float) -> RetrainAlert:
    """A retrain's alert: models fresh afterwards (trained now or still fresh), stale ones."""
    return RetrainAlert(fresh=trained + fresh, stale=stale, elapsed_seconds=elapsed_seconds,
                        trained=trained)  # fmt: skip


def send_scan(notifier: Notifier, report: ScanReport) -> None:
    """Send the scan's new signals and closed positions (nothing when there are none)."""
    signals, exits = signal_alerts(report), exit_alerts(report)
    if signals:
        notifier.signals(signals)
    if exits:
        notifier.exits(exits)
