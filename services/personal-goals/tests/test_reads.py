"""User reads: only goals of active selections, only while now is within [starts_at, expires_at)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from personal_goals.api.models import Goal
from quintet_testing.http import bearer, expect, expect_error

from .conftest import NOW, goal_row

HOUR = timedelta(hours=1)
USER = bearer("goals:read", sub="u1")


@pytest.fixture
async def loaded(put_goals: Any, upload: Any, worker: None, activate: Any) -> None:
    await upload(
        await put_goals(
            [
                goal_row("current", "u1", starts_at=NOW - HOUR, expires_at=NOW + HOUR),
                goal_row("future", "u1", starts_at=NOW + 2 * HOUR, expires_at=NOW + 3 * HOUR),
                goal_row("expired", "u1", starts_at=NOW - 3 * HOUR, expires_at=NOW - 2 * HOUR),
                goal_row("other-user", "u2", starts_at=NOW - HOUR, expires_at=NOW + HOUR),
                goal_row(
                    "hidden",
                    "u1",
                    application="uber",
                    selection_id="hidden-selection",
                    starts_at=NOW - HOUR,
                    expires_at=NOW + HOUR,
                ),
            ]
        )
    )
    await activate("sel-1")


async def test_the_user_sees_only_current_goals_of_active_selections(client: Any, loaded: None) -> None:
    goals = await expect(await client.get("/v1/goals", headers=USER), 200, list[Goal])
    assert [g.goal_id for g in goals] == ["current"]
    assert goals[0].conditions == {"type": "ride", "classes": ["econom"], "count": 5}


@pytest.mark.parametrize(
    ("goal_id", "status"),
    [
        ("current", 200),
        ("future", 404),
        ("expired", 404),
        ("other-user", 404),
        ("hidden", 404),
        ("unknown", 404),
    ],
)
async def test_one_goal_is_readable_only_while_visible_to_that_user(
    client: Any, loaded: None, goal_id: str, status: int
) -> None:
    response = await client.get(f"/v1/goals/{goal_id}", headers=USER)
    if status == 200:
        assert (await expect(response, 200, Goal)).goal_id == goal_id
    else:
        await expect_error(response, 404, "goal_not_found")


async def test_x_yandex_uid_names_the_user_over_the_token_subject(client: Any, loaded: None) -> None:
    goals = await expect(
        await client.get("/v1/goals", headers={**USER, "X-Yandex-UID": "u2"}), 200, list[Goal]
    )
    assert [g.goal_id for g in goals] == ["other-user"]


async def test_hiding_a_selection_hides_its_goals(client: Any, loaded: None) -> None:
    from .conftest import ADMIN

    response = await client.post(
        "/internal/admin/selections/update", json={"selection_id": "sel-1", "status": "hidden"}, headers=ADMIN
    )
    await expect(response, 200)
    assert await expect(await client.get("/v1/goals", headers=USER), 200, list[Goal]) == []


async def test_reads_need_the_read_scope(client: Any) -> None:
    await expect_error(await client.get("/v1/goals", headers=bearer("goals:admin", sub="u1")), 403)
