"""The bundled sample: real US daily market data shipped inside the package.

Every command works offline on this sample. It holds daily OHLCV of 33 liquid S&P 500 stocks
(three per GICS sector) from 2013-02-08 to 2018-02-07, the S&P 500 index (``^GSPC``) as
benchmark, the CBOE VIX close and the EIA WTI crude oil price. ``sample_provenance()`` returns
the sources, licences and caveats (split-adjusted prices, survivorship bias); the files are
rebuilt by ``scripts/build_sample.py``.

Examples
--------
>>> panel = load_sample()
>>> panel.shape
(1259, 33)
>>> sorted(panel.aux)
['benchmark', 'oil', 'vix']
>>> panel.meta["AAPL"].sector
'Information Technology'
"""

from __future__ import annotations

import io
from importlib import resources
from importlib.resources.abc import Traversable

import pandas as pd
import pyarrow.parquet as pq

from harvester.core.errors import DataError
from harvester.data.panel import Panel, SymbolMeta
from harvester.domain.asset_class import ASSET_CLASSES, AssetClass

__all__ = [
    "SAMPLE_AUX",
    "SAMPLE_BENCHMARK",
    "load_sample",
    "load_sample_benchmark",
    "sample_provenance",
    "sample_symbols",
]

SAMPLE_BENCHMARK = "^GSPC"
SAMPLE_AUX: tuple[str, ...] = ("benchmark", "vix", "oil")
_PACKAGE = "harvester.data.sample_data"


def _resource(name: str) -> Traversable:
    resource = resources.files(_PACKAGE) / name
    if not resource.is_file():
        raise DataError(
            f"bundled sample file {name!r} is missing from {_PACKAGE}; reinstall harvester, "
            "or run scripts/build_sample.py in a source checkout"
        )
    return resource


def _read_parquet(name: str) -> pd.DataFrame:
    table = pq.read_table(io.BytesIO(_resource(name).read_bytes()))
    frame: pd.DataFrame = table.to_pandas(date_as_object=False)
    frame["date"] = frame["date"].astype("datetime64[ns]")
    return frame


def _asset_class(value: str, *, symbol: str) -> AssetClass:
    for asset_class in ASSET_CLASSES:
        if value == asset_class:
            return asset_class
    raise DataError(
        f"symbols.csv: symbol {symbol!r} has asset class {value!r}; expected one of "
        f"{', '.join(ASSET_CLASSES)}; rebuild with scripts/build_sample.py"
    )


def sample_symbols() -> pd.DataFrame:
    """Return the sample's symbols with their metadata.

    Returns
    -------
    pandas.DataFrame
        One row per symbol, sorted by symbol, with string columns ``symbol``, ``name``,
        ``sector`` (GICS), ``sub_industry`` and ``asset_class``.
    """
    with _resource("symbols.csv").open("rb") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def load_sample_benchmark() -> pd.DataFrame:
    """Return the sample's benchmark, the S&P 500 index (``^GSPC``), as daily OHLCV.

    Returns
    -------
    pandas.DataFrame
        Indexed by session date (``date``) with float columns ``open``, ``high``, ``low``,
        ``close`` and ``volume``, 2013-02-08 to 2018-02-07.
    """
    frame = _read_parquet("benchmark.parquet").drop(columns="symbol").set_index("date")
    return frame.astype("float64")


def _aux_series(benchmark: pd.DataFrame) -> dict[str, pd.Series]:
    aux = _read_parquet("aux.parquet").set_index("date")
    series = {"benchmark": benchmark["close"]}
    series.update({name: aux[name].dropna() for name in ("vix", "oil")})
    return series


def _meta(symbols: pd.DataFrame) -> dict[str, SymbolMeta]:
    columns = ("symbol", "asset_class", "name", "sector")
    rows = zip(*(symbols[c] for c in columns), strict=True)
    return {
        symbol: SymbolMeta(_asset_class(kind, symbol=symbol), name=name, sector=sector)
        for symbol, kind, name, sector in rows
    }


def load_sample(*, include_benchmark: bool = False) -> Panel:
    """Load the bundled sample as a Panel.

    Parameters
    ----------
    include_benchmark : bool, default False
        Also add the benchmark ``^GSPC`` as a symbol (asset class ``etf``), for strategies
        that trade the index itself. It is always available as auxiliary series
        ``benchmark``.

    Returns
    -------
    Panel
        Fields ``open``, ``high``, ``low``, ``close``, ``volume`` on the 1,259 NYSE
        sessions; auxiliary series ``benchmark`` (^GSPC close), ``vix`` (VIX close) and
        ``oil`` (WTI spot, USD/bbl), each carried forward causally to the stock sessions;
        ``SymbolMeta(asset_class, name, sector)`` per symbol.

    Raises
    ------
    DataError
        When a bundled file is missing or damaged (a broken install).
    """
    prices = _read_parquet("prices.parquet")
    benchmark = _read_parquet("benchmark.parquet")
    meta = _meta(sample_symbols())
    if include_benchmark:
        prices = pd.concat([prices, benchmark], ignore_index=True)
        meta[SAMPLE_BENCHMARK] = SymbolMeta("etf", name="S&P 500 index")
    aux = _aux_series(benchmark.set_index("date"))
    return Panel.from_long(prices, aux=aux, meta=meta)


def sample_provenance() -> str:
    """Return the sample's README: sources, upstream commits, licences, symbols and caveats."""
    return _resource("README.md").read_text(encoding="utf-8")
