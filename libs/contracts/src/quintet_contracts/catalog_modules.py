"""Imports every per-service contracts module of this package so the registry is complete.

Every module here other than the platform's own is a service's contracts: adding a service's events is
adding its module, nothing to list.
"""

import importlib
import pkgutil

import quintet_contracts

_PLATFORM_MODULES = {"catalog", "catalog_modules", "envelope"}

for _module in pkgutil.iter_modules(quintet_contracts.__path__):
    if _module.name not in _PLATFORM_MODULES and not _module.name.startswith("_"):
        importlib.import_module(f"quintet_contracts.{_module.name}")
