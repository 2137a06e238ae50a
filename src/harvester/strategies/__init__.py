"""Strategies: features and positions in, ``Signals`` out; they never place orders."""
