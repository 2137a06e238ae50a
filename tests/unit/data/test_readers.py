"""Reading user files into the normalised long frame, and the one-line errors when it fails.

Every file is written by the test into ``tmp_path``; expected values are read off the
literal file text in each test.
"""

from __future__ import annotations

import gzip
import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import DataError
from harvester.data import readers
from harvester.data.readers import (
    LONG_COLUMNS,
    normalize_long,
    read_long_file,
    read_symbol_folder,
)

HEADER = "date,symbol,open,high,low,close,volume\n"
ROWS = (
    "2024-01-03,SPY,2,2.5,1.5,2.2,20\n"  # deliberately out of order: file order is kept
    "2024-01-02,SPY,1,1.5,0.5,1.2,10\n"
    "2024-01-02,BTC-USD,40000,41000,39000,40500,3.5\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path_or_frame: Path | pd.DataFrame) -> str:
    """Return the message of the DataError that reading ``path_or_frame`` raises."""
    with pytest.raises(DataError) as caught:
        if isinstance(path_or_frame, Path):
            read_long_file(path_or_frame)
        else:
            normalize_long(path_or_frame, source="frame.csv")
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    return message


# -- the normalised frame ---------------------------------------------------------------------


def test_read_long_csv_keeps_file_order_and_normalises_types(tmp_path: Path) -> None:
    frame = read_long_file(write(tmp_path / "bars.csv", HEADER + ROWS))
    assert list(frame.columns) == list(LONG_COLUMNS)
    assert frame["date"].dtype == np.dtype("datetime64[ns]")
    assert frame["symbol"].tolist() == ["SPY", "SPY", "BTC-USD"]
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-03",
        "2024-01-02",
        "2024-01-02",
    ]
    assert frame["close"].tolist() == [2.2, 1.2, 40500.0]
    assert all(frame[c].dtype == np.float64 for c in ("open", "high", "low", "close", "volume"))


