"""Symbol universes that work offline: S&P 500, Nasdaq-100, the bundled sample, or a file.

A universe spec is one of ``sp500`` (the bundled S&P 500 constituents snapshot with GICS
sectors), ``nasdaq100`` (current Nasdaq-100 members), ``sample`` (the bundled sample's
symbols) or ``file:PATH`` (a text file with one symbol per line). ``members_on(date)`` gives
the S&P 500 members on a past date from the bundled membership intervals, for
survivorship-aware runs. Sources and licences: ``src/harvester/data/reference/README.md``.

Examples
--------
>>> sp500 = load_universe("sp500")
>>> "AAPL" in sp500.symbols, sp500.sectors["AAPL"]
(True, 'Information Technology')
>>> "FB" in members_on("2018-01-02"), "META" in members_on("2018-01-02")
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from harvester.core.errors import ConfigError, DataError
from harvester.data.bundled import sample_symbols

__all__ = ["Universe", "list_universes", "load_universe", "members_on", "membership_coverage"]

_PACKAGE = "harvester.data.reference"
_FILE_PREFIX = "file:"
_SYMBOL = re.compile(r"^[A-Z0-9^][A-Z0-9.\-/=^]{0,19}$")
_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "sp500": "S&P 500 constituents with GICS sectors (bundled snapshot)",
        "nasdaq100": "current Nasdaq-100 members (bundled snapshot)",
        "sample": "the symbols of the bundled real-data sample",
        "file:PATH": "a text file, one symbol per line; '#' comments and blank lines ignored",
    }
)


@dataclass(frozen=True, slots=True)
class Universe:
    """A named, ordered set of symbols with their GICS sector and name where known.

    ``sectors`` and ``names`` have an entry for every symbol: the empty string when unknown.
    """

    name: str
    symbols: tuple[str, ...]
    sectors: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        symbols = tuple(self.symbols)
        sectors = {s: self.sectors.get(s, "") for s in symbols}
        names = {s: self.names.get(s, "") for s in symbols}
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "sectors", MappingProxyType(sectors))
        object.__setattr__(self, "names", MappingProxyType(names))


def list_universes() -> dict[str, str]:
    """Return the valid universe specs.

    Returns
    -------
    dict of str to str
        Spec to one-line description: ``sp500``, ``nasdaq100``, ``sample``, ``file:PATH``.
    """
    return dict(_DESCRIPTIONS)


def _valid_specs() -> str:
    return ", ".join(_DESCRIPTIONS)


def _reference(name: str) -> pd.DataFrame:
    with (resources.files(_PACKAGE) / name).open("rb") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def _from_frame(name: str, frame: pd.DataFrame) -> Universe:
    symbols = tuple(str(s) for s in frame["symbol"])
    sectors = dict(zip(symbols, frame["sector"], strict=True))
    return Universe(name, symbols, sectors, dict(zip(symbols, frame["name"], strict=True)))


def _sp500() -> Universe:
    return _from_frame("sp500", _reference("sp500_constituents.csv"))


def _nasdaq100() -> Universe:
    return _from_frame("nasdaq100", _reference("nasdaq100.csv"))


def _sample() -> Universe:
    return _from_frame("sample", sample_symbols())


_NAMED: Mapping[str, Callable[[], Universe]] = MappingProxyType(
    {"sp500": _sp500, "nasdaq100": _nasdaq100, "sample": _sample}
)


def load_universe(spec: str) -> Universe:
    """Return the universe named by ``spec``.

    Parameters
    ----------
    spec : str
        ``sp500``, ``nasdaq100``, ``sample`` (case-insensitive) or ``file:PATH``. A file
        holds one symbol per line; text after ``#`` and blank lines are ignored, symbols
        are upper-cased and duplicates dropped (first occurrence kept). Sectors and names
        of file symbols come from the bundled S&P 500 and Nasdaq-100 lists where known.

    Returns
    -------
    Universe
        Named-universe symbols are sorted; file symbols keep the file's order.

    Raises
    ------
    ConfigError
        Unknown spec, or the file does not exist.
    DataError
        The file is unreadable, holds a malformed symbol, or holds no symbol at all.
    """
    text = spec.strip()
    if text.lower().startswith(_FILE_PREFIX):
        return _file_universe(text[len(_FILE_PREFIX) :].strip())
    loader = _NAMED.get(text.lower())
    if loader is None:
        raise ConfigError(f"unknown universe {spec!r}; use one of {_valid_specs()}")
    return loader()


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise ConfigError(
            f"universe file {str(path)!r} not found; fix the path in 'file:{path}' or create "
            "the file with one symbol per line"
        )
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"universe file {str(path)!r} cannot be read ({exc}); save it as UTF-8 text"
        ) from None


def _parse_symbols(lines: list[str], *, path: Path) -> tuple[str, ...]:
    symbols: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        symbol = line.split("#", 1)[0].strip().upper()
        if not symbol:
            continue
        if not _SYMBOL.match(symbol):
            raise DataError(
                f"{path}:{number}: {symbol!r} is not a symbol; expected one symbol per line "
                "(letters, digits, '.', '-', '^', '=', '/')"
            )
        symbols.setdefault(symbol)
    return tuple(symbols)


def _file_universe(raw_path: str) -> Universe:
    if not raw_path:
        raise ConfigError("universe spec 'file:' names no file; use file:PATH")
    path = Path(raw_path).expanduser()
    symbols = _parse_symbols(_read_lines(path), path=path)
    if not symbols:
        raise DataError(
            f"universe file {str(path)!r} holds no symbols; add one symbol per line "
            "('#' starts a comment)"
        )
    return with_reference_data(symbols, name=f"{_FILE_PREFIX}{path}")


def with_reference_data(symbols: Sequence[str], *, name: str = "reference") -> Universe:
    """Return ``symbols`` as a Universe with sectors and names from the bundled lists."""
    known = [_nasdaq100(), _sp500()]
    sectors = {s: u.sectors[s] for u in known for s in symbols if u.sectors.get(s)}
    names = {s: u.names[s] for u in known for s in symbols if u.names.get(s)}
    return Universe(name, tuple(symbols), sectors, names)


# -- S&P 500 membership over time -----------------------------------------------------------


def _intervals() -> pd.DataFrame:
    frame = _reference("sp500_membership_intervals.csv")
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    frame["end_date"] = pd.to_datetime(frame["end_date"])  # empty: still a member
    return frame


def _coverage(intervals: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    last = max(intervals["start_date"].max(), intervals["end_date"].max())
    return pd.Timestamp(intervals["start_date"].min()), pd.Timestamp(last)


def membership_coverage() -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the dates between which ``members_on`` knows the S&P 500 membership.

    Returns
    -------
    tuple of pandas.Timestamp
        The first and the last date of the bundled intervals file (inclusive).
    """
    return _coverage(_intervals())


