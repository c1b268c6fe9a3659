"""The overlap rule inside one chunk: rows in dataset order, a row loads unless its period overlaps
a row of the same owner (user + application) that loads (periods are half-open, touching is fine).

Rows that load never overlap each other, so per owner they form a sorted list of disjoint periods:
a new row can only overlap its two neighbours in that list. One pass, O(n log n), whatever the chain
(the previous set-based rounds took about n/2 rounds of O(n²) work for a chain of n overlaps).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class Period(Protocol):
    @property
    def row_index(self) -> int: ...
    @property
    def owner(self) -> Hashable: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...


@dataclass
class _Loaded:
    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)


def overlap_losers(rows: Iterable[Period]) -> list[int]:
    """Row indexes of the rows skipped as overlapping an earlier loaded row, in row order."""
    loaded: dict[Hashable, _Loaded] = {}
    losers: list[int] = []
    for row in sorted(rows, key=lambda r: r.row_index):
        periods = loaded.setdefault(row.owner, _Loaded())
        at = bisect_right(periods.starts, row.starts_at)
        if (at > 0 and periods.ends[at - 1] > row.starts_at) or (
            at < len(periods.starts) and periods.starts[at] < row.expires_at
        ):
            losers.append(row.row_index)
            continue
        periods.starts.insert(at, row.starts_at)
        periods.ends.insert(at, row.expires_at)
    return losers