def test_read_long_csv_keeps_duplicates(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,SPY,1,1.5,0.5,1.2,10\n" * 2
    assert len(read_long_file(write(tmp_path / "dup.csv", text))) == 2


def test_aliases_and_case_are_normalised(tmp_path: Path) -> None:
    text = (
        "Date,Ticker,Open,HIGH,low,Close,Volume,Adj Close,Attention,Sector\n"
        "2024-01-02,spy,1,2,0.5,1.5,100,1.4,0.3,Tech\n"
    )
    frame = read_long_file(write(tmp_path / "aliases.csv", text))
    assert list(frame.columns) == [*LONG_COLUMNS, "adj_close", "attention"]
    assert frame.loc[0, "symbol"] == "SPY"
    assert frame.loc[0, "adj_close"] == 1.4
    assert frame.loc[0, "attention"] == 0.3


@pytest.mark.parametrize(
    ("date_name", "symbol_name"),
    [("timestamp", "Name"), ("datetime", "ticker"), ("time", "Symbol"), ("DATE", "SYMBOL")],
)
def test_each_date_and_symbol_alias_is_accepted(date_name: str, symbol_name: str) -> None:
    raw = pd.DataFrame(
        {
            date_name: ["2024-01-02"],
            symbol_name: ["AAPL"],
            "Open": [1.0],
            "High": [2.0],
            "Low": [0.5],
            "Close": [1.5],
            "Volume": [7],
        }
    )
    frame = normalize_long(raw, source="frame")
    assert frame.loc[0, "date"] == pd.Timestamp("2024-01-02")
    assert frame.loc[0, "symbol"] == "AAPL"


def test_canonical_name_wins_over_an_alias() -> None:
    raw = pd.DataFrame(
        {
            "symbol": ["AAPL"],
            "name": ["Apple Inc."],
            "date": ["2024-01-02"],
            "open": [1.0],
            "high": [2.0],
            "low": [0.5],
            "close": [1.5],
            "volume": [7],
        }
    )
    assert normalize_long(raw, source="frame").loc[0, "symbol"] == "AAPL"


def test_timezone_aware_dates_become_utc_and_naive(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02T20:00:00-05:00,SPY,1,1.5,0.5,1.2,10\n"
    frame = read_long_file(write(tmp_path / "tz.csv", text))
    # 20:00 in New York (UTC-5) is 01:00 UTC the next day.
    assert frame.loc[0, "date"] == pd.Timestamp("2024-01-03 01:00:00")
    assert frame["date"].dt.tz is None


def test_unix_epoch_seconds_and_yyyymmdd_dates(tmp_path: Path) -> None:
    epoch = HEADER.replace("date", "timestamp") + "1704153600,SPY,1,1.5,0.5,1.2,10\n"
    compact = HEADER + "20240102,SPY,1,1.5,0.5,1.2,10\n"
    # 1704153600 s after 1970-01-01 is 2024-01-02 00:00 UTC.
    assert read_long_file(write(tmp_path / "e.csv", epoch)).loc[0, "date"] == pd.Timestamp(
        "2024-01-02"
    )
    assert read_long_file(write(tmp_path / "c.csv", compact)).loc[0, "date"] == pd.Timestamp(
        "2024-01-02"
    )


def test_utf8_bom_gzip_and_tab_separated_files_are_read(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + ROWS).encode())
    packed = tmp_path / "packed.csv.gz"
    packed.write_bytes(gzip.compress((HEADER + ROWS).encode()))
    tabbed = write(tmp_path / "tabbed.txt", (HEADER + ROWS).replace(",", "\t"))
    for path in (bom, packed, tabbed):
        frame = read_long_file(path)
        assert list(frame.columns) == list(LONG_COLUMNS), path
        assert frame["close"].tolist() == [2.2, 1.2, 40500.0], path


def test_parquet_file_is_read_like_csv(tmp_path: Path) -> None:
    source = read_long_file(write(tmp_path / "bars.csv", HEADER + ROWS))
    source.to_parquet(tmp_path / "bars.parquet")
    pd.testing.assert_frame_equal(read_long_file(tmp_path / "bars.parquet"), source)


def test_symbol_folder_takes_symbol_from_file_name(tmp_path: Path) -> None:
    body = "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,100\n"
    write(tmp_path / "aapl.csv", body)
    (tmp_path / "btc-usd.csv.gz").write_bytes(gzip.compress(body.encode()))
    write(tmp_path / "README.md", "not data")
    write(tmp_path / ".hidden.csv", "ignored")
    frame = read_symbol_folder(tmp_path)
    assert frame["symbol"].tolist() == ["AAPL", "BTC-USD"]
    assert list(frame.columns) == list(LONG_COLUMNS)


# -- errors: one line, naming the file --------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    message = error_of(tmp_path / "absent.csv")
    assert "absent.csv" in message and "no such file" in message


def test_unsupported_extension(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "bars.xlsx", "x"))
    assert "bars.xlsx" in message and "'.xlsx'" in message and ".parquet" in message


def test_zero_byte_file(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "empty.csv", ""))
    assert "empty.csv" in message and "empty (0 bytes)" in message


def test_header_only_file(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "header.csv", HEADER))
    assert "header.csv" in message and "no data rows" in message


def test_zero_byte_parquet(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "empty.parquet", ""))
    assert "empty.parquet" in message and "empty" in message


def test_latin1_file_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = HEADER + "2024-01-02,CAFÉ,1,1.5,0.5,1.2,10\n"
    path.write_bytes(text.encode("latin-1"))
    offset = len(HEADER) + len("2024-01-02,CAF")  # every byte before É is ASCII
    message = error_of(path)
    assert "latin1.csv" in message
    assert f"byte 0xC9 at byte offset {offset} (line 2)" in message
    assert "UTF-8" in message


def test_missing_column_is_named_with_what_was_found(tmp_path: Path) -> None:
    path = write(
        tmp_path / "novolume.csv", "Date,Symbol,Open,High,Low,Close\n2024-01-02,A,1,2,0,1\n"
    )
    message = error_of(path)
    assert "novolume.csv" in message
    assert "missing column(s) 'volume'" in message
    assert "found: Date, Symbol, Open, High, Low, Close" in message


