"""Trading calendars: which days a symbol can have a bar.

US equities and ETFs follow the NYSE calendar (``XNYS``, holidays and early closes from the
``exchange_calendars`` library); crypto trades every day (``24/7``). A panel mixing both is
indexed by the union of the sessions its symbols actually traded, so an equity has NaN on a
Saturday while BTC has a bar.

Examples
--------
>>> days = sessions("XNYS", "2017-07-03", "2017-07-05")
>>> [d.strftime("%Y-%m-%d") for d in days]
['2017-07-03', '2017-07-05']
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

from harvester.core.errors import ConfigError
from harvester.domain.asset_class import AssetClass

__all__ = ["calendar_name_for", "early_closes", "sessions"]

# exchange_calendars needs explicit bounds; its default start moves with today's date.
_FIRST_DAY = pd.Timestamp("1990-01-01")
_LAST_DAY = pd.Timestamp("2035-12-31")


@lru_cache(maxsize=16)
def _calendar(name: str) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars 4.x trips pandas 3 deprecation warnings on construction.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return xcals.get_calendar(name, start=_FIRST_DAY, end=_LAST_DAY)
        except xcals.errors.InvalidCalendarName:
            raise ConfigError(
                f"unknown trading calendar {name!r}; use an exchange_calendars name such as "
                "'XNYS' or '24/7'"
            ) from None
        except ValueError:
            # A calendar whose history starts after _FIRST_DAY: take its own earliest bound.
            return xcals.get_calendar(name, end=_LAST_DAY)


def _bounded(
    name: str, start: str | pd.Timestamp, end: str | pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    calendar = _calendar(name)
    first, last = calendar.first_session.tz_localize(None), calendar.last_session.tz_localize(None)
    lo, hi = max(pd.Timestamp(start).normalize(), first), min(pd.Timestamp(end).normalize(), last)
    return lo, hi


def sessions(name: str, start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DatetimeIndex:
    """Return the sessions of calendar ``name`` from ``start`` to ``end`` inclusive (tz-naive).

    Dates outside the calendar's known history (1990 to 2035 at most) have no sessions.
    """
    lo, hi = _bounded(name, start, end)
    if lo > hi:
        return pd.DatetimeIndex([])
    days = _calendar(name).sessions_in_range(lo, hi)
    return pd.DatetimeIndex(days.tz_localize(None) if days.tz is not None else days)


def early_closes(name: str, start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DatetimeIndex:
    """Return the sessions of ``name`` between ``start`` and ``end`` that close early."""
    lo, hi = _bounded(name, start, end)
    closes = _calendar(name).early_closes
    return pd.DatetimeIndex(closes[(closes >= lo) & (closes <= hi)])


def calendar_name_for(
    asset_class: AssetClass, *, equity_calendar: str = "XNYS", crypto_calendar: str = "24/7"
) -> str:
    """Return the calendar a symbol of ``asset_class`` trades on."""
    return crypto_calendar if asset_class == "crypto" else equity_calendar
