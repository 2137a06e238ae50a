"""Running strategies day by day: brokers (paper, Alpaca, Interactive Brokers) and the
daily job that replays the engine up to today and acts on the last bar."""
