"""Read user market-data files into the normalised long frame.

The normalised long frame has one row per bar, in file order (neither sorted nor
de-duplicated: the sanity rules in ``harvester.data.sanity`` must see the file as it is):
``date`` (``datetime64[ns]``, tz-naive; tz-aware input is converted to UTC first),
``symbol`` (``str``, stripped, upper-cased), ``open``, ``high``, ``low``, ``close``,
``volume`` (``float64``, NaN where empty) and any other numeric column, lower-cased
(``adj_close``, ``attention``). Names match case-insensitively, spaces, dots and hyphens
read as underscores (``Adj Close`` is ``adj_close``), and ``COLUMN_ALIASES`` apply when the
canonical name is absent. Dates may be text, yyyymmdd integers or Unix epochs.

Every failure raises :class:`~harvester.core.errors.DataError` with a one-line message naming
the file (and the line or column), what was found, what was expected and the fix.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"Date": ["2024-01-02"], "Ticker": ["spy"], "Open": [1], "High": [2],
...                     "Low": [0.5], "Close": [1.5], "Volume": [100], "Adj Close": [1.4]})
>>> long = normalize_long(raw, source="example")
>>> list(long.columns)
['date', 'symbol', 'open', 'high', 'low', 'close', 'volume', 'adj_close']
>>> long["symbol"].tolist(), str(long["date"].dtype)
(['SPY'], 'datetime64[ns]')
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv
from pandas.api.types import is_bool_dtype, is_complex_dtype, is_numeric_dtype
from pandas.tseries.api import guess_datetime_format

from harvester.core.errors import DataError
from harvester.core.types import BoolArray, FloatArray
from harvester.data.panel import OHLCV

__all__ = ["COLUMN_ALIASES", "LONG_COLUMNS", "normalize_long", "read_dated_table", "read_long_file",
           "read_symbol_folder"]  # fmt: skip

LONG_COLUMNS: tuple[str, ...] = ("date", "symbol", *OHLCV)
# Alias -> canonical name, used if the canonical is absent; first wins (ticker over name).
COLUMN_ALIASES = MappingProxyType(
    dict.fromkeys(("timestamp", "datetime", "time", "trade_date"), "date")
    | dict.fromkeys(("ticker", "name"), "symbol")
    | dict.fromkeys(("adjclose", "adjusted_close"), "adj_close")
)

_PARQUET_SUFFIXES = (".parquet", ".pq")
_SUFFIXES = (".csv.gz", *_PARQUET_SUFFIXES, ".csv", ".txt")
_EXPECTED_FILE = "a .csv, .csv.gz, .txt, .parquet or .pq file"
_EARLIEST = pd.Timestamp("1700-01-01", tz="UTC")
_LATEST = pd.Timestamp("2200-01-01", tz="UTC")
_MISSING_TEXT = ("", "nan", "na", "n/a", "null", "none", "#n/a")
Locate = Callable[[int], str]
_SLICE = 16 * 2**20  # bytes checked for UTF-8 at a time
_HEAD = 65536  # bytes searched for the separator
_ARROW_BLOCK = 4 * 2**20  # Arrow infers the column types from the first block this long
# The text pandas.read_csv reads as missing by default (pandas._libs.parsers.STR_NA_VALUES).
_PANDAS_NA_TEXT = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                   "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan",
                   "null")  # fmt: skip


def read_long_file(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file in long format into the normalised long frame.

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz`` or ``.txt`` file (comma, tab or semicolon separated, UTF-8
        with or without BOM) or a ``.parquet`` / ``.pq`` file, one row per (date, symbol).

    Raises
    ------
    DataError
        If the file is missing, of another type, empty, not UTF-8 or malformed, lacks a
        required column or holds a value that is not a date or not a number.
    """
    return _read_normalized(Path(path), symbol=None)


