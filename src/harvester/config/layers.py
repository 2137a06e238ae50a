"""Config layers as plain nested dicts: reading, key checking against the models, merging.

A layer is a partial config (``{"risk_params": {"max_drawdown_pct": 10}}``) plus the name of
where it came from, so that every error and every resolved value can name its source.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harvester.core.errors import ConfigError

__all__ = ["Layer", "check_keys", "flatten", "merge", "parse_assignment", "read_json_layer"]

Tree = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Layer:
    """One source of configuration values."""

    source: str
    values: Tree


def read_json_layer(path: Path, *, source: str | None = None) -> Layer:
    """Read a JSON object from ``path``; any problem is a one-line ConfigError naming it."""
    label = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found; check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{label}: cannot read it ({e}); save it as UTF-8 JSON") from e
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"{label}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    if not isinstance(values, dict):
        kind = type(values).__name__
        raise ConfigError(f"{label}: expected a JSON object at the top level, found {kind}")
    return Layer(label, values)


def _section_model(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    annotation = model.model_fields[key].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unknown_key_error(source: str, dotted: str, known: list[str]) -> ConfigError:
    leaf = dotted.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(leaf, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(
        f"{source}: unknown key {dotted!r}; {hint}valid keys here: {', '.join(sorted(known))}"
    )


def check_keys(layer: Layer, model: type[BaseModel], *, prefix: str = "") -> None:
    """Raise ConfigError naming the source and the key for the first key ``model`` lacks."""
    _check_tree(layer.values, model, source=layer.source, prefix=prefix)


def _check_tree(
    values: Mapping[str, Any], model: type[BaseModel], *, source: str, prefix: str
) -> None:
    known = list(model.model_fields)
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if key not in model.model_fields:
            raise _unknown_key_error(source, dotted, known)
        section = _section_model(model, key)
        if section is None:
            continue
        if not isinstance(value, dict):
            found = type(value).__name__
            raise ConfigError(f"{source}: key {dotted!r} must be an object, found {found}")
        _check_tree(value, section, source=source, prefix=f"{dotted}.")


def merge(base: Tree, overlay: Mapping[str, Any]) -> Tree:
    """Return ``base`` with ``overlay`` merged in: objects merge key by key, values replace."""
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def flatten(values: Mapping[str, Any], *, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted key, leaf value)`` pairs of a nested dict."""
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, prefix=f"{dotted}.")
        else:
            yield dotted, value


def nest(dotted: str, value: Any) -> Tree:
    """Return ``{"a": {"b": value}}`` for ``"a.b"``."""
    tree: Any = value
    for part in reversed(dotted.split(".")):
        tree = {part: tree}
    result: Tree = tree
    return result


def parse_value(text: str) -> Any:
    """Parse a command-line or environment value: JSON when it parses, else the raw string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignment(text: str, *, source: str) -> Tree:
    """Parse ``key.path=value`` into a nested dict."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"{source}: {text!r} is not key=value; write e.g. risk_params.max_drawdown_pct=10"
        )
    return nest(key.strip(), parse_value(raw.strip()))
