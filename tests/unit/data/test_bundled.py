"""The bundled real-data sample: contents, hand-checked values, causal aux alignment.

Expected numbers are read by hand from the source CSVs of the offline data library
(``equities_daily/sp500_all_stocks_5yr.csv.gz``, ``vix/vix_daily_cboe.csv``,
``commodities/wti_daily_eia.csv``, ``indices/arch_sp500_nasdaq_daily_1999_2018.csv``) and
written here literally; the tests read only the files shipped inside the package.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.data.bundled import (
    SAMPLE_BENCHMARK,
    load_sample,
    load_sample_benchmark,
    sample_provenance,
    sample_symbols,
)
from harvester.data.calendars import sessions
from harvester.data.panel import OHLCV, Panel, SymbolMeta

SECTORS = {
    "Communication Services": ("GOOGL", "NFLX", "T"),
    "Consumer Discretionary": ("AMZN", "EBAY", "HD"),
    "Consumer Staples": ("KO", "PG", "WMT"),
    "Energy": ("CVX", "OXY", "XOM"),
    "Financials": ("BAC", "C", "JPM"),
    "Health Care": ("JNJ", "MRK", "PFE"),
    "Industrials": ("BA", "CAT", "GE"),
    "Information Technology": ("AAPL", "INTC", "MSFT"),
    "Materials": ("FCX", "LYB", "NEM"),
    "Real Estate": ("AMT", "EQIX", "SBAC"),
    "Utilities": ("DUK", "EXC", "SO"),
}
REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def panel() -> Panel:
    return load_sample()


def test_sample_holds_the_documented_symbols_and_sectors(panel: Panel) -> None:
    expected = sorted(s for members in SECTORS.values() for s in members)
    assert list(panel.symbols) == expected
    assert set(panel.fields) == set(OHLCV)
    for sector, members in SECTORS.items():
        assert all(panel.meta[s].sector == sector for s in members)
    assert {m.sector for m in panel.meta.values()} == set(SECTORS)


def test_symbol_metadata_carries_class_name_and_sector(panel: Panel) -> None:
    assert panel.meta["AAPL"] == SymbolMeta(
        "equity", name="Apple Inc.", sector="Information Technology"
    )
    assert all(m.asset_class == "equity" for m in panel.meta.values())
    listed = sample_symbols()
    assert list(listed["symbol"]) == list(panel.symbols)
    assert (listed["name"] != "").all()


def test_sessions_are_the_nyse_sessions_of_the_period(panel: Panel) -> None:
    assert panel.index[0] == pd.Timestamp("2013-02-08")
    assert panel.index[-1] == pd.Timestamp("2018-02-07")
    assert panel.index.equals(sessions("XNYS", "2013-02-08", "2018-02-07"))
    assert pd.Timestamp("2017-07-04") not in panel.index
    assert pd.Timestamp("2017-07-03") in panel.index


def test_every_symbol_has_every_bar_and_consistent_ohlc(panel: Panel) -> None:
    arrays = {name: panel.array(name) for name in OHLCV}
    assert not any(np.isnan(a).any() for a in arrays.values())
    low, high = arrays["low"], arrays["high"]
    assert (low <= np.minimum(arrays["open"], arrays["close"])).all()
    assert (high >= np.maximum(arrays["open"], arrays["close"])).all()
    assert (low > 0).all()
    assert (arrays["volume"] > 0).all()


@pytest.mark.parametrize(
    ("symbol", "date", "field", "value"),
    [
        ("AAPL", "2013-02-08", "open", 67.7142),
        ("AAPL", "2016-06-01", "close", 98.46),
        ("AAPL", "2016-06-01", "volume", 29173285.0),
        ("AAPL", "2018-02-07", "low", 159.0685),
        ("XOM", "2018-02-07", "close", 76.94),
    ],
)
def test_prices_equal_the_source_csv(
    panel: Panel, symbol: str, date: str, field: str, value: float
) -> None:
    assert panel.frame(field).loc[pd.Timestamp(date), symbol] == value


@pytest.mark.parametrize(
    ("name", "date", "value"),
    [
        ("vix", "2015-08-24", 40.74),
        ("vix", "2018-02-05", 37.32),
        ("vix", "2016-06-01", 14.2),
        ("benchmark", "2016-06-01", 2099.330078),
        ("oil", "2017-06-30", 46.02),
        ("oil", "2017-07-05", 45.11),
    ],
)
def test_aux_equals_the_source_csv(panel: Panel, name: str, date: str, value: float) -> None:
    assert panel.aux_series(name)[pd.Timestamp(date)] == value


def test_oil_on_a_session_without_an_eia_print_is_the_previous_print(panel: Panel) -> None:
    oil = panel.aux_series("oil")
    # EIA printed 46.02 on 2017-06-30 and nothing on 2017-07-03 (an NYSE half day).
    assert oil[pd.Timestamp("2017-07-03")] == 46.02
    assert oil[pd.Timestamp("2017-07-03")] == oil[pd.Timestamp("2017-06-30")]


def test_aux_series_are_complete_on_every_session(panel: Panel) -> None:
    assert sorted(panel.aux) == ["benchmark", "oil", "vix"]
    assert not any(np.isnan(values).any() for values in panel.aux.values())


def test_benchmark_loads_as_ohlcv_and_matches_the_aux_series(panel: Panel) -> None:
    benchmark = load_sample_benchmark()
    assert list(benchmark.columns) == ["open", "high", "low", "close", "volume"]
    assert benchmark.index.equals(panel.index)
    assert benchmark.loc[pd.Timestamp("2016-06-01"), "high"] == 2100.969971
    np.testing.assert_array_equal(benchmark["close"].to_numpy(), panel.aux["benchmark"])


def test_include_benchmark_adds_the_index_as_a_symbol() -> None:
    panel = load_sample(include_benchmark=True)
    assert SAMPLE_BENCHMARK in panel.symbols
    assert panel.meta[SAMPLE_BENCHMARK].asset_class == "etf"
    close = panel.frame("close")[SAMPLE_BENCHMARK].to_numpy()
    np.testing.assert_array_equal(close, panel.aux["benchmark"])


def test_loading_is_deterministic(panel: Panel) -> None:
    assert load_sample().fingerprint() == panel.fingerprint()


@pytest.mark.parametrize(
    "phrase", ["CC0", "NCSA", "ODC-PDDL", "public domain", "urvivorship", "plit-adjusted"]
)
def test_provenance_names_every_licence_and_caveat(phrase: str) -> None:
    assert phrase in sample_provenance()


def test_bundled_files_stay_small() -> None:
    folder = resources.files("harvester.data.sample_data")
    total = sum(len(item.read_bytes()) for item in folder.iterdir() if item.is_file())
    assert total < 3_000_000


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs the offline data library ../shared/data")
def test_build_script_rebuilds_the_bundled_files_exactly(tmp_path: Path) -> None:
    out, reference = tmp_path / "sample", tmp_path / "reference"
    command = [sys.executable, str(REPO / "scripts" / "build_sample.py"), "--shared", str(SHARED)]
    command += ["--out", str(out), "--reference-out", str(reference)]
    subprocess.run(command, check=True, capture_output=True)
    for built, package in ((out, "sample_data"), (reference, "reference")):
        bundled = resources.files(f"harvester.data.{package}")
        for path in sorted(built.iterdir()):
            assert path.read_bytes() == (bundled / path.name).read_bytes(), path.name
