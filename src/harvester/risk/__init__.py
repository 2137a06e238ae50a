"""Risk rules: position sizing and exit levels, pure functions on numbers."""
