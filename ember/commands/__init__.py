"""Command families, one module per group; importing a module registers its commands in TABLE.

Every module in this package except `table` is a family and is discovered, so adding a family
is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from .table import TABLE

if TYPE_CHECKING:
    from ..config import Config


def family_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "table")


def load_all(config: "Config | None" = None) -> None:
    """Import every family (once) and apply `rename-command` from the configuration."""
    for family in family_modules():
        importlib.import_module(f"{__name__}.{family}")
    if config is not None:
        for old, new in config.renamed_commands:
            TABLE.rename(old, new)
