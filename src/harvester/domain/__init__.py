"""Domain types shared by backtest, paper and live: asset classes now; orders and fills later."""
