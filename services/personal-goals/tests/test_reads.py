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


async def test_a_client_sent_x_yandex_uid_header_names_no_one(client: Any, loaded: None) -> None:
    goals = await expect(
        await client.get("/v1/goals", headers={**USER, "X-Yandex-UID": "u2"}), 200, list[Goal]
    )
    assert [g.goal_id for g in goals] == ["current"]  # u1's, as the token says


@pytest.mark.parametrize(
    ("scope", "path", "status", "goal_ids"),
    [
        ("goals:read", "/v1/goals?yandex_uid=u2", 403, None),
        ("goals:read", "/v1/goals/other-user?yandex_uid=u2", 403, None),
        ("goals:read", "/v1/goals?yandex_uid=u1", 200, ["current"]),
        ("goals:read-any", "/v1/goals?yandex_uid=u2", 200, ["other-user"]),
        ("goals:read-any", "/v1/goals/other-user?yandex_uid=u2", 200, ["other-user"]),
    ],
    ids=["user-names-another", "user-names-another-goal", "user-names-self", "backend", "backend-one-goal"],
)
async def test_only_a_read_any_token_reads_the_goals_of_a_named_user(
    client: Any, loaded: None, scope: str, path: str, status: int, goal_ids: list[str] | None
) -> None:
    response = await client.get(path, headers=bearer(scope, sub="u1"))
    if status != 200:
        await expect_error(response, status, "missing_scope")
        return
    body = await response.json()
    assert response.status == 200, body
    assert [g["goal_id"] for g in (body if isinstance(body, list) else [body])] == goal_ids


async def test_hiding_a_selection_hides_its_goals(client: Any, loaded: None) -> None:
    from .conftest import ADMIN

    response = await client.post(
        "/internal/admin/selections/update", json={"selection_id": "sel-1", "status": "hidden"}, headers=ADMIN
    )
    await expect(response, 200)
    assert await expect(await client.get("/v1/goals", headers=USER), 200, list[Goal]) == []


async def test_reads_need_the_read_scope(client: Any) -> None:
    await expect_error(await client.get("/v1/goals", headers=bearer("goals:admin", sub="u1")), 403)
