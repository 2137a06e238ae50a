"""Transitional re-export; import from ``harvester.domain.asset_class``."""

from harvester.domain.asset_class import ASSET_CLASSES, AssetClass, detect_asset_class

__all__ = ["ASSET_CLASSES", "AssetClass", "detect_asset_class"]
