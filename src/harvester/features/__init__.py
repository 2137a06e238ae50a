"""Causal indicators over the (time × symbols) panel, and the registry that names them.

Examples
--------
>>> from harvester.features import FEATURES
>>> FEATURES.column_name("rsi", {})
'rsi_14'
"""

from harvester.features.registry import (
    FEATURES,
    FeatureRegistry,
    FeatureSpec,
    InsufficientHistoryWarning,
)

__all__ = ["FEATURES", "FeatureRegistry", "FeatureSpec", "InsufficientHistoryWarning"]
