"""The user-facing goal reads: only goals of active selections, only while now is in their period."""

from __future__ import annotations

import asyncpg

from personal_goals.domain.errors import GoalNotFound
from personal_goals.storage import goals as goals_sql
from personal_goals.storage.goals import VisibleGoal


async def visible_goals(pool: asyncpg.Pool, yandex_uid: str) -> list[VisibleGoal]:
    async with pool.acquire() as conn:
        return await goals_sql.visible_goals(conn, yandex_uid)


async def visible_goal(pool: asyncpg.Pool, yandex_uid: str, goal_id: str) -> VisibleGoal:
    async with pool.acquire() as conn:
        goal = await goals_sql.visible_goal(conn, yandex_uid, goal_id)
    if goal is None:
        raise GoalNotFound(goal_id)
    return goal
