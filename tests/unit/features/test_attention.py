"""Attention sources: the panel field, Google Trends CSVs, the abnormal-volume proxy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import DataError
from harvester.data.panel import Panel
from harvester.features.attention import (
    PanelAttention,
    TrendsCsvAttention,
    VolumeProxyAttention,
    abnormal_attention,
    read_trends_csv,
)

NAN = np.nan


def _panel(days: int = 6) -> Panel:
    index = pd.bdate_range("2024-01-01", periods=days)  # Mon 1 .. Mon 8
    close = np.ones((days, 2))
    volume = np.arange(1.0, 2 * days + 1).reshape(days, 2)
    return Panel(index, ("AAPL", "BTC-USD"), {"close": close, "volume": volume})


def test_the_proxy_is_volume_over_its_mean() -> None:
    got = VolumeProxyAttention(period=2).attention(_panel())
    # AAPL volumes 1, 3, 5: 3 / 2, 5 / 4.
    np.testing.assert_allclose(got[1:3, 0], [1.5, 1.25])
    assert np.isnan(got[0]).all()


def test_panel_attention_is_nan_without_the_field_and_the_field_with_it() -> None:
    panel = _panel()
    assert np.isnan(PanelAttention().attention(panel)).all()
    own = np.full(panel.shape, 7.0)
    np.testing.assert_array_equal(PanelAttention().attention(panel.with_fields(attention=own)), own)


def test_abnormal_attention_falls_back_to_volume_bar_by_bar() -> None:
    attention = np.array([[2.0], [6.0], [NAN], [4.0], [4.0]])
    volume = np.array([[1.0], [1.0], [3.0], [1.0], [1.0]])
    got = abnormal_attention(attention, volume, period=2)[:, 0]
    # 6 / 4; then attention's window holds a gap: volume 3 / 2, 1 / 2; then 4 / 4.
    np.testing.assert_allclose(got, [NAN, 1.5, 1.5, 0.5, 1.0])


def test_long_csv_is_aligned_causally(tmp_path: Path) -> None:
    path = tmp_path / "trends.csv"
    path.write_text("date,symbol,value\n2024-01-02,AAPL,40\n2024-01-04,AAPL,<1\n"
                    "2024-01-03,BTC-USD,80\n")  # fmt: skip
    got = TrendsCsvAttention(path).attention(_panel())
    np.testing.assert_array_equal(got[:, 0], [NAN, 40.0, 40.0, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(got[:, 1], [NAN, NAN, 80.0, 80.0, 80.0, 80.0])


def test_wide_pytrends_csv_with_terms_and_a_weekly_delay(tmp_path: Path) -> None:
    path = tmp_path / "pytrends.csv"
    path.write_text("date,apple,bitcoin,isPartial\n2023-12-31,50,20,False\n"
                    "2024-01-07,60,30,True\n")  # fmt: skip
    source = TrendsCsvAttention(path, terms={"apple": "AAPL", "bitcoin": "BTC-USD"}, delay="6D")
    got = source.attention(_panel())
    # The week of Sun 31 Dec is known on Sat 6 Jan: first session Mon 8 Jan (the last row).
    np.testing.assert_array_equal(got[:, 0], [NAN] * 5 + [50.0])
    np.testing.assert_array_equal(got[:, 1], [NAN] * 5 + [20.0])


def test_a_symbol_not_in_the_file_is_nan(tmp_path: Path) -> None:
    path = tmp_path / "trends.csv"
    path.write_text("date,AAPL\n2024-01-01,10\n")
    assert np.isnan(TrendsCsvAttention(path).attention(_panel())[:, 1]).all()


@pytest.mark.parametrize(
    ("text", "message"),
    [("when,AAPL\n2024-01-01,3\n", "no 'date' column"), ("date,AAPL\n2024-01-01,high\n", "non")],
)
def test_bad_files_are_data_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"bad\.csv.*{message}"):
        read_trends_csv(path)
    with pytest.raises(DataError, match=r"missing\.csv"):
        read_trends_csv(tmp_path / "missing.csv")
