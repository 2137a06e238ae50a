"""Configuration: typed frozen models, the layered loader, risk profiles and secrets."""

from harvester.config.loader import ConfigRequest, ResolvedConfig, load_config
from harvester.config.models import HarvesterConfig
from harvester.config.secrets import Secrets, load_secrets

__all__ = [
    "ConfigRequest",
    "HarvesterConfig",
    "ResolvedConfig",
    "Secrets",
    "load_config",
    "load_secrets",
]
