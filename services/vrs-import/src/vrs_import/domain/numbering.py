"""How routes and orders are numbered, and the first free suffix of a colliding number."""

from __future__ import annotations

from collections.abc import Container
from datetime import date


def route_number(vehicle: str, run_number: int, day: date) -> str:
    """`{vehicle ref or id}-{run_number}-{date}`, e.g. `truck-7-1-2026-12-02`."""
    return f"{vehicle}-{run_number}-{day.isoformat()}"


def first_free(number: str, taken: Container[str]) -> str:
    """`number-1`, `number-2`, …: the first one not in `taken`."""
    suffix = 1
    while f"{number}-{suffix}" in taken:
        suffix += 1
    return f"{number}-{suffix}"
