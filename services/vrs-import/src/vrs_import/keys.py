"""Typed application keys of the vrs-import api (the pool key is the platform's)."""

from __future__ import annotations

from aiohttp import web

from quintet_service import PG_POOL
from vrs_import.settings import Settings
from vrs_import.solver.client import SolverClient

SETTINGS = web.AppKey("settings", Settings)
SOLVER = web.AppKey("solver", SolverClient)

__all__ = ["PG_POOL", "SETTINGS", "SOLVER"]
