"""The feature registry: every built-in feature with its parameters, warm-up and inputs.

A :class:`FeatureSpec` describes one feature: the panel fields it reads, its default
parameters, its warm-up (bars of a symbol's history before the first valid value) and a pure
function ``(arrays..., **params) -> (time × symbols) array``. :data:`FEATURES` is the one
immutable registry of the built-ins, built once from a tuple; nothing registers at import.

A panel shorter than a feature's warm-up gives an all-NaN result and an
:class:`InsufficientHistoryWarning` (a ``warnings.warn``, so callers choose to silence or
escalate it), never an error.

Examples
--------
>>> FEATURES.column_name("macd", {})
'macd_12_26_9'
>>> FEATURES.column_name("bb_width", {"period": 20})
'bb_width_20_2'
>>> FEATURES["rsi"].warmup({"period": 14})
14
"""

from __future__ import annotations

import contextvars
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from harvester.core.errors import ConfigError, DataError
from harvester.core.memory import release_freed_memory
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.features._builtin import BUILTIN_SPECS
from harvester.features._memo import sharing
from harvester.features._spec import FeatureSpec, ParamValue

__all__ = [
    "FEATURES",
    "FeatureRegistry",
    "FeatureSpec",
    "InsufficientHistoryWarning",
    "ParamValue",
]


class InsufficientHistoryWarning(UserWarning):
    """The panel has fewer bars than a feature's warm-up; its values are all NaN."""


def _format(value: ParamValue) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True, slots=True)
class FeatureRegistry(Mapping[str, FeatureSpec]):
    """An immutable name → :class:`FeatureSpec` mapping that computes features on a Panel."""

    specs: Mapping[str, FeatureSpec] = field(default_factory=dict)

    @classmethod
    def from_specs(cls, specs: tuple[FeatureSpec, ...]) -> FeatureRegistry:
        """Build a registry from specs with unique names."""
        by_name = {spec.name: spec for spec in specs}
        if len(by_name) != len(specs):
            raise ConfigError("feature names must be unique")
        return cls(MappingProxyType(by_name))

    def __getitem__(self, name: str) -> FeatureSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise ConfigError(f"unknown feature {name!r}; known: {sorted(self.specs)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def __iter__(self) -> Iterator[str]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def column_name(self, name: str, params: Mapping[str, ParamValue]) -> str:
        """Return the column name of ``name`` with ``params``, e.g. ``rsi_14``."""
        resolved = self[name].resolve(params)
        return "_".join([name, *(_format(value) for value in resolved.values())])

    def compute(self, panel: Panel, name: str, **params: ParamValue) -> FloatArray:
        """Compute feature ``name`` on every symbol of ``panel``.

        Parameters
        ----------
        panel
            The market data; the feature reads the fields and aux series its spec names.
        name
            A registered feature name.
        **params
            Overrides of the feature's default parameters.

        Returns
        -------
        numpy.ndarray
            Float64 values of shape ``panel.shape``, NaN before the warm-up and on
            missing bars.

        Raises
        ------
        ConfigError
            For an unknown feature or parameter.
        DataError
            When the panel lacks a field or auxiliary series the feature reads.
        """
        spec = self[name]
        resolved = spec.resolve(params)
        inputs = _inputs(spec, panel)
        warmup = spec.warmup(resolved)
        if panel.shape[0] <= warmup:
            warnings.warn(
                f"feature {self.column_name(name, resolved)} needs more than {warmup} bars; "
                f"the panel has {panel.shape[0]}, so every value is NaN",
                InsufficientHistoryWarning,
                stacklevel=2,
            )
            return np.full(panel.shape, np.nan)
        return spec.function(*inputs, **resolved)

    def compute_many(
        self,
        panel: Panel,
        names: tuple[str, ...],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, FloatArray]:
        """Compute several features (default parameters), sharing their common pieces.

        The values equal :meth:`compute`'s one by one; intermediate arrays that several
        features read (an SMA, a realised volatility, a percentile rank) are computed once.
        The returned arrays are read-only. ``progress(done, total)`` is called after each.
        """
        results: dict[str, FloatArray] = {}
        lock = threading.Lock()

        def work(share: tuple[str, ...]) -> None:
            for name in share:
                values = self.compute(panel, name)
                with lock:
                    results[name] = values
                    if progress is not None:
                        progress(len(results), len(names))

        # Two workers, each in the same sharing context: the kernels release the GIL, so
        # one worker's kernels run while the other's Python glue does.
        with sharing():
            context = contextvars.copy_context()
            shares = (names[0::2], names[1::2])
            with ThreadPoolExecutor(max_workers=2) as pool:
                for future in [pool.submit(context.copy().run, work, s) for s in shares]:
                    future.result()
        # The shared intermediates are gone; their pages sit in the workers' malloc arenas.
        release_freed_memory()
        return {name: results[name] for name in names}


def _inputs(spec: FeatureSpec, panel: Panel) -> list[FloatArray]:
    missing = [f for f in spec.fields if f not in panel.fields]
    missing += [f"aux {a}" for a in spec.aux if a not in panel.aux]
    if missing:
        raise DataError(
            f"feature {spec.name!r} needs input(s) {missing} that the panel lacks; "
            f"it has fields {sorted(panel.fields)} and aux {sorted(panel.aux)}"
        )
    arrays = [panel.fields[f] for f in spec.fields]
    arrays += [panel.fields.get(f, np.full(panel.shape, np.nan)) for f in spec.optional_fields]
    return arrays + [panel.aux[a] for a in spec.aux]


FEATURES: FeatureRegistry = FeatureRegistry.from_specs(BUILTIN_SPECS)
"""The built-in features, by name."""
