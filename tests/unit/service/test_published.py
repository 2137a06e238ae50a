"""The encoded trade table filters as pandas does; ``records`` cleans as it always did."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.app.serve import filter_trades, records
from harvester.service.published import TradeRows
from harvester.service.refresh import encode_trades

SYMBOLS = ("AAPL", "MSFT", None)
REGIMES = ("trend", "chop", None)
EXITS = ("take_profit", "stop_loss", None)


def _journal(rows: list[tuple[str | None, str | None, str | None, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "exit_date": [date(2024, 1, 1 + i % 28) for i in range(len(rows))],
            "symbol": [r[0] for r in rows],
            "regime": [r[1] for r in rows],
            "exit_reason": [r[2] for r in rows],
            "pnl": [r[3] for r in rows],
            "bars_held": list(range(len(rows))),
        }
    )


def _filter(values: tuple[str | None, ...]) -> st.SearchStrategy[str | None]:
    # every value, no filter (None), an empty string (no filter either) and an unknown value
    return st.sampled_from([*values, "", "unknown", "ZZZ"])


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(SYMBOLS),
            st.sampled_from(REGIMES),
            st.sampled_from(EXITS),
            st.sampled_from([1.5, -2.0, math.nan, math.inf]),
        ),
        max_size=40,
    ),
    symbol=_filter(SYMBOLS),
    regime=_filter(REGIMES),
    exit_type=_filter(EXITS),
    limit=st.one_of(st.none(), st.integers(1, 50)),
)
def test_select_equals_pandas_filter_trades(
    rows: list[tuple[str | None, str | None, str | None, float]],
    symbol: str | None,
    regime: str | None,
    exit_type: str | None,
    limit: int | None,
) -> None:
    journal = _journal(rows)
    table = encode_trades(journal, block_rows=3)  # small blocks: selections cross them
    got = table.select(symbol=symbol, regime=regime, exit_type=exit_type, limit=limit)
    expected = records(
        filter_trades(journal, symbol=symbol, regime=regime, exit_type=exit_type, limit=limit)
    )
    assert [json.loads(r) for r in got] == expected
    body = json.loads(table.response(got))
    assert body["count"] == len(expected)
    assert body["filters"] == {
        "symbol": sorted(journal["symbol"].dropna().unique()),
        "regime": sorted(journal["regime"].fillna("unknown").unique()),
        "exit_type": sorted(journal["exit_reason"].dropna().unique()),
    }


def test_an_empty_table_answers_an_empty_list() -> None:
    table = TradeRows.build(())
    assert json.loads(table.response(table.select(symbol="AAPL", limit=5))) == {
        "count": 0,
        "trades": [],
        "filters": {"symbol": [], "regime": [], "exit_type": []},
    }


def test_records_cleans_each_kind_of_column() -> None:
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan, -np.inf],
            "i": np.array([1, 2, 3], dtype=np.int64),
            "b": [True, False, True],
            "d": [date(2024, 1, 2), None, date(2024, 1, 4)],
            "s": ["a", None, np.nan],
            "t": pd.Series([pd.Timestamp("2024-01-02 03:04"), pd.NaT, pd.Timestamp("2024-01-04")]),
            "n": pd.array([1.0, None, 2.5], dtype="Float64"),
        }
    )
    expected: list[dict[str, Any]] = [
        {"f": 1.5, "i": 1, "b": True, "d": "2024-01-02", "s": "a",
         "t": "2024-01-02T03:04:00", "n": 1.0},
        {"f": None, "i": 2, "b": False, "d": None, "s": None, "t": None, "n": None},
        {"f": None, "i": 3, "b": True, "d": "2024-01-04", "s": None,
         "t": "2024-01-04T00:00:00", "n": 2.5},
    ]  # fmt: skip
    got = records(frame)
    assert got == expected
    assert [type(v) for v in got[0].values()] == [float, int, bool, str, str, str, float]
    assert records(frame.iloc[:0]) == []
