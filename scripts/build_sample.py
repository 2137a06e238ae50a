"""Build the bundled real-data sample and the bundled universe reference files.

Reads the offline market-data library (``../shared/data`` by default), keeps only files whose
licence allows redistribution, and writes, deterministically (same input, same bytes):

* ``src/harvester/data/sample_data/``: ``prices.parquet`` (daily OHLCV of liquid S&P 500
  stocks, a few per GICS sector), ``benchmark.parquet`` (^GSPC OHLCV), ``aux.parquet`` (VIX
  close and WTI crude oil, each on its own source dates), ``symbols.csv`` and ``README.md``;
* ``src/harvester/data/reference/``: what ``scripts/build_reference.py`` writes (S&P 500
  constituents, current Nasdaq-100 members, S&P 500 membership intervals, ``README.md``).

Usage::

    python scripts/build_sample.py [--shared ../shared/data] [--out src/harvester/data/sample_data]
                                   [--reference-out src/harvester/data/reference]
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from build_reference import (
    DEFAULT_REFERENCE_OUT,
    DEFAULT_SHARED,
    ROOT,
    SOURCE_FILES,
    Source,
    csv_bytes,
    notice,
    read_constituents,
    read_sources,
    reference_files,
    source_table,
    write_files,
)
from harvester.domain.asset_class import detect_asset_class

DEFAULT_OUT = ROOT / "src" / "harvester" / "data" / "sample_data"
PER_SECTOR = 3
LIQUIDITY_SESSIONS = 63
BENCHMARK = "^GSPC"
PRICE_COLUMNS = ["date", "symbol", "open", "high", "low", "close", "volume"]


@dataclass(frozen=True, slots=True)
class Sample:
    """The frames that make up the bundled sample."""

    prices: pd.DataFrame
    benchmark: pd.DataFrame
    aux: pd.DataFrame
    symbols: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp


# -- the sample ----------------------------------------------------------------------------


def read_stocks(shared: Path) -> pd.DataFrame:
    """Return the S&P 500 five-year file in the sample's long layout, sorted by symbol, date."""
    raw = pd.read_csv(shared / SOURCE_FILES["stocks"], parse_dates=["date"])
    frame = raw.rename(columns={"Name": "symbol"})[PRICE_COLUMNS]
    return frame.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


def _clean_symbols(stocks: pd.DataFrame) -> pd.Index:
    """Symbols with a bar on every session, no missing value and consistent OHLC."""
    ohlc_bad = (
        (stocks["high"] < stocks[["open", "close"]].max(axis=1))
        | (stocks["low"] > stocks[["open", "close"]].min(axis=1))
        | (stocks[["open", "high", "low", "close"]].le(0).any(axis=1))
        | (stocks["volume"] <= 0)
        | stocks[PRICE_COLUMNS].isna().any(axis=1)
    )
    per_symbol = stocks.assign(bad=ohlc_bad).groupby("symbol")
    n_sessions = stocks["date"].nunique()
    ok = (per_symbol.size() == n_sessions) & (per_symbol["bad"].sum() == 0)
    return ok.index[ok.to_numpy()]


def select_symbols(stocks: pd.DataFrame, constituents: pd.DataFrame) -> pd.DataFrame:
    """Pick the ``PER_SECTOR`` most liquid clean stocks of every GICS sector.

    Liquidity is the median dollar volume over the first ``LIQUIDITY_SESSIONS`` sessions
    (what a trader could see at the start of the sample, not over the whole period).
    """
    clean = stocks[stocks["symbol"].isin(_clean_symbols(stocks))]
    early = clean.groupby("symbol", sort=True).head(LIQUIDITY_SESSIONS)
    dollars = (early["close"] * early["volume"]).groupby(early["symbol"]).median()
    table = constituents.merge(dollars.rename("dollar_volume"), left_on="symbol", right_index=True)
    table = table.sort_values(["sector", "dollar_volume", "symbol"], ascending=[True, False, True])
    picked = table.groupby("sector", sort=True).head(PER_SECTOR)
    picked = picked.drop(columns="dollar_volume").sort_values("symbol").reset_index(drop=True)
    picked["asset_class"] = [detect_asset_class(s) for s in picked["symbol"]]
    return picked


def read_benchmark(shared: Path) -> pd.DataFrame:
    """Return the ^GSPC rows of the arch index file in the sample's long layout."""
    raw = pd.read_csv(shared / SOURCE_FILES["benchmark"], parse_dates=["date"])
    frame = raw[raw["symbol"] == BENCHMARK][PRICE_COLUMNS]
    return frame.sort_values("date").reset_index(drop=True)


