"""Bundled universes: S&P 500, Nasdaq-100, the sample, files, and S&P 500 membership dates."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from harvester.core.errors import ConfigError, DataError
from harvester.data.bundled import load_sample
from harvester.data.universes import (
    Universe,
    list_universes,
    load_universe,
    members_on,
    membership_coverage,
)


def test_sp500_has_about_500_symbols_with_sectors() -> None:
    sp500 = load_universe("sp500")
    assert sp500.name == "sp500"
    assert 495 <= len(sp500.symbols) <= 510
    assert len(set(sp500.symbols)) == len(sp500.symbols)
    assert list(sp500.symbols) == sorted(sp500.symbols)
    assert sp500.sectors["AAPL"] == "Information Technology"
    assert sp500.names["AAPL"] == "Apple Inc."
    assert sp500.sectors["XOM"] == "Energy"
    assert "BRK.B" in sp500.symbols
    assert len(set(sp500.sectors.values())) == 11


def test_nasdaq100_holds_current_members_with_sectors_where_known() -> None:
    nasdaq = load_universe("nasdaq100")
    assert 98 <= len(nasdaq.symbols) <= 104
    assert {"AAPL", "MSFT", "GOOG", "GOOGL", "ASML"} <= set(nasdaq.symbols)
    assert nasdaq.sectors["MSFT"] == "Information Technology"
    assert nasdaq.sectors["ASML"] == ""  # not an S&P 500 member: no sector
    assert nasdaq.names["ASML"] == "ASML Holding"
    # AAL left the Nasdaq-100 on 2020-04-20 (a row with a removal date).
    assert "AAL" not in nasdaq.symbols


def test_sample_universe_is_the_bundled_sample() -> None:
    universe = load_universe("sample")
    panel = load_sample()
    assert universe.symbols == panel.symbols
    assert all(universe.sectors[s] == panel.meta[s].sector for s in universe.symbols)


def test_named_specs_ignore_case_and_surrounding_blanks() -> None:
    assert load_universe("  SP500 ").symbols == load_universe("sp500").symbols


def test_list_universes_names_every_spec() -> None:
    assert list(list_universes()) == ["sp500", "nasdaq100", "sample", "file:PATH"]
    assert all(description for description in list_universes().values())


def test_file_universe_skips_comments_and_keeps_first_of_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "watch.txt"
    path.write_text("# my list\n\nmsft\nAAPL  # apple\n  zzzz \nMSFT\n#AMZN\nbrk.b\n")
    universe = load_universe(f"file:{path}")
    assert universe.symbols == ("MSFT", "AAPL", "ZZZZ", "BRK.B")
    assert universe.name == f"file:{path}"
    assert universe.sectors["AAPL"] == "Information Technology"
    assert universe.sectors["ZZZZ"] == ""
    assert universe.names["BRK.B"] == "Berkshire Hathaway"


def test_unknown_spec_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"'sp400'.*sp500, nasdaq100, sample, file:PATH"):
        load_universe("sp400")


def test_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError, match=r"nope\.txt"):
        load_universe(f"file:{missing}")
    with pytest.raises(ConfigError, match="names no file"):
        load_universe("file:")


def test_file_with_only_comments_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("# nothing yet\n\n")
    with pytest.raises(DataError, match=r"empty\.txt.*holds no symbols"):
        load_universe(f"file:{path}")


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("AAPL\nMSFT, AMZN\n")
    with pytest.raises(DataError, match=r"bad\.txt:2: 'MSFT, AMZN' is not a symbol"):
        load_universe(f"file:{path}")


def test_universe_is_immutable_and_fills_unknown_sectors() -> None:
    universe = Universe("mine", ("AAPL", "X"), sectors={"AAPL": "Tech"})
    assert dict(universe.sectors) == {"AAPL": "Tech", "X": ""}
    assert dict(universe.names) == {"AAPL": "", "X": ""}
    with pytest.raises(dataclasses.FrozenInstanceError):
        universe.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        universe.sectors["X"] = "Energy"  # type: ignore[index]


# Rows of sp500_membership_intervals_1996.csv: FB,2013-12-23,2022-06-09 / META,2022-06-09,
# TSLA,2020-12-21, ; end_date is the first date the ticker was no longer a member.
@pytest.mark.parametrize(
    ("date", "symbol", "member"),
    [
        ("2013-12-20", "FB", False),
        ("2013-12-23", "FB", True),
        ("2022-06-08", "FB", True),
        ("2022-06-09", "FB", False),
        ("2022-06-08", "META", False),
        ("2022-06-09", "META", True),
        ("2020-12-18", "TSLA", False),
        ("2020-12-21", "TSLA", True),
        ("1996-01-02", "XOM", True),
    ],
)
def test_members_on_follows_the_intervals_file(date: str, symbol: str, member: bool) -> None:
    assert (symbol in members_on(date)) is member


def test_members_on_gives_about_500_sorted_symbols() -> None:
    members = members_on(pd.Timestamp("2018-01-02"))
    assert 495 <= len(members) <= 510
    assert list(members) == sorted(set(members))


def test_members_on_uses_the_local_date_of_aware_timestamps() -> None:
    late_evening = pd.Timestamp("2022-06-08 23:00", tz="America/New_York")
    assert "FB" in members_on(late_evening)


def test_members_on_refuses_dates_outside_the_coverage() -> None:
    first, last = membership_coverage()
    assert first == pd.Timestamp("1996-01-02")
    with pytest.raises(DataError, match="1996-01-02 to"):
        members_on(first - pd.Timedelta(days=1))
    with pytest.raises(DataError, match="load_universe"):
        members_on(last + pd.Timedelta(days=1))
    with pytest.raises(ConfigError, match="not a date"):
        members_on("soon")


def test_reference_readme_carries_sources_licences_and_notices() -> None:
    readme = (resources.files("harvester.data.reference") / "README.md").read_text()
    for phrase in ("ODC-PDDL", "MIT", "fja05680/sp500", "LuckyCurve/stock_index_info"):
        assert phrase in readme
    assert "Copyright (c) 2019-2020 Farrell J. Aultman" in readme
