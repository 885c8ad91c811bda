"""Command families, one module per group; importing a module registers its commands in TABLE."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .table import TABLE

if TYPE_CHECKING:
    from ..config import Config

FAMILIES = ("connection",)


def load_all(config: "Config | None" = None) -> None:
    """Import every family (once) and apply `rename-command` from the configuration."""
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
    if config is not None:
        for old, new in config.renamed_commands:
            TABLE.rename(old, new)
