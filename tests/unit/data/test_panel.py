"""The Panel: construction, alignment, access, slicing and immutability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.core.errors import DataError
from harvester.data.panel import Panel, SymbolMeta


def long_frame() -> pd.DataFrame:
    # AAPL trades Friday and Monday; BTC-USD also trades over the weekend.
    rows = [
        ("2017-07-07", "AAPL", 144.0, 145.0, 143.0, 144.2, 1e6),
        ("2017-07-07", "BTC-USD", 2500.0, 2550.0, 2450.0, 2520.0, 3e3),
        ("2017-07-08", "BTC-USD", 2520.0, 2600.0, 2500.0, 2580.0, 2e3),
        ("2017-07-09", "BTC-USD", 2580.0, 2590.0, 2490.0, 2510.0, 2e3),
        ("2017-07-10", "AAPL", 144.1, 145.9, 143.4, 145.1, 1.2e6),
        ("2017-07-10", "BTC-USD", 2510.0, 2530.0, 2380.0, 2400.0, 4e3),
    ]
    columns = ["date", "symbol", "open", "high", "low", "close", "volume"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def test_mixed_calendars_align_on_the_union_of_dates() -> None:
    panel = Panel.from_long(long_frame())
    assert panel.symbols == ("AAPL", "BTC-USD")
    assert list(panel.index.strftime("%a")) == ["Fri", "Sat", "Sun", "Mon"]
    close = panel.frame("close")
    assert bool(close["AAPL"].isna().loc["2017-07-08"])
    assert close.loc["2017-07-08", "BTC-USD"] == 2580.0
    assert close.loc["2017-07-10", "AAPL"] == 145.1
    assert panel.meta["BTC-USD"].asset_class == "crypto"
    assert panel.meta["AAPL"].asset_class == "equity"


def test_from_frames_equals_from_long() -> None:
    frame = long_frame()
    frames = {
        str(symbol): part.drop(columns="symbol").set_index("date")
        for symbol, part in frame.groupby("symbol")
    }
    assert Panel.from_frames(frames).fingerprint() == Panel.from_long(frame).fingerprint()


def test_duplicate_rows_are_refused() -> None:
    frame = pd.concat([long_frame(), long_frame().iloc[:1]])
    with pytest.raises(DataError, match="duplicate"):
        Panel.from_long(frame)


def test_arrays_are_read_only() -> None:
    panel = Panel.from_long(long_frame())
    with pytest.raises(ValueError, match="read-only"):
        panel.array("close")[0, 0] = 1.0


def test_aux_series_is_carried_forward_never_backward() -> None:
    oil = pd.Series([45.0, 46.0], index=pd.to_datetime(["2017-07-06", "2017-07-09"]))
    panel = Panel.from_long(long_frame(), aux={"oil": oil})
    # Fri gets Thursday's print, Sat carries it, Sun and Mon get Sunday's.
    assert panel.aux_series("oil").tolist() == [45.0, 45.0, 46.0, 46.0]
    late = pd.Series([50.0], index=pd.to_datetime(["2017-07-09"]))
    assert np.isnan(Panel.from_long(long_frame(), aux={"x": late}).aux["x"][:2]).all()


def test_slice_and_select() -> None:
    panel = Panel.from_long(long_frame())
    weekend = panel.slice("2017-07-08", "2017-07-09")
    assert weekend.shape == (2, 2)
    only_btc = panel.select(["BTC-USD"])
    assert only_btc.symbols == ("BTC-USD",)
    assert only_btc.array("close")[:, 0].tolist() == [2520.0, 2580.0, 2510.0, 2400.0]
    with pytest.raises(DataError, match="unknown symbol 'MSFT'"):
        panel.select(["MSFT"])


def test_first_and_last_valid_dates() -> None:
    panel = Panel.from_long(long_frame())
    assert panel.first_valid_dates()["AAPL"] == pd.Timestamp("2017-07-07")
    assert panel.last_valid_dates()["BTC-USD"] == pd.Timestamp("2017-07-10")


def test_to_long_round_trips() -> None:
    frame = long_frame()
    again = Panel.from_long(frame).to_long()
    expected = frame.sort_values(["date", "symbol"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected, check_dtype=False)


def test_missing_close_and_unknown_field_are_data_errors() -> None:
    with pytest.raises(DataError, match="close"):
        Panel.from_long(long_frame().drop(columns="close"))
    with pytest.raises(DataError, match="no field 'vwap'"):
        Panel.from_long(long_frame()).array("vwap")


def test_text_in_a_numeric_column_is_a_data_error() -> None:
    frame = long_frame().astype({"volume": object})
    frame.loc[0, "volume"] = "lots"
    with pytest.raises(DataError, match="'volume' is not numeric"):
        Panel.from_long(frame)


def test_metadata_is_kept() -> None:
    meta = {"AAPL": SymbolMeta("equity", "Apple Inc.", "Information Technology")}
    panel = Panel.from_long(long_frame(), meta=meta)
    assert panel.meta["AAPL"].sector == "Information Technology"
    assert panel.meta["BTC-USD"].asset_class == "crypto"


@given(st.integers(1, 30), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_fingerprint_is_stable_and_sensitive(times: int, symbols: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    close = rng.uniform(1, 100, (times, symbols))
    index = pd.bdate_range("2020-01-01", periods=times)
    names = tuple(f"S{i}" for i in range(symbols))
    first = Panel(index, names, {"close": close})
    assert first.fingerprint() == Panel(index, names, {"close": close.copy()}).fingerprint()
    bumped = close.copy()
    bumped[-1, -1] += 1e-9
    assert first.fingerprint() != Panel(index, names, {"close": bumped}).fingerprint()
    assert first.nbytes == close.nbytes
