"""Search spaces: which config keys an optimisation varies, and over what range.

A :class:`Param` names a key of :class:`~harvester.config.models.HarvesterConfig` by its
dotted path (``strategies.composer.entry_threshold``, ``composer.temperature``,
``signals.panic_threshold`` ...) and its range: ``int`` or ``float`` between ``low`` and
``high`` (optionally on a ``step`` grid), ``log`` (a float drawn on a log scale) or
``categorical`` (a list of values). A :class:`SearchSpace` is a tuple of them;
:data:`DEFAULT_SPACES` holds one per built-in strategy.

On the command line a parameter is written ``PATH=SPEC`` (:func:`parse_param`):

- ``strategies.composer.entry_threshold=0.1:0.6``: a float range (an int range when both
  ends are integers: ``strategies.consensus.min_sources=1:4``);
- ``composer.temperature=0.25:4:log``: a log-scale float range;
- ``strategies.composer.momentum_lookback=10:60:10``: a range on a step grid;
- ``strategies.rally.named_config=baseline,aggressive``: a categorical choice (values are
  parsed like ``--set`` values: ``true``, ``3``, ``0.5``, text).

:func:`apply_params` writes a trial's values into a config and validates the result through
the pydantic models; an invalid combination (``exit_threshold`` above ``entry_threshold``,
a value out of its bounds) raises a one-line :class:`ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import ValidationError

from harvester.config.layers import Layer, check_keys, merge, nest, parse_value
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError

if TYPE_CHECKING:
    import optuna

__all__ = [
    "DEFAULT_SPACES",
    "GRID_POINTS",
    "Param",
    "ParamKind",
    "SearchSpace",
    "apply_params",
    "default_space",
    "grid_space",
    "overrides",
    "parse_param",
    "parse_space",
]

ParamKind = Literal["int", "float", "log", "categorical"]
GRID_POINTS = 5
"""Points per numeric range on a grid (``--sampler grid``) when the range has no step."""


@dataclass(frozen=True, slots=True)
class Param:
    """One searched config key: ``path`` and its range (see the module docstring)."""

    path: str
    kind: ParamKind
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "categorical":
            if not self.choices:
                raise ConfigError(f"--param {self.path}: a categorical parameter needs values")
            return
        if self.low is None or self.high is None or not self.low <= self.high:
            raise ConfigError(
                f"--param {self.path}: range {self.low}:{self.high} needs low <= high"
            )
        if self.kind == "log" and self.low <= 0:
            raise ConfigError(f"--param {self.path}: a log range needs low > 0, got {self.low}")
        if self.step is not None and self.step <= 0:
            raise ConfigError(f"--param {self.path}: step must be above 0, got {self.step}")

    def suggest(self, trial: optuna.Trial) -> Any:
        """Draw this parameter's value for ``trial`` (Optuna's name is the dotted path)."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.path, list(self.choices))
        assert self.low is not None and self.high is not None  # checked in __post_init__
        if self.kind == "int":
            step = 1 if self.step is None else int(self.step)
            return trial.suggest_int(self.path, int(self.low), int(self.high), step=step)
        if self.kind == "log":
            return trial.suggest_float(self.path, self.low, self.high, log=True)
        return trial.suggest_float(self.path, self.low, self.high, step=self.step)

    def grid(self, points: int = GRID_POINTS) -> list[Any]:
        """The values a grid search tries: the choices, the step grid, or ``points`` values
        spread evenly (geometrically for ``log``) from low to high."""
        if self.kind == "categorical":
            return list(self.choices)
        assert self.low is not None and self.high is not None
        if self.step is not None:
            count = int(np.floor((self.high - self.low) / self.step + 1e-9)) + 1
            values = [self.low + k * self.step for k in range(count)]
        elif self.kind == "log":
            values = list(np.geomspace(self.low, self.high, points))
        elif self.kind == "int" and self.high - self.low + 1 <= points:
            values = list(range(int(self.low), int(self.high) + 1))
        else:
            values = list(np.linspace(self.low, self.high, points))
        if self.kind == "int":
            return sorted({round(float(v)) for v in values})
        return [round(float(v), 12) for v in values]

    def describe(self) -> str:
        """The ``--param`` text of this parameter."""
        if self.kind == "categorical":
            return f"{self.path}=" + ",".join(_text(c) for c in self.choices)
        tail = ":log" if self.kind == "log" else "" if self.step is None else f":{self.step:g}"
        return f"{self.path}={self.low:g}:{self.high:g}{tail}"


SearchSpace = tuple[Param, ...]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _number(text: str, *, spec: str) -> float | int:
    value = parse_value(text.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"--param {spec}: {text!r} is not a number")
    return value