def _as_day(date: str | pd.Timestamp) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(date)
    except (TypeError, ValueError):
        raise ConfigError(f"{date!r} is not a date; use YYYY-MM-DD") from None
    if pd.isna(stamp):
        raise ConfigError(f"{date!r} is not a date; use YYYY-MM-DD")
    return stamp.tz_localize(None).normalize() if stamp.tz is not None else stamp.normalize()


def members_on(date: str | pd.Timestamp) -> tuple[str, ...]:
    """Return the S&P 500 members on ``date``, sorted, from the bundled membership intervals.

    A symbol is a member from its ``start_date`` (inclusive) to its ``end_date``
    (exclusive: the first date it was no longer listed). Symbols are tickers as used at the
    time (``FB`` before 2022-06-09, ``META`` from then on).

    Raises
    ------
    DataError
        ``date`` lies outside the file's coverage (see ``membership_coverage``).
    ConfigError
        ``date`` is not a date.
    """
    day = _as_day(date)
    intervals = _intervals()
    first, last = _coverage(intervals)
    if not first <= day <= last:
        raise DataError(
            f"S&P 500 membership on {day:%Y-%m-%d} is unknown: the bundled intervals cover "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}; for today's members use "
            "load_universe('sp500')"
        )
    ended = intervals["end_date"]
    member = (intervals["start_date"] <= day) & (ended.isna() | (ended > day))
    return tuple(sorted(set(intervals.loc[member, "symbol"])))