def test_bad_date_names_file_line_and_value(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,SPY,1,1.5,0.5,1.2,10\n\n2024-01-03,SPY,1,1.5,0.5,1.2,10\n"
    text += "not-a-date,SPY,1,1.5,0.5,1.2,10\n"
    # Line 1 is the header, line 3 is blank, so the bad row is line 5 of the file.
    message = error_of(write(tmp_path / "dates.csv", text))
    assert message.startswith(f"{tmp_path / 'dates.csv'}, line 5: ")
    assert "'not-a-date'" in message and "not a date" in message


def test_non_numeric_price_names_line_column_and_value(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,SPY,1,1.5,0.5,1.2,10\n2024-01-03,SPY,1,1.5,0.5,abc,10\n"
    message = error_of(write(tmp_path / "prices.csv", text))
    assert message.startswith(f"{tmp_path / 'prices.csv'}, line 3: ")
    assert "column 'close' holds 'abc'" in message and "not a finite number" in message


def test_empty_symbol_is_an_error(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,,1,1.5,0.5,1.2,10\n"
    message = error_of(write(tmp_path / "nosymbol.csv", text))
    expected = "nosymbol.csv, line 2: column 'symbol' holds an empty cell, which is not a symbol"
    assert expected in message


def test_malformed_csv_is_wrapped(tmp_path: Path) -> None:
    text = HEADER + '2024-01-02,SPY,1,1.5,0.5,1.2,10,"unterminated\n'
    message = error_of(write(tmp_path / "broken.csv", text))
    assert "broken.csv" in message and "cannot be parsed" in message


def test_corrupt_parquet_is_wrapped(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "corrupt.parquet", "PAR1 this is not parquet"))
    assert "corrupt.parquet" in message and "Parquet" in message


def test_corrupt_gzip_is_wrapped(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "corrupt.csv.gz", "not gzip"))
    assert "corrupt.csv.gz" in message and "gzip" in message


def test_folder_without_data_files(tmp_path: Path) -> None:
    write(tmp_path / "notes.md", "nothing here")
    with pytest.raises(DataError) as caught:
        read_symbol_folder(tmp_path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert str(tmp_path) in message and "no data files" in message


def test_folder_error_names_the_bad_file(tmp_path: Path) -> None:
    write(tmp_path / "good.csv", "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,1\n")
    write(tmp_path / "bad.csv", "date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n")
    with pytest.raises(DataError, match=r"bad\.csv: missing column\(s\) 'volume'"):
        read_symbol_folder(tmp_path)


def test_frame_errors_count_rows_from_one() -> None:
    raw = pd.DataFrame(
        {
            "date": ["2024-01-02", "2024-01-03"],
            "symbol": ["A", "A"],
            "open": [1.0, 1.0],
            "high": [2.0, 2.0],
            "low": [0.5, 0.5],
            "close": ["1.5", "oops"],
            "volume": [1, 1],
        }
    )
    assert error_of(raw).startswith("frame.csv, row 2: column 'close' holds 'oops'")


def test_infinite_price_is_rejected() -> None:
    raw = pd.DataFrame(
        {
            "date": ["2024-01-02"],
            "symbol": ["A"],
            "open": [1.0],
            "high": [np.inf],
            "low": [0.5],
            "close": [1.5],
            "volume": [1],
        }
    )
    assert "column 'high' holds inf" in error_of(raw)


def test_empty_frame_is_an_error() -> None:
    assert "no data rows" in error_of(pd.DataFrame(columns=list(LONG_COLUMNS)))


# -- the Arrow fast path reads every CSV exactly as the pandas reader does ----------------------

H = "date,symbol,open,high,low,close,volume"
SAME_AS_PANDAS = {
    "plain": f"{H}\n{ROWS}",
    "bom_crlf": "\ufeff" + f"{H}\n{ROWS}".replace("\n", "\r\n"),
    "semicolon": f"{H}\n{ROWS}".replace(",", ";"),
    "tab": f"{H}\n{ROWS}".replace(",", "\t"),
    "blank_lines": f"\n{H}\n\n2024-01-02,A,1,2,0.5,1.5,7\n\n\n2024-01-03,A,1,2,0.5,1.5,8\n\n",
    "space_line": f"{H}\n2024-01-02,A,1,2,0.5,1.5,7\n   \n2024-01-03,A,1,2,0.5,1.5,8\n",
    "tz_offsets": f"{H}\n2024-01-02T15:30:00+05:00,A,1,2,0.5,1.5,7\n"
    "2024-01-02 10:00:00Z,B,1,2,0.5,1.5,7\n",
    "date_and_time": f"{H}\n2024-01-02,A,1,2,0.5,1.5,7\n2024-01-03 15:30,A,1,2,0.5,1.5,7\n",
    "time_then_date": f"{H}\n2024-01-03 15:30:00.25,A,1,2,0.5,1.5,7\n2024-01-02,A,1,2,0.5,1.5,7\n",
    "naive_and_aware": f"{H}\n2024-01-02 10:00,A,1,2,0.5,1.5,7\n"
    "2024-01-03 10:00+01:00,A,1,2,0.5,1.5,7\n",
    "us_dates": f"{H}\n01/02/2024,A,1,2,0.5,1.5,7\n01/03/2024,A,1,2,0.5,1.5,7\n",
    "slash_dates": f"{H}\n2024/01/02,A,1,2,0.5,1.5,7\n",
    "month_names": f'{H}\n"Jan 2, 2024",A,1,2,0.5,1.5,7\n',
    "yyyymmdd": f"{H}\n20240102,A,1,2,0.5,1.5,7\n20240103,A,1,2,0.5,1.5,7\n",
    "epochs": f"{H}\n1704153600,A,1,2,0.5,1.5,7\n1704240000.5,A,1,2,0.5,1.5,7\n",
    "epoch_ms": f"{H}\n1704153600000,A,1,2,0.5,1.5,7\n",
    "bad_date": f"{H}\n2024-01-02,A,1,2,0.5,1.5,7\n2024-02-30,A,1,2,0.5,1.5,7\n",
    "early_date": f"{H}\n1650-01-02,A,1,2,0.5,1.5,7\n",
    "missing_date": f"{H}\n2024-01-02,A,1,2,0.5,1.5,7\n,A,1,2,0.5,1.5,7\n",
    "blanks_and_na": f"{H}\n2024-01-02,A,,2,NA,nan,\n2024-01-03,A,null,N/A,#N/A,NaN,None\n",
    "all_missing_column": f"{H},extra\n2024-01-02,A,1,2,0.5,1.5,,\n2024-01-03,A,1,2,0.5,1.5,,\n",
    "thousands": f'{H}\n2024-01-02,A,"1,234",2,0.5,1.5,7\n',
    "junk_number": f"{H}\n2024-01-02,A,1,2,0.5,abc,7\n",
    "dash_number": f"{H}\n2024-01-02,A,1,2,0.5,-,7\n",
    "infinite": f"{H}\n2024-01-02,A,1,inf,0.5,1.5,7\n",
    "inf_extra": f"{H},extra\n2024-01-02,A,1,2,0.5,1.5,7,INF\n2024-01-03,A,1,2,0.5,1,7,-Infinity\n",
    "upper_nan": f"{H},extra\n2024-01-02,A,1,2,0.5,NAN,7,NAN\n2024-01-03,A,1,2,0.5,1,7,2\n",
    "spaced_numbers": f"{H}\n2024-01-02,A, 1,2 ,0.5,1.5,7\n",
    "exponents": f"{H}\n2024-01-02,A,1e2,2.5E+2,5e-1,1.5,1e3\n",
    "long_digits": f"{H}\n2024-01-02,A,0.10000000000000001,123456789012345678901,"
    "1.7976931348623157e308,1.5,18446744073709551616\n",
    "big_ints": f"{H}\n2024-01-02,A,1,2,0.5,1.5,9223372036854775808\n",
    "aliases": "Timestamp,Ticker,Open,HIGH,low,Close,Volume,Adj Close,adj-close-2,Sector\n"
    "2024-01-02,spy,1,2,0.5,1.5,100,1.4,3,Tech\n",
    "name_and_ticker": "date,ticker,name,open,high,low,close,volume\n"
    "2024-01-02,SPY,SPDR S&P 500,1,2,0.5,1.5,100\n",
    "text_extra": f"{H},note\n2024-01-02,A,1,2,0.5,1.5,7,hello\n",
    "bool_extra": f"{H},flag\n2024-01-02,A,1,2,0.5,1.5,7,True\n2024-01-03,A,1,2,0.5,1.5,7,1\n",
    "int_extra_with_blank": f"{H},extra\n2024-01-02,A,1,2,0.5,1.5,7,3\n"
    "2024-01-03,A,1,2,0.5,1.5,7,\n",
    "symbols": f'{H}\n2024-01-02, spy ,1,2,0.5,1.5,7\n2024-01-02,"b,c",1,2,0.5,1.5,7\n'
    "2024-01-02,Ä-x,1,2,0.5,1.5,7\n",
    "symbol_na": f"{H}\n2024-01-02,NA,1,2,0.5,1.5,7\n",
    "symbol_blank": f"{H}\n2024-01-02,A,1,2,0.5,1.5,7\n2024-01-02, ,1,2,0.5,1.5,7\n",
    "numeric_symbols": f"{H}\n2024-01-02,1234,1,2,0.5,1.5,7\n2024-01-02,7.5,1,2,0.5,1.5,7\n",
    "quoted_newline": f'{H},note\n2024-01-02,A,1,2,0.5,1.5,7,"two\nlines"\n'
    "2024-01-03,A,1,2,0.5,1.5,8,x\n",
    "quoted_cells": f'{H}\n"2024-01-02","A","1","2","0.5","1.5","7"\n',
    "duplicate_columns": f"{H},close\n2024-01-02,A,1,2,0.5,1.5,7,9\n",
    "empty_name": f"{H},\n2024-01-02,A,1,2,0.5,1.5,7,\n",
    "index_column": f"{H}\n0,2024-01-02,A,1,2,0.5,1.5,7\n1,2024-01-03,A,1,2,0.5,1.5,7\n",
    "too_many_fields": f"{H}\n2024-01-02,A,1,2,0.5,1.5,7\n2024-01-03,A,1,2,0.5,1.5,7,9\n",
    "too_few_fields": f"{H}\n2024-01-02,A,1,2,0.5,1.5\n",
    "missing_column": "date,symbol,open,high,low,close\n2024-01-02,A,1,2,0.5,1.5\n",
    "header_only": f"{H}\n",
    "bom_only": "\ufeff",
    "types_change_late": f"{H}\n"
    + "2024-01-02,A,1,2,0.5,1.5,7\n" * 300_000
    + "2024-01-03,A,1.5,2,0.5,1.5,x\n",
}


def read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """Return what read_long_file gives (a frame or an error message) via Arrow and pandas."""

    def outcome() -> object:
        try:
            return read_long_file(path)
        except DataError as e:
            return str(e)

    fast = outcome()
    with monkeypatch.context() as patch:
        patch.setattr(readers, "_arrow_csv", lambda *_args, **_kwargs: None)
        reference = outcome()
    return fast, reference


@pytest.mark.parametrize("name", sorted(SAME_AS_PANDAS))
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_arrow_path_reads_as_pandas_does(
    name: str, suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SAME_AS_PANDAS[name].encode("utf-8")
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(gzip.compress(text) if suffix == ".csv.gz" else text)
    fast, reference = read_both(path, monkeypatch)
    if isinstance(reference, str):
        assert fast == reference
    else:
        assert isinstance(fast, pd.DataFrame) and isinstance(reference, pd.DataFrame)
        pd.testing.assert_frame_equal(fast, reference, check_exact=True)


def test_arrow_path_serves_a_plain_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pandas(*_args: object, **_kwargs: object) -> pd.DataFrame:
        raise AssertionError("the pandas reader was used")

    monkeypatch.setattr(readers, "_parse_csv", no_pandas)
    frame = read_long_file(write(tmp_path / "bars.csv", HEADER + ROWS))
    assert frame["symbol"].tolist() == ["SPY", "SPY", "BTC-USD"]


def test_arrow_missing_text_is_pandas_default() -> None:
    parsers = importlib.import_module("pandas._libs.parsers")
    assert set(readers._PANDAS_NA_TEXT) == set(parsers.STR_NA_VALUES)


@pytest.mark.parametrize("slice_size", [1, 2, 3, 5, 7, 1 << 24])
def test_utf8_is_checked_across_slices(
    slice_size: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_SLICE", slice_size)
    good = "\ufeff" + HEADER + "2024-01-02,ÄÖ€𝔘,1,1.5,0.5,1.2,10\n"
    assert read_long_file(write(tmp_path / "good.csv", good))["symbol"].tolist() == ["ÄÖ€𝔘"]
    bad = (good + "2024-01-03,Z\xe9,1,1.5,0.5,1.2,10\n").encode("utf-8")
    bad = bad.replace("Z\xe9".encode(), b"Z\xe9")
    (tmp_path / "bad.csv").write_bytes(bad)
    offset = bad.index(b"Z\xe9") + 1
    assert error_of(tmp_path / "bad.csv").endswith(
        f"bad.csv: byte 0xE9 at byte offset {offset} (line 3) is not UTF-8; expected UTF-8 text; "
        "re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)"
    )
    (tmp_path / "cut.csv").write_bytes(good.encode("utf-8")[:-3] + "€".encode()[:2])
    assert "byte 0xE2 at byte offset" in error_of(tmp_path / "cut.csv")
