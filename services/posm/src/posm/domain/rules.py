"""Pure rules: who may use a template, how a generation's status moves, what retention removes."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

Visibility = Literal["global", "restaurant", "brand"]
Status = Literal["created", "scheduled", "in-progress", "done", "error", "deleted"]

ACTIVE: frozenset[str] = frozenset({"scheduled", "in-progress"})
FINISHED: frozenset[str] = frozenset({"done", "error"})

# Every move a generation can make; anything else is a bug (or a stale redelivery to ignore).
TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"scheduled"}),
    "scheduled": frozenset({"in-progress", "error"}),
    "in-progress": frozenset({"done", "error"}),
    "done": frozenset({"deleted"}),
    "error": frozenset({"deleted"}),
    "deleted": frozenset(),
}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def template_visible(
    visibility: str,
    template_places: Iterable[uuid.UUID],
    template_brands: Iterable[uuid.UUID],
    place_id: uuid.UUID,
    brand_id: uuid.UUID | None,
) -> bool:
    """A global template is everyone's; a restaurant template its listed places'; a brand template
    the places of its listed brands."""
    if visibility == "global":
        return True
    if visibility == "restaurant":
        return place_id in set(template_places)
    if visibility == "brand":
        return brand_id is not None and brand_id in set(template_brands)
    return False


def body_hash(document: dict[str, Any]) -> str:
    """A stable digest of a request body: the same JSON in any key order gives the same hash."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class StoredGeneration:
    generation_id: int
    place_id: uuid.UUID
    template_id: int
    status: str
    created_at: datetime


def generations_to_remove(
    generations: Sequence[StoredGeneration], keep: int, keep_for: timedelta, now: datetime
) -> list[int]:
    """Retention for any number of (place, template) pairs at once.

    Per pair, newest first: a generation beyond the `keep` newest, or created before `now - keep_for`,
    goes, unless it is still being worked on (created, scheduled, in progress) or it is the pair's
    newest `done` one, which stays whatever its age and rank. Already deleted ones are not counted.
    """
    by_pair: dict[tuple[uuid.UUID, int], list[StoredGeneration]] = {}
    for generation in generations:
        if generation.status != "deleted":
            by_pair.setdefault((generation.place_id, generation.template_id), []).append(generation)
    removed: list[int] = []
    oldest_kept = now - keep_for
    for pair in by_pair.values():
        pair.sort(key=lambda g: (g.created_at, g.generation_id), reverse=True)
        last_done = next((g.generation_id for g in pair if g.status == "done"), None)
        for rank, generation in enumerate(pair):
            if generation.status not in FINISHED or generation.generation_id == last_done:
                continue
            if rank >= keep or generation.created_at < oldest_kept:
                removed.append(generation.generation_id)
    return sorted(removed)


def unique_entry_names(labels: Sequence[str]) -> list[str]:
    """Zip entry names `{label}.pdf`, made safe for a file name and unique (`5.pdf`, `5 (2).pdf`)."""
    names: list[str] = []
    taken: set[str] = set()
    for label in labels:
        stem = (
            "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in label).strip(" .") or "table"
        )
        name = f"{stem}.pdf"
        counter = 2
        while name.lower() in taken:
            name = f"{stem} ({counter}).pdf"
            counter += 1
        taken.add(name.lower())
        names.append(name)
    return names
