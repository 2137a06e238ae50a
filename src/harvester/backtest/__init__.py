"""The backtest simulator, its results and reports."""
