"""The description of one registered feature (re-exported by the registry)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray

ParamValue = int | float
Params = Mapping[str, ParamValue]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature: its name, inputs, default parameters, warm-up and pure function.

    Attributes
    ----------
    name
        Registry key and column-name prefix, e.g. ``"rsi"``.
    fields
        Panel fields passed positionally to ``function``, e.g. ``("high", "low", "close")``;
        a panel without one of them is a :class:`~harvester.core.errors.DataError`.
    defaults
        Parameter names and default values, in column-name order.
    warmup
        Bars of a symbol's history before its first valid value, given resolved params.
    function
        ``function(*fields, *optional_fields, *aux, **params)`` returning a
        (time × symbols) float64 array.
    optional_fields
        Per-symbol fields passed after ``fields``; an all-NaN array when the panel lacks
        them (the function documents its fallback, e.g. the volume proxy for attention).
    aux
        Market-wide auxiliary series (``panel.aux``, 1-D arrays on the panel's index)
        passed last, e.g. ``("vix",)``; a panel without one is a ``DataError``.
    """

    name: str
    fields: tuple[str, ...]
    defaults: Params
    warmup: Callable[[Params], int]
    function: Callable[..., FloatArray]
    optional_fields: tuple[str, ...] = ()
    aux: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    def resolve(self, params: Params) -> dict[str, ParamValue]:
        """Return the defaults updated with ``params``; reject unknown parameter names."""
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ConfigError(
                f"feature {self.name!r} has no parameter(s) {sorted(unknown)}; "
                f"its parameters are {list(self.defaults)}"
            )
        return {**self.defaults, **params}
