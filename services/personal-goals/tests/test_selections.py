"""Selections: activation/hiding and the admin listing with counts and upload status."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from personal_goals.api.models import Selection
from quintet_contracts.personal_goals import SELECTION_STATUS_CHANGED, SelectionStatusChanged
from quintet_testing import expect, expect_error, outbox_events

from .conftest import ADMIN, goal_row

UPDATE = "/internal/admin/selections/update"
APPLY = "/internal/admin/upload_goals_from_yt"


@pytest.fixture
async def uploaded(put_goals: Any, upload: Any, worker: None) -> None:
    await upload(
        await put_goals([goal_row("g1", "u1"), goal_row("g2", "u1"), goal_row("g3", "u3", selection_id="b")])
    )


async def test_a_selection_is_listed_with_goal_counts_and_upload_status(client: Any, uploaded: None) -> None:
    selections = await expect(
        await client.get("/internal/admin/selections", headers=ADMIN), 200, list[Selection]
    )
    assert [(s.selection_id, s.status, s.goals, s.skipped) for s in selections] == [
        ("b", "hidden", 1, 0),
        ("sel-1", "hidden", 1, 1),
    ]
    one = await expect(await client.get("/internal/admin/selections/sel-1", headers=ADMIN), 200, Selection)
    assert one.upload is not None and one.upload.status == "complete" and one.upload.rows == 2


async def test_activating_a_selection_publishes_its_status_change_once(
    client: Any, put_goals: Any, db: asyncpg.Pool
) -> None:
    # No worker runs: the upload's first apply creates the selection, and the outbox keeps the event
    # (a running relay would publish and remove it).
    table = await put_goals([goal_row("g3", "u3", selection_id="b")])
    await expect(await client.post(APPLY, json={"table": table}, headers=ADMIN), 200)
    for _ in range(2):
        body = await expect(
            await client.post(UPDATE, json={"selection_id": "b", "status": "active"}, headers=ADMIN),
            200,
            Selection,
        )
        assert body.status == "active"
    assert await outbox_events(db, SELECTION_STATUS_CHANGED) == [
        SelectionStatusChanged(selection_id="b", status="active", previous_status="hidden")
    ]


@pytest.mark.parametrize(
    ("request_", "status", "code"),
    [
        ({"selection_id": "nope", "status": "active"}, 404, "selection_not_found"),
        ({"selection_id": "b", "status": "deleted"}, 400, "validation_error"),
        ({"status": "active"}, 400, "validation_error"),
    ],
)
async def test_a_bad_update_is_rejected(
    client: Any, request_: dict[str, Any], status: int, code: str
) -> None:
    await expect_error(await client.post(UPDATE, json=request_, headers=ADMIN), status, code)


async def test_an_unknown_selection_is_not_found(client: Any) -> None:
    await expect_error(
        await client.get("/internal/admin/selections/nope", headers=ADMIN), 404, "selection_not_found"
    )
