"""The layered config loader.

Layers, lowest first (a later layer wins key by key):

1. built-in defaults (the models' defaults, from the specs);
2. the base JSON file (``--config FILE``, else ``<home>/config.json`` when it exists);
3. the risk profile (``--profile NAME`` or the base file's ``profile`` key): the built-in
   ``risk_low`` / ``risk_balanced`` / ``risk_strict`` or a custom ``<home>/profiles/NAME.json``;
4. the asset-class overrides (``--asset SYMBOL`` → crypto / etf / equity);
5. ``HARVESTER_*`` environment variables (``HARVESTER_RISK_PARAMS__MAX_DRAWDOWN_PCT=10``);
6. command-line flags (``--set risk_params.max_drawdown_pct=10`` and typed flags).

Every layer is checked for unknown keys on its own, so the error names the file (or
variable, or flag) that holds the bad key. The resolved config remembers the source of each
value; ``harvester config show --sources`` prints it.

Examples
--------
>>> resolved = load_config(ConfigRequest(profile="risk_low"), environ={})
>>> resolved.config.risk_params.max_drawdown_pct, resolved.sources["risk_params.max_drawdown_pct"]
(8.0, 'profile risk_low')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harvester.config.layers import (
    Layer,
    check_keys,
    flatten,
    merge,
    nest,
    parse_assignment,
    parse_value,
    read_json_layer,
)
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.core.paths import HarvesterHome, resolve_home
from harvester.domain.asset_class import detect_asset_class

__all__ = [
    "BUILTIN_PROFILES",
    "ConfigRequest",
    "ResolvedConfig",
    "load_config",
    "profile_layer",
]

BUILTIN_PROFILES: tuple[str, ...] = ("risk_balanced", "risk_low", "risk_strict")
ENV_PREFIX = "HARVESTER_"
# Environment variables with the prefix that are settings of the machine, not config keys.
RESERVED_ENV = frozenset({"HOME", "DATABASE_URL", "REDIS_URL", "REQUIRE_SERVICES"})
RESERVED_ENV_PREFIXES = ("TEST_",)


@dataclass(frozen=True, slots=True)
class ConfigRequest:
    """What the caller (usually the CLI) asks for; every field is optional."""

    base_file: Path | None = None
    profile: str | None = None
    asset: str | None = None
    assignments: Sequence[str] = ()
    flags: Mapping[str, Any] = field(default_factory=dict)
    strategy: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedConfig:
    """The validated config, the source of every value, and the home it was loaded for."""

    config: HarvesterConfig
    sources: Mapping[str, str]
    home: HarvesterHome


def _package_json(folder: str, name: str) -> Path | None:
    candidate = resources.files("harvester.config").joinpath(folder, f"{name}.json")
    return Path(str(candidate)) if candidate.is_file() else None


def profile_layer(name: str, home: HarvesterHome) -> Layer:
    """Return the layer of built-in or custom profile ``name``."""
    builtin = _package_json("profiles", name)
    if builtin is not None:
        return read_json_layer(builtin, source=f"profile {name}")
    custom = home.profiles / f"{name}.json"
    if custom.is_file():
        return read_json_layer(custom, source=f"profile {name} ({custom})")
    known = ", ".join(list(BUILTIN_PROFILES) + _custom_profiles(home))
    raise ConfigError(
        f"unknown profile {name!r}; choose one of {known} "
        "or create it with `harvester config create-profile`"
    )


def _custom_profiles(home: HarvesterHome) -> list[str]:
    return sorted(p.stem for p in home.profiles.glob("*.json")) if home.profiles.is_dir() else []


def _base_layer(request: ConfigRequest, home: HarvesterHome) -> Layer | None:
    if request.base_file is not None:
        return read_json_layer(request.base_file)
    default = home.root / "config.json"
    return read_json_layer(default) if default.is_file() else None


def _asset_layer(symbol: str) -> Layer:
    asset_class = detect_asset_class(symbol)
    path = _package_json("asset_classes", asset_class)
    values = read_json_layer(path).values if path is not None else {}
    return Layer(f"asset class {asset_class} ({symbol})", {**values, "asset_class": asset_class})


def _env_layers(environ: Mapping[str, str]) -> list[Layer]:
    layers = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :]
        if key in RESERVED_ENV or key.startswith(RESERVED_ENV_PREFIXES):
            continue
        dotted = ".".join(part.lower() for part in key.split("__"))
        layers.append(Layer(f"environment {name}", nest(dotted, parse_value(environ[name]))))
    return layers


def _cli_layers(request: ConfigRequest) -> list[Layer]:
    layers = [
        Layer(f"--set {a}", parse_assignment(a, source=f"--set {a}")) for a in request.assignments
    ]
    for dotted, value in request.flags.items():
        if value is not None:
            layers.append(Layer(f"command line ({dotted})", nest(dotted, value)))
    return layers


def _collect_layers(
    request: ConfigRequest, environ: Mapping[str, str], home: HarvesterHome
) -> list[Layer]:
    layers: list[Layer] = []
    shipped = _package_json("strategy_configs", request.strategy) if request.strategy else None
    if shipped is not None:
        layers.append(read_json_layer(shipped, source=f"strategy {request.strategy} ({shipped})"))
    base = _base_layer(request, home)
    if base is not None:
        layers.append(base)
    profile = request.profile or (base.values.get("profile") if base else None)
    if profile is not None:
        layers.append(profile_layer(str(profile), home))
        layers.append(Layer(f"profile {profile}", {"profile": str(profile)}))
    if request.asset is not None:
        layers.append(_asset_layer(request.asset))
    return layers + _env_layers(environ) + _cli_layers(request)


def _validation_error(error: ValidationError, sources: Mapping[str, str]) -> ConfigError:
    first = error.errors()[0]
    dotted = ".".join(str(part) for part in first["loc"])
    source = sources.get(dotted) or _nearest_source(dotted, sources)
    found = first.get("input")
    return ConfigError(f"{source}: key {dotted!r}: {first['msg']} (found {found!r})")


def _nearest_source(dotted: str, sources: Mapping[str, str]) -> str:
    for key, source in sources.items():
        if key.startswith(f"{dotted}.") or dotted.startswith(f"{key}."):
            return source
    return "configuration"


def load_config(request: ConfigRequest, *, environ: Mapping[str, str]) -> ResolvedConfig:
    """Resolve the configuration from every layer; raise ConfigError naming the culprit."""
    home = HarvesterHome(resolve_home(environ))
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in _collect_layers(request, environ, home):
        check_keys(layer, HarvesterConfig)
        merged = merge(merged, layer.values)
        sources.update({key: layer.source for key, _ in flatten(layer.values)})
    try:
        config = HarvesterConfig.model_validate(merged)
    except ValidationError as e:
        raise _validation_error(e, sources) from None
    all_sources = {key: sources.get(key, "default") for key, _ in flatten(config.model_dump())}
    return ResolvedConfig(config, all_sources, home)