def read_dated_table(path: Path, *, numeric: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV or Parquet file with ``date``, ``symbol`` and the ``numeric`` columns.

    The same parsing and one-line errors as :func:`read_long_file`, for files that are not
    prices (a signals file has ``date, symbol, signal``).
    """
    return _read_normalized(Path(path), symbol=None, numeric=numeric)


def read_symbol_folder(path: Path) -> pd.DataFrame:
    """Read a folder of per-symbol files (``AAPL.csv``, ``btc-usd.parquet``) into one frame.

    The symbol is the file name without its suffix, upper-cased; a symbol column inside a
    file is ignored. Hidden files and other types are skipped; files are read in name order,
    each keeping its rows in file order. Raises ``DataError`` if the folder is missing or
    holds no data file, or if a file fails as in :func:`read_long_file`.
    """
    folder = Path(path)
    if not folder.is_dir():
        found = "is a file, not a folder" if folder.exists() else "no such folder"
        raise _error(str(folder), f"{found}; expected a folder of per-symbol files; check it")
    files = sorted(p for p in folder.iterdir() if _is_data_file(p))
    if not files:
        raise _error(
            str(folder),
            f"no data files in the folder; expected one {_EXPECTED_FILE} per symbol, named "
            "after it (AAPL.csv); put the files there or point to the folder that has them",
        )
    return pd.concat([_read_symbol_file(file) for file in files], ignore_index=True)


def normalize_long(frame: pd.DataFrame, *, source: str, symbol: str | None = None) -> pd.DataFrame:
    """Return ``frame`` with canonical column names, parsed dates and float prices.

    Raises ``DataError`` as :func:`read_long_file` does, counting rows from 1.

    Parameters
    ----------
    frame
        A long frame as read from a file or built by hand; column names are matched
        case-insensitively and through ``COLUMN_ALIASES``.
    source
        What to call the data in error messages (usually the file name).
    symbol
        If given, every row gets this symbol and any symbol column is ignored.
    """
    return _normalize(frame, source=source, locate=_row_number, symbol=symbol)


def _suffix_of(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in _SUFFIXES if name.endswith(s) and len(name) > len(s)), None)


def _is_data_file(path: Path) -> bool:
    return not path.name.startswith(".") and path.is_file() and _suffix_of(path) is not None


def _data_suffix(path: Path) -> str:
    if path.is_dir():
        raise _error(str(path), f"is a folder; expected {_EXPECTED_FILE}; use read_symbol_folder")
    if not path.exists():
        raise _error(str(path), f"no such file; expected {_EXPECTED_FILE}; check the path")
    suffix = _suffix_of(path)
    if suffix is None:
        found = "".join(path.suffixes) or "(no suffix)"
        message = f"unsupported file type {found!r}; expected {_EXPECTED_FILE}; export it as CSV"
        raise _error(str(path), message)
    return suffix


def _read_symbol_file(path: Path) -> pd.DataFrame:
    symbol = path.name[: -len(_data_suffix(path))].strip().upper()
    return _read_normalized(path, symbol=symbol)


def _read_normalized(
    path: Path, *, symbol: str | None, numeric: tuple[str, ...] = OHLCV
) -> pd.DataFrame:
    # A CSV is read by Arrow first (fast, and no Python object per cell). Whenever Arrow
    # fails, gives a column a type the pandas reader might not, or the rows do not normalise,
    # the file is read again by pandas, whose frame and errors are the reference.
    suffix = _data_suffix(path)
    source = str(path)
    if suffix in _PARQUET_SUFFIXES:
        return _normalize(_read_parquet(path), source=source, locate=_row_number,
                          symbol=symbol, numeric=numeric)  # fmt: skip
    compressed = suffix == ".csv.gz"
    raw = _read_bytes(path, compressed=True) if compressed else None
    separator = _separator(_check_utf8(path, raw, compressed=compressed))
    fast = _arrow_csv(path if raw is None else raw, separator=separator)
    if fast is not None and not _arrow_safe(fast, symbol=symbol):
        fast = None
    if fast is not None:
        try:
            return _normalize(fast, source=source, locate=_row_number, symbol=symbol,
                              numeric=numeric)  # fmt: skip
        except DataError:
            pass  # pandas reads it again, to raise the reference error with its line
        finally:
            del fast
            pa.default_memory_pool().release_unused()  # hand Arrow's freed blocks back
    raw = _read_bytes(path, compressed=False) if raw is None else raw
    frame = _parse_csv(raw, separator=separator, source=source)
    return _normalize(frame, source=source, locate=_line_locator(raw), symbol=symbol,
                      numeric=numeric)  # fmt: skip


def _read_bytes(path: Path, *, compressed: bool) -> bytes:
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if compressed else data
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        message = f"not a valid gzip file ({e}); expected gzip-compressed CSV; compress it again"
        raise _error(str(path), message) from e
    except OSError as e:
        raise _unreadable(path, e) from e


def _unreadable(path: Path, e: OSError) -> DataError:
    message = f"cannot be read ({e.strerror or e}); expected a readable file; check it"
    return _error(str(path), message)


def _check_utf8(path: Path, raw: bytes | None, *, compressed: bool) -> bytes:
    """Raise if the text (``raw``, else the file) is blank or not UTF-8; return its head.

    The text is checked in slices, so that no copy of a large file is held in memory.
    """
    head, size, offset, lines, blank, pending = b"", 0, 0, 0, True, b""
    try:
        with io.BytesIO(raw) if raw is not None else path.open("rb") as stream:
            while chunk := stream.read(_SLICE):
                data = pending + chunk if pending else chunk
                if not size:
                    head = chunk[:_HEAD]
                    if data.startswith(codecs.BOM_UTF8):  # utf-8-sig: a leading BOM is fine
                        offset = len(codecs.BOM_UTF8)
                        data = data[offset:]
                size += len(chunk)
                blank = blank and not chunk.strip()
                consumed = len(data) if data.isascii() else _utf8_prefix(data, final=False)
                if consumed < 0:
                    raise _not_utf8(path, data, offset, lines, compressed=compressed)
                lines += data.count(b"\n", 0, consumed)
                offset += consumed
                pending = data[consumed:]
    except OSError as e:
        raise _unreadable(path, e) from e
    if blank:
        raise _empty(str(path), f"the file is empty ({size} bytes)")
    if pending and _utf8_prefix(pending, final=True) < 0:
        raise _not_utf8(path, pending, offset, lines, compressed=compressed)
    return head


def _utf8_prefix(data: bytes, *, final: bool) -> int:
    # How many bytes of ``data`` are complete UTF-8 characters; -1 if it is not UTF-8.
    try:
        return codecs.utf_8_decode(data, "strict", final)[1]
    except UnicodeDecodeError:
        return -1


def _not_utf8(path: Path, data: bytes, offset: int, lines: int, *, compressed: bool) -> DataError:
    # ``data`` starts at byte ``offset`` of the text, after ``lines`` newlines.
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        offset, lines = offset + e.start, lines + data.count(b"\n", 0, e.start)
        bad = data[e.start]
    else:  # pragma: no cover - only called on text that does not decode
        raise AssertionError("not_utf8 called on valid UTF-8")
    where = " of the uncompressed text" if compressed else ""
    message = (
        f"byte 0x{bad:02X} at byte offset {offset}{where} (line {lines + 1}) is not "
        "UTF-8; expected UTF-8 text; re-save the file as UTF-8 (e.g. `iconv -f latin1 "
        "-t utf-8 in.csv > out.csv`)"
    )
    return _error(str(path), message)


def _separator(head: bytes) -> str:
    header = head.lstrip().split(b"\n", 1)[0]
    return next((d for d in (",", "\t", ";") if d.encode() in header), ",")


def _arrow_csv(source: Path | bytes, *, separator: str) -> pd.DataFrame | None:
    """Read the CSV with Arrow as pandas would (same missing-value text), or None on failure."""
    try:
        stream = pa.OSFile(str(source)) if isinstance(source, Path) else pa.BufferReader(source)
        with stream:  # batch by batch: a fraction of the memory of pa_csv.read_csv
            table = pa_csv.open_csv(
                stream,
                read_options=pa_csv.ReadOptions(block_size=_ARROW_BLOCK),
                parse_options=pa_csv.ParseOptions(delimiter=separator, newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    null_values=list(_PANDAS_NA_TEXT),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            ).read_all()
        names = table.column_names
        if len(set(names)) != len(names) or not all(names) or table.num_rows == 0:
            return None  # pandas renames such columns; an empty file has its own errors
        for position, field in enumerate(table.schema):
            if pa.types.is_floating(field.type) and not _finite(table.column(position)):
                return None  # Arrow reads "NAN" and "INF" as numbers, pandas not always
            if pa.types.is_null(field.type):  # all missing: pandas reads float NaN
                empty = pa.nulls(table.num_rows, pa.float64())
                table = table.set_column(position, field.name, empty)
        frame: pd.DataFrame = table.to_pandas(
            date_as_object=False, self_destruct=True, split_blocks=True
        )
        del table
        pa.default_memory_pool().release_unused()  # the read blocks, before pandas' copies
        return frame
    except (pa.ArrowException, OSError, ValueError, TypeError):
        return None


def _finite(column: pa.ChunkedArray) -> bool:
    return not pa_compute.any(pa_compute.invert(pa_compute.is_finite(column))).as_py()


def _arrow_safe(frame: pd.DataFrame, *, symbol: str | None) -> bool:
    """Whether every column ``_normalize`` uses has the type the pandas reader gives it."""
    try:
        columns = _canonical_columns(frame, source="")
    except DataError:
        return False
    for name, column in columns.items():
        dtype = column.dtype
        if name == "symbol" and symbol is None:
            ok = _is_text(dtype)
        elif name == "date":
            ok = (
                pd.api.types.is_datetime64_any_dtype(dtype)
                or dtype == np.int64
                or (_is_text(dtype) and _not_a_number(column))
            )
        else:
            ok = dtype in (np.float64, np.int64)
        if not ok:
            return False
    return True


def _is_text(dtype: object) -> bool:
    return isinstance(dtype, pd.StringDtype)


def _not_a_number(column: pd.Series) -> bool:
    # pandas reads a column as numbers only if every cell is one; one text cell keeps it text.
    present = column.dropna()
    if not len(present):
        return False
    try:
        float(str(present.iloc[0]))
    except ValueError:
        return True
    return False


def _parse_csv(raw: bytes, *, separator: str, source: str) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(raw), sep=separator, encoding="utf-8-sig", low_memory=False)
    except pd.errors.EmptyDataError:
        raise _empty(source, "the file has no header line") from None
    except (ValueError, OverflowError) as e:
        message = (
            f"the CSV cannot be parsed ({e}); expected a header line and the same number "
            "of fields on every line; fix the quoting or separators"
        )
        raise _error(source, message) from e


def _read_parquet(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise _empty(str(path), "the file is empty (0 bytes)")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, TypeError, pa.ArrowException) as e:
        message = (
            f"the Parquet file cannot be read ({type(e).__name__}: {e}); expected a valid "
            "Parquet file; write it again with pandas or pyarrow, or export it as CSV"
        )
        raise _error(str(path), message) from e
    return frame.reset_index() if any(n is not None for n in frame.index.names) else frame


def _line_locator(raw: bytes) -> Locate:
    # pandas skips blank lines, so data row i is the (i + 2)-th non-blank line.
    def locate(position: int) -> str:
        lines = [n + 1 for n, line in enumerate(raw.split(b"\n")) if line.strip()][1:]
        return f"line {lines[position]}" if position < len(lines) else _row_number(position)

    return locate


def _row_number(position: int) -> str:
    return f"row {position + 1}"


def _normalize(
    frame: pd.DataFrame,
    *,
    source: str,
    locate: Locate,
    symbol: str | None,
    numeric: tuple[str, ...] = OHLCV,
) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    if len(frame) == 0:
        names = ", ".join(str(c) for c in frame.columns) or "none"
        raise _empty(source, f"no data rows (columns: {names})")
    columns = _canonical_columns(frame, source=source)
    if symbol is not None:
        columns["symbol"] = pd.Series([symbol] * len(frame), name="symbol", dtype="str")
    _require_columns(columns, source=source, required=("date", "symbol", *numeric))
    result: dict[str, object] = {
        "date": _parse_dates(columns["date"], source=source, locate=locate),
        "symbol": _parse_symbols(columns["symbol"], source=source, locate=locate),
    }
    for name in numeric:
        result[name] = _parse_numbers(columns[name], source=source, locate=locate)
    for name, column in columns.items():
        if name not in result and _is_number_column(column):
            result[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(result)


def _canonical_name(label: object) -> str:
    return re.sub(r"[\s.\-]+", "_", str(label).strip().lower()).strip("_")


def _canonical_columns(frame: pd.DataFrame, *, source: str) -> dict[str, pd.Series]:
    direct: dict[str, pd.Series] = {}
    aliased: dict[str, pd.Series] = {}
    for position, label in enumerate(frame.columns):
        name = _canonical_name(label)
        if name.startswith("unnamed:") or name == "":
            continue
        target = aliased if name in COLUMN_ALIASES else direct
        if name in target:
            found = f"columns {target[name].name!r} and {label!r} both mean {name!r}"
            raise _error(source, f"{found}; expected one per field; drop or rename one")
        target[name] = frame.iloc[:, position]
    for alias, canonical in COLUMN_ALIASES.items():
        if alias in aliased and canonical not in direct:
            direct[canonical] = aliased[alias]
    return direct


def _require_columns(
    columns: dict[str, pd.Series], *, source: str, required: tuple[str, ...]
) -> None:
    missing = ", ".join(repr(name) for name in required if name not in columns)
    if missing:
        names = [str(c.name) for c in columns.values()]
        found = ", ".join(names[:12]) or "none"
        found += f" and {len(names) - 12} more" if len(names) > 12 else ""
        message = (
            f"missing column(s) {missing} (found: {found}); expected {', '.join(required)} "
            "in any case (or aliases: timestamp, datetime, time for date; ticker, name for "
            "symbol); rename or add the column"
        )
        raise _error(source, message)


def _is_number_column(column: pd.Series) -> bool:
    return is_numeric_dtype(column.dtype) and not is_complex_dtype(column.dtype)


def _parse_dates(column: pd.Series, *, source: str, locate: Locate) -> npt.NDArray[np.datetime64]:
    parsed = _to_utc(column)
    bad = (parsed.isna() | (parsed < _EARLIEST) | (parsed > _LATEST)).to_numpy(dtype=bool)
    problem = (
        "which is not a date; expected a date such as 2024-01-31 or 2024-01-31 15:30:00+00:00 "
        "between 1700 and 2200; fix or remove that row"
    )
    _reject_first(bad, column, source=source, locate=locate, problem=problem)
    return np.asarray(parsed.dt.tz_localize(None), dtype="datetime64[ns]")


def _to_utc(column: pd.Series) -> pd.Series:
    try:
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            return pd.to_datetime(column, utc=True)
        if _is_number_column(column) and not is_bool_dtype(column.dtype):
            return _dates_from_numbers(column.to_numpy(dtype=np.float64, na_value=np.nan))
        return _dates_from_text(column.astype("str").str.strip())
    except (ValueError, TypeError, OverflowError):
        return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns, UTC]")


def _dates_from_text(text: pd.Series) -> pd.Series:
    present = text.dropna()
    guessed = guess_datetime_format(str(present.iloc[0])) if len(present) else None
    parsed = pd.to_datetime(text, format=guessed or "ISO8601", errors="coerce", utc=True)
    if guessed is not None and parsed.isna().any():
        iso = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        if not iso.isna().any():
            return iso
    return parsed


def _dates_from_numbers(values: FloatArray) -> pd.Series:
    # Eight-digit integers are yyyymmdd; from 1e9 up, Unix epochs in s, ms, us or ns.
    finite = values[np.isfinite(values)]
    top = float(np.abs(finite).max()) if finite.size else 0.0
    if 1e7 <= top < 1e8:
        whole = np.where(values == np.floor(values), values, np.nan)
        parts = {"year": whole // 10000, "month": whole // 100 % 100, "day": whole % 100}
        return pd.to_datetime(pd.DataFrame(parts), errors="coerce", utc=True)
    unit: Literal["s", "ms", "us", "ns"] = (
        "s" if top < 1e11 else "ms" if top < 1e14 else "us" if top < 1e17 else "ns"
    )
    epoch: FloatArray = np.where(np.abs(values) >= 1e9, values, np.nan)
    return pd.Series(pd.to_datetime(epoch, unit=unit, errors="coerce", utc=True))


def _parse_symbols(column: pd.Series, *, source: str, locate: Locate) -> pd.Series:
    text = column.astype("str").str.strip().str.upper()
    bad = (text.isna() | (text == "")).to_numpy(dtype=bool)
    problem = "which is not a symbol; expected a symbol such as AAPL or BTC-USD; fill it in"
    _reject_first(bad, column, source=source, locate=locate, problem=problem)
    return text


def _as_floats(column: pd.Series) -> tuple[FloatArray, pd.Series | None]:
    if _is_number_column(column):
        try:
            return column.to_numpy(dtype=np.float64, na_value=np.nan), None
        except (TypeError, ValueError):
            pass
    text = column.astype("str").str.strip()
    return np.asarray(pd.to_numeric(text, errors="coerce"), dtype=np.float64), text


def _parse_numbers(column: pd.Series, *, source: str, locate: Locate) -> FloatArray:
    values, text = _as_floats(column)
    bad = np.isinf(values)
    if text is not None:
        written = text.notna() & ~text.str.lower().isin(_MISSING_TEXT)
        bad |= np.isnan(values) & written.to_numpy(dtype=bool)
    problem = (
        "which is not a finite number; expected a number (an empty cell or NaN counts as "
        "missing); fix or remove the value"
    )
    _reject_first(bad, column, source=source, locate=locate, problem=problem)
    return values


def _reject_first(
    bad: BoolArray, column: pd.Series, *, source: str, locate: Locate, problem: str
) -> None:
    if bad.any():
        position = int(np.argmax(bad))
        raw = column.iloc[position]
        value = repr(raw.item() if isinstance(raw, np.generic) else raw)
        empty = np.ndim(raw) == 0 and bool(pd.isna(raw))
        shown = "an empty cell" if empty else value if len(value) <= 40 else value[:37] + "..."
        message = f"column {str(column.name)!r} holds {shown}, {problem}"
        raise _error(f"{source}, {locate(position)}", message)


def _error(source: str, message: str) -> DataError:
    return DataError(" ".join(f"{source}: {message}".splitlines()))


def _empty(source: str, found: str) -> DataError:
    return _error(source, f"{found}; expected a header and at least one data row; export it again")
