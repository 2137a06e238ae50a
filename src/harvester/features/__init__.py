"""Causal indicators over the (time × symbols) panel."""
