"""Pydantic configuration models, one per stage, loaded from YAML with ``extra="forbid"``."""

from hrlc.config._base import StageConfig, load_config, validate_config
from hrlc.config.io import ComputeConfig, ReadConfig, SourceOptions

__all__ = [
    "ComputeConfig",
    "ReadConfig",
    "SourceOptions",
    "StageConfig",
    "load_config",
    "validate_config",
]