def parse_param(spec: str) -> Param:
    """Parse one ``PATH=SPEC`` (see the module docstring); the path must be a config key.

    Raises
    ------
    ConfigError
        On a missing ``=``, an unknown key, a bad number or an empty range.
    """
    path, sep, body = spec.partition("=")
    path, body = path.strip(), body.strip()
    if not sep or not path or not body:
        raise ConfigError(f"--param {spec!r}: expected PATH=LOW:HIGH[:log|:STEP] or PATH=A,B,C")
    _check_path(path, source=f"--param {spec}")
    if ":" not in body:
        return Param(
            path, "categorical", choices=tuple(parse_value(v.strip()) for v in body.split(","))
        )
    parts = body.split(":")
    if len(parts) not in (2, 3):
        raise ConfigError(f"--param {spec!r}: expected LOW:HIGH, LOW:HIGH:log or LOW:HIGH:STEP")
    low, high = (_number(p, spec=spec) for p in parts[:2])
    if len(parts) == 3 and parts[2].strip().lower() == "log":
        return Param(path, "log", float(low), float(high))
    step = _number(parts[2], spec=spec) if len(parts) == 3 else None
    whole = all(isinstance(v, int) for v in (low, high, step) if v is not None)
    kind: ParamKind = "int" if whole else "float"
    return Param(path, kind, low, high, None if step is None else step)


def parse_space(specs: Sequence[str]) -> SearchSpace:
    """Parse several ``--param`` texts; a path given twice is an error."""
    params = tuple(parse_param(s) for s in specs)
    paths = [p.path for p in params]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise ConfigError(f"--param given more than once for {', '.join(twice)}")
    return params


def _check_path(path: str, *, source: str) -> None:
    check_keys(Layer(source, nest(path, None)), HarvesterConfig)


DEFAULT_SPACES: Mapping[str, SearchSpace] = {
    "composer": (
        Param("strategies.composer.entry_threshold", "float", 0.15, 0.6),
        Param("strategies.composer.exit_threshold", "float", 0.0, 0.14),
        Param("strategies.composer.momentum_lookback", "int", 15, 60, step=5),
        Param("strategies.composer.w_trend_momentum", "float", -1.0, 3.0),
        Param("strategies.composer.w_chop_mean_reversion", "float", -1.0, 3.0),
        Param("composer.temperature", "log", 0.25, 4.0),
    ),
    "consensus": (
        Param("strategies.consensus.min_sources", "int", 1, 4),
        Param("strategies.consensus.momentum_lookback", "int", 5, 40, step=5),
        Param("strategies.consensus.technical_threshold", "float", 0.05, 0.5),
        Param("strategies.consensus.zscore_mean_reversion_buy", "float", -3.0, -1.0),
    ),
    "panic": (
        Param("signals.panic_threshold", "float", 1.5, 5.0),
        Param("strategies.panic.cri_threshold", "float", 0.0, 0.8),
        Param("strategies.panic.return_lookback", "int", 1, 10),
        Param("strategies.panic.contrarian", "categorical", choices=(True, False)),
    ),
    "rally": (
        Param("strategies.rally.p_threshold", "float", 0.4, 0.8),
        Param("strategies.rally.comp_threshold", "float", 0.0, 0.6),
        Param(
            "strategies.rally.named_config",
            "categorical",
            choices=("baseline", "conservative", "aggressive", "concentrated"),
        ),
    ),
}
"""The space searched when no ``--param`` is given, per built-in strategy."""


def default_space(strategy: str) -> SearchSpace:
    """The default space of ``strategy``; ConfigError for a strategy that has none."""
    try:
        return DEFAULT_SPACES[strategy]
    except KeyError:
        known = ", ".join(sorted(DEFAULT_SPACES))
        raise ConfigError(
            f"no default search space for strategy {strategy!r} ({known} have one); "
            "give the parameters with --param PATH=LOW:HIGH"
        ) from None


def grid_space(space: SearchSpace, points: int = GRID_POINTS) -> dict[str, list[Any]]:
    """Optuna's GridSampler search space: every parameter's grid values."""
    return {p.path: p.grid(points) for p in space}


def overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """The nested config document of dotted ``values`` (only those keys)."""
    tree: dict[str, Any] = {}
    for path in sorted(values):
        tree = merge(tree, nest(path, values[path]))
    return tree


def apply_params(config: HarvesterConfig, values: Mapping[str, Any]) -> HarvesterConfig:
    """Return ``config`` with the dotted ``values`` set, validated by the pydantic models.

    Raises
    ------
    ConfigError
        One line naming the offending key, on an unknown key or an invalid value or
        combination (e.g. ``strategies.composer``: exit_threshold must be below
        entry_threshold).
    """
    for path in values:
        _check_path(path, source="trial parameters")
    merged = merge(config.model_dump(), overrides(values))
    try:
        return HarvesterConfig.model_validate(merged)
    except ValidationError as e:
        first = e.errors()[0]
        dotted = ".".join(str(part) for part in first["loc"])
        found = first.get("input")
        if isinstance(found, Mapping):  # a model rule: show only the trial's keys in it
            found = {k: v for k, v in found.items() if f"{dotted}.{k}" in values}
        raise ConfigError(
            f"trial parameters: key {dotted!r}: {first['msg']} (found {found!r})"
        ) from None
