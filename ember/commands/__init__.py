"""Command families, one module per group; importing a module registers its commands in TABLE.

Every module in this package except `table` is a family and is discovered, so adding a family
is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil


def family_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "table")


def load_all() -> None:
    """Import every family (once). `rename-command` is applied by the config loader, which
    checks each rename against this table while it reads the file."""
    for family in family_modules():
        importlib.import_module(f"{__name__}.{family}")
