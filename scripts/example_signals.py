"""Write a moving-average crossover signals file for the bundled sample.

Usage: python scripts/example_signals.py OUT.csv [--fast 20] [--slow 100]

Long while the fast average of the close is above the slow one, flat otherwise; one row per
symbol and date where that state changes. It shows the ``date,symbol,signal`` format that
``harvester backtest --strategy signals`` reads; it is not a recommended strategy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from harvester.data.bundled import load_sample


def crossover_signals(close: pd.DataFrame, *, fast: int, slow: int) -> pd.DataFrame:
    """Return the rows where the fast/slow average state of a symbol changes."""
    above = close.rolling(fast).mean() > close.rolling(slow).mean()
    state = above.astype(int).where(close.rolling(slow).mean().notna())
    changes = pd.Series(state[state.ne(state.shift())].stack()).dropna().astype(int)
    frame = changes.rename_axis(["date", "symbol"]).reset_index(name="signal")
    return frame.sort_values(["date", "symbol"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--fast", type=int, default=20)
    parser.add_argument("--slow", type=int, default=100)
    args = parser.parse_args()
    signals = crossover_signals(load_sample().frame("close"), fast=args.fast, slow=args.slow)
    signals.to_csv(args.out, index=False, date_format="%Y-%m-%d")
    print(f"wrote {len(signals)} signals to {args.out}")


if __name__ == "__main__":
    main()
