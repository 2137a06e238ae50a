"""``load(spec)``: every kind of spec reaches a checked Panel, or a one-line error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from harvester.config.models import DataConfig, SanityConfig
from harvester.core.errors import DataError
from harvester.data.loader import LoadContext, check, load, parse_symbols

FIXTURES = Path(__file__).parents[2] / "fixtures" / "providers"
NOW = datetime(2024, 1, 6, 12, 0, tzinfo=UTC)
HEADER = "date,symbol,open,high,low,close,volume\n"
ROWS = [
    "2017-07-03,AAPL,144.88,145.30,143.10,143.50,14277800",
    "2017-07-05,AAPL,143.69,144.79,142.72,144.09,21569600",
    "2017-07-03,MSFT,68.78,69.38,68.74,68.17,16165500",
    "2017-07-05,MSFT,68.26,69.44,68.22,69.08,21176300",
]


class YahooServer:
    """Answers every chart request with the recorded AAPL payload and counts requests."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.payload = json.loads((FIXTURES / "yahoo_chart_aapl.json").read_text())

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        return httpx.Response(200, json=self.payload)


def context(tmp_path: Path, **data: object) -> LoadContext:
    return LoadContext(config=DataConfig.model_validate(data), cache_dir=tmp_path / "cache")


def write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_online_spec_fetches_once_then_serves_from_cache(tmp_path: Path) -> None:
    server = YahooServer()
    ctx = LoadContext(
        config=DataConfig(start="2024-01-02", end="2024-01-05"),
        cache_dir=tmp_path / "cache",
        now=lambda: NOW,
        transport=httpx.MockTransport(server),
    )
    first = load("yfinance:AAPL", ctx)
    # The recorded payload has closes 185.64, 184.25, null (dropped), 181.18.
    assert first.panel.frame("close")["AAPL"].tolist() == [185.64, 184.25, 181.18]
    assert server.requests == ["/v8/finance/chart/AAPL"]
    second = load("yfinance:AAPL", ctx)
    assert second.panel.fingerprint() == first.panel.fingerprint()
    assert len(server.requests) == 1
    assert (first.requested, second.requested) == (1, 0)  # the screener pauses only after 1
    # The missing 2024-01-04 session is reported, not hidden.
    assert second.report.counts_by_rule() == {"calendar_gap": 1}


def test_sample_and_synthetic_specs(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    assert len(load("sample", ctx).panel.symbols) >= 20
    spec = "synthetic:symbols=2,years=1,seed=3"
    assert load(spec, ctx).panel.fingerprint() == load(spec, ctx).panel.fingerprint()


def test_file_folder_and_prefix_specs_agree(tmp_path: Path) -> None:
    path = write(tmp_path / "long.csv", ROWS)
    folder = tmp_path / "per_symbol"
    folder.mkdir()
    for symbol in ("AAPL", "MSFT"):
        mine = [r.replace(f",{symbol},", ",") for r in ROWS if f",{symbol}," in r]
        header = HEADER.replace("symbol,", "")
        (folder / f"{symbol}.csv").write_text(header + "\n".join(mine) + "\n")
    ctx = context(tmp_path)
    from_file = load(str(path), ctx).panel
    assert load(f"file:{path}", ctx).panel.fingerprint() == from_file.fingerprint()
    assert load(str(folder), ctx).panel.fingerprint() == from_file.fingerprint()
    assert from_file.meta["AAPL"].sector == "Information Technology"


def test_enforce_refuses_and_warn_drops_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path / "dups.csv", [*ROWS, ROWS[1]])
    with pytest.raises(DataError, match="duplicate_date"):
        load(str(path), context(tmp_path, sanity=SanityConfig(mode="enforce")))
    loaded = load(str(path), context(tmp_path))
    assert loaded.panel.shape == (2, 2)
    assert check(str(path), context(tmp_path)).counts_by_rule()["duplicate_date"] == 1


def test_start_and_end_cut_the_panel(tmp_path: Path) -> None:
    path = write(tmp_path / "long.csv", ROWS)
    assert load(str(path), context(tmp_path, start="2017-07-05")).panel.shape == (1, 2)
    with pytest.raises(
        DataError,
        match="no sessions from 2019-01-01 to the end; the data covers 2017-07-03 to 2017-07-05",
    ):
        load(str(path), context(tmp_path, start="2019-01-01"))


def test_unknown_spec_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="neither a known source nor an existing path"):
        load("nowhere:AAPL", context(tmp_path))


def test_parse_symbols() -> None:
    assert parse_symbols(" aapl, MSFT ,aapl") == ("AAPL", "MSFT")
    assert "AAPL" in parse_symbols("@sp500")
    with pytest.raises(DataError, match="no symbols"):
        parse_symbols(" , ")


def test_progress_is_reported_per_download_and_not_for_cache_hits(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    ctx = LoadContext(
        config=DataConfig(start="2024-01-02", end="2024-01-05"),
        cache_dir=tmp_path / "cache",
        now=lambda: NOW,
        transport=httpx.MockTransport(YahooServer()),
        progress=lambda done, total: calls.append((done, total)),
    )
    load("yfinance:AAPL,MSFT", ctx)
    assert sorted(calls) == [(1, 2), (2, 2)]
    load("yfinance:AAPL,MSFT", ctx)
    assert len(calls) == 2
