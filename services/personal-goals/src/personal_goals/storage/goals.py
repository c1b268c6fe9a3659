"""SQL of the user-facing goal reads. Every read applies the selection and validity-time filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class VisibleGoal:
    goal_id: str
    selection_id: str
    application: str
    conditions: Any  # JSON object (as the pool's jsonb codec decodes it)
    bonus: Any
    starts_at: datetime
    expires_at: datetime


# One indexed query: goals_owner_period_idx leads with yandex_uid (a user has a handful of goals);
# the selection join is on its primary key. Periods are half-open: [starts_at, expires_at).
_VISIBLE_GOALS = """
SELECT g.goal_id, g.selection_id, g.application, g.conditions, g.bonus, g.starts_at, g.expires_at
FROM goals g JOIN selections s ON s.selection_id = g.selection_id
WHERE g.yandex_uid = $1
  AND g.starts_at <= now() AND now() < g.expires_at
  AND s.status = 'active'
"""


async def visible_goals(conn: asyncpg.Connection, yandex_uid: str) -> list[VisibleGoal]:
    rows = await conn.fetch(_VISIBLE_GOALS + " ORDER BY g.starts_at, g.goal_id", yandex_uid)
    return [VisibleGoal(**dict(row)) for row in rows]


async def visible_goal(conn: asyncpg.Connection, yandex_uid: str, goal_id: str) -> VisibleGoal | None:
    row = await conn.fetchrow(_VISIBLE_GOALS + " AND g.goal_id = $2", yandex_uid, goal_id)
    return None if row is None else VisibleGoal(**dict(row))
