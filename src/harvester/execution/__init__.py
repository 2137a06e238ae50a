"""Execution core: fill prices, slippage and commission, shared by backtest and live."""
