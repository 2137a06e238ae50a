"""Attention sources: the panel field, Google Trends CSVs and pytrends, the volume proxy."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import ConfigError, DataError
from harvester.data.panel import Panel
from harvester.features.attention import (
    PanelAttention,
    PyTrendsAttention,
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


# pytrends, offline: a fake client that answers like TrendReq from a table of "Google" data.


class FakeTrends:
    """Mimics TrendReq: ``build_payload`` then ``interest_over_time`` (ints + isPartial)."""

    def __init__(self, data: pd.DataFrame, *, partial_last: bool = True) -> None:
        self.data = data
        self.partial_last = partial_last
        self.payloads: list[tuple[list[str], str, str]] = []
        self._kw_list: list[str] = []

    def build_payload(self, kw_list: list[str], *, timeframe: str, geo: str) -> None:
        if len(kw_list) > 5:
            raise ValueError("Google Trends compares at most 5 terms")
        self.payloads.append((list(kw_list), timeframe, geo))
        self._kw_list = list(kw_list)

    def interest_over_time(self) -> pd.DataFrame:
        known = [kw for kw in self._kw_list if kw in self.data.columns]
        if not known:
            return pd.DataFrame()  # What pytrends returns when Google has no data.
        frame = self.data.loc[:, known].astype("int64")
        frame.index = pd.DatetimeIndex(frame.index, name="date")
        frame["isPartial"] = False
        if self.partial_last:
            frame.iloc[-1, -1] = True
        return frame


WEEKS = pd.date_range("2023-12-31", periods=8, freq="7D")  # Sundays, Google's week starts.


def _weekly(**columns: list[int]) -> pd.DataFrame:
    return pd.DataFrame(columns, index=WEEKS)


def _trends_panel(symbols: tuple[str, ...] = ("AAPL", "BTC-USD"), *, daily: bool = False) -> Panel:
    dates = pd.date_range("2024-01-01", "2024-02-29", freq="D" if daily else "B")
    close = np.ones((len(dates), len(symbols)))
    return Panel(dates, symbols, {"close": close, "volume": close})


def test_terms_are_fetched_five_per_request_with_the_timeframe_and_geo() -> None:
    symbols = (*(f"S{i}" for i in range(7)), "BTC-USD", "BTC-EUR")
    data = _weekly(**{f"S{i}": [i] * 8 for i in range(7)}, bitcoin=[50] * 8)
    client = FakeTrends(data)
    source = PyTrendsAttention(
        terms={"BTC-USD": "bitcoin", "BTC-EUR": "bitcoin"},
        timeframe="2023-12-01 2024-02-29",
        geo="US",
        client=client,
    )
    got = source.attention(_trends_panel(symbols))
    # Eight distinct terms (bitcoin once for both pairs): a batch of five, then three.
    assert [p[0] for p in client.payloads] == [
        ["S0", "S1", "S2", "S3", "S4"],
        ["S5", "S6", "bitcoin"],
    ]
    assert {p[1:] for p in client.payloads} == {("2023-12-01 2024-02-29", "US")}
    np.testing.assert_array_equal(got[-1], [0, 1, 2, 3, 4, 5, 6, 50, 50])


def test_batch_size_one_fetches_each_term_alone_and_six_is_refused() -> None:
    client = FakeTrends(_weekly(AAPL=[1] * 8, MSFT=[2] * 8))
    PyTrendsAttention(batch_size=1, client=client).attention(_trends_panel(("AAPL", "MSFT")))
    assert [p[0] for p in client.payloads] == [["AAPL"], ["MSFT"]]
    with pytest.raises(ConfigError, match="at most five"):
        PyTrendsAttention(batch_size=6, client=client).attention(_trends_panel())


def test_a_weekly_value_is_used_only_from_the_end_of_its_week() -> None:
    client = FakeTrends(_weekly(AAPL=[10, 20, 30, 40, 50, 60, 70, 80]))
    panel = _trends_panel(("AAPL",))
    got = pd.Series(PyTrendsAttention(client=client).attention(panel)[:, 0], index=panel.index)
    # The week of Sun 31 Dec ends Sat 6 Jan: first used Mon 8 Jan. Week of 7 Jan: Mon 15 Jan.
    assert got[:"2024-01-05"].isna().all()
    assert got["2024-01-08":"2024-01-12"].tolist() == [10.0] * 5
    assert got["2024-01-15"] == 20.0
    # The last (partial) week, of Sun 18 Feb, is complete on Sun 25 Feb: Mon 26 Feb on.
    assert got["2024-02-23"] == 70.0
    assert got["2024-02-26":].tolist() == [80.0] * 4


def test_weekend_sessions_get_a_week_from_the_sunday_it_ends() -> None:
    client = FakeTrends(_weekly(bitcoin=[10, 20, 30, 40, 50, 60, 70, 80]))
    panel = _trends_panel(("BTC-USD",), daily=True)
    source = PyTrendsAttention(terms={"BTC-USD": "bitcoin"}, client=client)
    got = pd.Series(source.attention(panel)[:, 0], index=panel.index)
    assert np.isnan(got["2024-01-06"])  # Saturday: the week is not over.
    assert got["2024-01-07"] == 10.0  # Sunday 00:00, the week is complete.
    # A publication lag moves every value later.
    lagged = PyTrendsAttention(terms={"BTC-USD": "bitcoin"}, delay="1D", client=client)
    late = pd.Series(lagged.attention(panel)[:, 0], index=panel.index)
    assert np.isnan(late["2024-01-07"])
    assert late["2024-01-08"] == 10.0


@pytest.mark.parametrize("daily", [False, True])
def test_the_value_at_a_session_ignores_every_row_not_yet_complete(daily: bool) -> None:
    # Daily rows (a short timeframe) are complete at the next midnight; weekly after 7 days.
    step = pd.Timedelta(days=1 if daily else 7)
    starts = pd.date_range("2023-12-25", "2024-02-29", freq=step)
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"AAPL": rng.integers(0, 101, len(starts))}, index=starts)
    panel = _trends_panel(("AAPL",), daily=True)
    full = PyTrendsAttention(client=FakeTrends(data)).attention(panel)[:, 0]
    for row, session in enumerate(panel.index):
        # Rows still running at the session are replaced: the value there must not move.
        changed = data.copy()
        changed.loc[starts + step > session, "AAPL"] = 999
        got = PyTrendsAttention(client=FakeTrends(changed)).attention(panel)[row, 0]
        np.testing.assert_array_equal(got, full[row])
        complete = starts[starts + step <= session]
        assert full[row] == data.loc[complete[-1], "AAPL"]


def test_is_partial_is_dropped_and_interest_keeps_google_dates() -> None:
    client = FakeTrends(_weekly(AAPL=list(range(8))))
    table = PyTrendsAttention(client=client).interest(["AAPL"])
    assert list(table.columns) == ["AAPL"]
    assert table.index.equals(pd.DatetimeIndex(WEEKS, name="date"))
    known = PyTrendsAttention(client=client).interest(["AAPL"], known_at=True)
    assert known.index[0] == pd.Timestamp("2024-01-07")


def test_terms_without_data_are_nan_and_the_rest_still_align() -> None:
    client = FakeTrends(_weekly(AAPL=[5] * 8))
    symbols = ("AAPL", "NODATA", "S1", "S2", "S3", "GONE")
    got = PyTrendsAttention(client=client).attention(_trends_panel(symbols))
    # NODATA is missing from a batch that has data; GONE's batch has none (empty frame).
    assert [p[0] for p in client.payloads] == [["AAPL", "NODATA", "S1", "S2", "S3"], ["GONE"]]
    assert got[-1, 0] == 5.0
    assert np.isnan(got[:, 1:]).all()


def test_every_call_fetches_again() -> None:
    client = FakeTrends(_weekly(AAPL=[1] * 8))
    source = PyTrendsAttention(client=client)
    source.attention(_trends_panel(("AAPL",)))
    source.attention(_trends_panel(("AAPL",)))
    assert len(client.payloads) == 2


def test_a_client_factory_is_called_per_fetch() -> None:
    made: list[FakeTrends] = []

    def factory() -> FakeTrends:
        made.append(FakeTrends(_weekly(AAPL=[1] * 8)))
        return made[-1]

    PyTrendsAttention(client_factory=factory).attention(_trends_panel(("AAPL",)))
    assert len(made) == 1
    assert made[0].payloads[0][0] == ["AAPL"]


def test_without_pytrends_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pytrends", None)  # Makes the import fail.
    monkeypatch.setitem(sys.modules, "pytrends.request", None)
    source = PyTrendsAttention()  # Building it needs no library: only fetching does.
    with pytest.raises(ConfigError, match="pip install pytrends"):
        source.attention(_trends_panel())


def test_a_response_with_text_values_is_a_data_error() -> None:
    class Broken(FakeTrends):
        def interest_over_time(self) -> pd.DataFrame:
            return pd.DataFrame({"AAPL": ["high"]}, index=pd.DatetimeIndex(["2024-01-07"]))

    with pytest.raises(DataError, match="non-numeric"):
        PyTrendsAttention(client=Broken(_weekly())).attention(_trends_panel(("AAPL",)))
