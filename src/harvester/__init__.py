"""harvester: one package and CLI for systematic traders."""

__version__ = "0.1.0"

__all__ = ["__version__"]
