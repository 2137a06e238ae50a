"""Custom risk profiles (the Composer spec's ``create_profile_config``) and file validation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harvester.config.layers import Layer, check_keys, merge, parse_assignment, read_json_layer
from harvester.config.loader import BUILTIN_PROFILES, profile_layer
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.core.paths import HarvesterHome, atomic_path

__all__ = ["create_profile", "validate_config_file"]

_VALID_NAME = "letters, digits, '-' and '_'"


def _validated(layer: Layer) -> HarvesterConfig:
    check_keys(layer, HarvesterConfig)
    try:
        return HarvesterConfig.model_validate(layer.values)
    except ValidationError as e:
        first = e.errors()[0]
        dotted = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{layer.source}: key {dotted!r}: {first['msg']}") from None


def validate_config_file(path: Path) -> HarvesterConfig:
    """Check one JSON config file on top of the defaults; return the config it yields."""
    return _validated(read_json_layer(path))


def create_profile(
    name: str,
    assignments: Sequence[str],
    *,
    home: HarvesterHome,
    based_on: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``<home>/profiles/NAME.json`` from ``key=value`` assignments; return its path.

    ``based_on`` copies another profile's values first. The result is validated before it
    is written, and the file is written atomically, so a bad value leaves nothing behind.
    """
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"profile name {name!r} may only contain {_VALID_NAME}")
    if name in BUILTIN_PROFILES:
        raise ConfigError(f"{name!r} is a built-in profile; choose another name")
    target = home.profiles / f"{name}.json"
    if target.exists() and not overwrite:
        raise ConfigError(f"profile {name!r} exists at {target}; pass --force to replace it")
    values: dict[str, Any] = profile_layer(based_on, home).values if based_on else {}
    for text in assignments:
        values = merge(values, parse_assignment(text, source=f"--set {text}"))
    _validated(Layer(f"profile {name}", values))
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target