def read_close_series(shared: Path, key: str) -> pd.Series:
    """Return the VIX close or the WTI price as a date-indexed series named ``key``."""
    raw = pd.read_csv(shared / SOURCE_FILES[key])
    date_column, value_column = ("DATE", "CLOSE") if key == "vix" else ("Date", "Price")
    series = pd.Series(
        raw[value_column].to_numpy(dtype=np.float64),
        index=pd.DatetimeIndex(pd.to_datetime(raw[date_column]), name="date"),
        name=key,
    )
    return series.dropna().sort_index()


def common_period(dates: Sequence[pd.DatetimeIndex]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the longest period every source covers: latest first date, earliest last date."""
    start = max(d.min() for d in dates)
    end = min(d.max() for d in dates)
    return pd.Timestamp(start), pd.Timestamp(end)


def _window(series: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Keep ``start``..``end`` plus the last print before ``start`` (for carrying forward)."""
    before = series[series.index < start].tail(1)
    inside = series[(series.index >= start) & (series.index <= end)]
    window: pd.Series = pd.concat([before, inside])
    return window


def build_sample(shared: Path) -> Sample:
    """Read the sources and return the sample frames, cut to their common period."""
    stocks = read_stocks(shared)
    benchmark = read_benchmark(shared)
    closes = [read_close_series(shared, key) for key in ("vix", "oil")]
    start, end = common_period(
        [pd.DatetimeIndex(stocks["date"]), pd.DatetimeIndex(benchmark["date"])]
        + [pd.DatetimeIndex(s.index) for s in closes]
    )
    stocks = stocks[(stocks["date"] >= start) & (stocks["date"] <= end)]
    symbols = select_symbols(stocks, read_constituents(shared))
    prices = stocks[stocks["symbol"].isin(symbols["symbol"])].reset_index(drop=True)
    benchmark = benchmark[(benchmark["date"] >= start) & (benchmark["date"] <= end)]
    aux = pd.concat([_window(s, start, end) for s in closes], axis=1).sort_index()
    return Sample(
        prices=prices,
        benchmark=benchmark.reset_index(drop=True),
        aux=aux.rename_axis("date").reset_index(),
        symbols=symbols,
        start=start,
        end=end,
    )


# -- writing -------------------------------------------------------------------------------


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Encode ``frame`` as zstd Parquet with ``date`` as a date32 column; no pandas index."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    dates = table.column("date").cast(pa.date32())
    table = table.set_column(table.schema.get_field_index("date"), "date", dates)
    table = table.replace_schema_metadata(None)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", compression_level=9)
    return buffer.getvalue()


def sample_files(sample: Sample, sources: dict[str, Source]) -> dict[str, bytes]:
    """Return the sample's file names and contents, README last (it lists the others)."""
    files = {
        "prices.parquet": _parquet_bytes(sample.prices),
        "benchmark.parquet": _parquet_bytes(sample.benchmark),
        "aux.parquet": _parquet_bytes(sample.aux),
        "symbols.csv": csv_bytes(sample.symbols),
    }
    files["README.md"] = sample_readme(sample, sources, files).encode("utf-8")
    return files


# -- the sample README -------------------------------------------------------------------------


def _day(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d")


def _file_table(sample: Sample, files: dict[str, bytes]) -> list[str]:
    rows = {
        "prices.parquet": ("daily OHLCV, long: " + ", ".join(PRICE_COLUMNS), len(sample.prices)),
        "benchmark.parquet": (f"{BENCHMARK} daily OHLCV, same columns", len(sample.benchmark)),
        "aux.parquet": (
            "date, vix, oil; each on its own source dates, from the last print before the "
            "period (NaN where a source has no print)",
            len(sample.aux),
        ),
        "symbols.csv": ("symbol, name, sector, sub_industry, asset_class", len(sample.symbols)),
    }
    lines = ["| file | contents | rows | bytes |", "|---|---|---:|---:|"]
    for name, (what, count) in rows.items():
        lines.append(f"| `{name}` | {what} | {count:,} | {len(files[name]):,} |")
    return lines


def _symbol_table(symbols: pd.DataFrame) -> list[str]:
    lines = ["| GICS sector | symbols |", "|---|---|"]
    for sector, group in symbols.groupby("sector", sort=True):
        named = ", ".join(f"{s} ({n})" for s, n in zip(group["symbol"], group["name"], strict=True))
        lines.append(f"| {sector} | {named} |")
    return lines


def _aux_counts(aux: pd.DataFrame) -> str:
    counts = {column: int(aux[column].notna().sum()) for column in ("vix", "oil")}
    return f"VIX closes: {counts['vix']:,}; WTI prints: {counts['oil']:,}"


CAVEATS = f"""\
- **Split-adjusted only.** The stock prices are IEX chart data (via pandas-datareader, Feb 2018):
  adjusted for splits, dividend adjustment not documented (assume none), so price returns
  understate total returns by the dividend yield.
- **Survivorship bias.** The stock file holds only the firms that were S&P 500 members in
  February 2018, and a firm also needs a row in the (newer) constituents file for its sector.
  Results on this sample flatter strategies; use the membership intervals
  (`harvester.data.universes.members_on`) and a wider data source for survivorship-aware work.
- **Selection.** Per GICS sector the {PER_SECTOR} stocks with the highest median dollar volume
  over the first {LIQUIDITY_SESSIONS} sessions, among those with a bar on every session, no
  missing value, positive prices and volume, and consistent OHLC (low <= open, close <= high).
  So every symbol has the full history and no bar breaks the OHLC rules.
- **Sectors and names are today's**, taken from the constituents snapshot, not as of
  2013-2018 (Communication Services only exists since September 2018; GE is called
  "GE Aerospace").
- **Index and VIX.** {BENCHMARK} comes from Yahoo Finance downloads shipped inside the `arch`
  package (NCSA licence); the VIX file is packaged under ODC-PDDL-1.0 while CBOE states no
  licence of its own. Index volume is Yahoo's reported figure.
- **Auxiliary dates.** VIX and oil are stored on their own source dates (NaN where a source
  has no print), the benchmark on its own rows; `load_sample` aligns them to the stock
  sessions by carrying the last print forward (EIA has no WTI print on some NYSE sessions,
  e.g. 2017-07-03).
"""

ARCH_NOTICE = """\
Developed by: Kevin Sheppard (<kevin.sheppard@economics.ox.ac.uk>, <kevin.k.sheppard@gmail.com>)
http://www.kevinsheppard.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal with the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

Redistributions of source code must retain the above copyright notice, this list of
conditions and the following disclaimers.

Redistributions in binary form must reproduce the above copyright notice, this list of
conditions and the following disclaimers in the documentation and/or other materials provided
with the distribution.

Neither the names of Kevin Sheppard, nor the names of its contributors may be used to endorse
or promote products derived from this Software without specific prior written permission.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE CONTRIBUTORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS WITH THE SOFTWARE.
"""


def _notices() -> list[str]:
    return [
        "## Licence notices",
        "",
        "The stock prices (CC0), the VIX (ODC-PDDL-1.0), the WTI price (public domain) and the",
        "sectors (ODC-PDDL-1.0) need no notice. The benchmark comes from the `arch` package:",
        "",
        *notice(
            "`benchmark.parquet`: arch, University of Illinois/NCSA Open Source License",
            "Copyright (c) 2014 Kevin Sheppard. All rights reserved.",
            ARCH_NOTICE,
        ),
    ]


def sample_readme(sample: Sample, sources: dict[str, Source], files: dict[str, bytes]) -> str:
    """Return the provenance README of the bundled sample."""
    used = [sources[k] for k in ("stocks", "benchmark", "vix", "oil", "sp500")]
    n_symbols, n_sectors = len(sample.symbols), sample.symbols["sector"].nunique()
    lines = [
        f"# Bundled sample: US daily market data, {_day(sample.start)} to {_day(sample.end)}",
        "",
        "Written by `scripts/build_sample.py`; do not edit by hand, rebuild instead.",
        "Load it with `harvester.data.bundled.load_sample()`.",
        "",
        f"{n_symbols} S&P 500 stocks in {n_sectors} GICS sectors, {BENCHMARK} as benchmark, "
        f"the CBOE VIX close and the EIA WTI crude oil spot price. Period: the longest period "
        f"all sources cover, {_day(sample.start)} to {_day(sample.end)} "
        f"({sample.prices['date'].nunique():,} NYSE sessions). {_aux_counts(sample.aux)}.",
        "",
        "## Files",
        "",
        *_file_table(sample, files),
        "",
        "## Sources and licences",
        "",
        *source_table(used),
        "",
        "## Symbols",
        "",
        *_symbol_table(sample.symbols),
        "",
        "## Caveats",
        "",
        CAVEATS,
        *_notices(),
    ]
    return "\n".join(lines)


# -- entry point ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line; defaults are relative to the repository root."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--reference-out", type=Path, default=DEFAULT_REFERENCE_OUT)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the sample and the reference files; return the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sources = read_sources(args.shared)
    sample = build_sample(args.shared)
    print(f"period {_day(sample.start)} to {_day(sample.end)}; symbols by sector:")
    for sector, group in sample.symbols.groupby("sector", sort=True):
        print(f"  {sector}: {' '.join(group['symbol'])}")
    write_files(args.out, sample_files(sample, sources))
    write_files(args.reference_out, reference_files(args.shared, sources))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
