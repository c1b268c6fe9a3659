"""An admin's and a driver's journey through the gateway: validate, apply, poll, activate, read goals."""

import json
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from quintet_s3 import ObjectStore, s3_client
from quintet_testing import bearer, eventually

ADMIN = bearer("goals:admin", sub="goals-admin")


def _row(goal_id: str, uid: str, starts_at: datetime, expires_at: datetime, app: str = "taximeter") -> str:
    return json.dumps(
        {
            "selection_id": SELECTION,
            "goal_id": goal_id,
            "yandex_uid": uid,
            "conditions": {"type": "ride", "classes": ["econom"], "count": 5},
            "bonus": {"type": "promocode", "value": 300},
            "application": app,
            "starts_at": starts_at.isoformat(),
            "expires_at": expires_at.isoformat(),
        }
    )


SELECTION = f"e2e-{int(time.time() * 1000)}"
# Users of this run only: other journeys in the same stack upload goals for users like uid-1.
USER_1, USER_2 = f"{SELECTION}-uid-1", f"{SELECTION}-uid-2"


async def test_goal_upload_and_user_reads_through_the_gateway(stack):
    now = datetime.now(UTC).replace(microsecond=0)
    week = timedelta(days=7)
    rows = [
        _row("g-live", USER_1, now - week, now + week),
        _row("g-overlap", USER_1, now, now + 2 * week),  # same user and app, overlaps g-live
        _row("g-other-app", USER_1, now, now + 2 * week, app="lavka"),
        _row("g-future", USER_1, now + week, now + 3 * week),  # touches g-live: loaded, not yet visible
        _row("g-bad-period", USER_2, now, now - week),
    ]
    bucket, key = "goals-datasets", f"{SELECTION}/goals.jsonl"  # the service's own bucket
    async with s3_client(
        stack.s3_endpoint, stack.env["QUINTET_S3_ACCESS_KEY"], stack.env["QUINTET_S3_SECRET_KEY"]
    ) as client:
        store = ObjectStore(client)
        await store.ensure_bucket(bucket)
        await store.put(bucket, key, "\n".join(rows).encode())
    table = f"s3://{bucket}/{key}"
    admin = f"{stack.gateway}/personal-goals/internal/admin"

    async with aiohttp.ClientSession(headers=ADMIN) as http:
        async with http.post(f"{admin}/validate_goals_upload_from_yt", json={"table": table}) as response:
            assert response.status == 200, await response.text()
            assert await response.json() == {
                "rows": 5,
                "selections": [{"selection_id": SELECTION, "rows": 5}],
            }

        async def finished() -> dict:
            async with http.post(f"{admin}/upload_goals_from_yt", json={"table": table}) as response:
                assert response.status == 200, await response.text()
                state = await response.json()
            assert state["status"] != "in_progress", state
            return state

        state = await eventually(finished, timeout=60, interval=0.3)
        assert state["status"] == "partially_completed", state
        [selection] = state["selections"]
        assert (selection["loaded"], selection["skipped"], selection["last_row_index"]) == (3, 2, 5)
        assert {(g["goal_id"], g["reason"]) for g in state["skipped_goals"]} == {
            ("g-overlap", "overlap"),
            ("g-bad-period", "invalid_period"),
        }

        # The repeated apply is idempotent, and validate now refuses: the upload has started.
        async with http.post(f"{admin}/validate_goals_upload_from_yt", json={"table": table}) as response:
            assert response.status == 409, await response.text()

        user = {"Authorization": bearer("goals:read", sub=USER_1)["Authorization"]}
        async with http.get(f"{stack.gateway}/personal-goals/v1/goals", headers=user) as response:
            assert response.status == 200, await response.text()
            assert await response.json() == []  # the selection is hidden until an admin activates it

        async with http.post(
            f"{admin}/selections/update", json={"selection_id": SELECTION, "status": "active"}
        ) as response:
            assert response.status == 200, await response.text()

        async with http.get(f"{stack.gateway}/personal-goals/v1/goals", headers=user) as response:
            assert response.status == 200, await response.text()
            goals = await response.json()
        assert sorted(g["goal_id"] for g in goals) == ["g-live", "g-other-app"]
        async with http.get(f"{stack.gateway}/personal-goals/v1/goals/g-future", headers=user) as response:
            assert response.status == 404, await response.text()
            assert (await response.json())["code"] == "goal_not_found"

        # Nobody else's goals: a client-sent identity header names no one; naming a user needs read-any.
        other = {"Authorization": bearer("goals:read", sub=USER_2)["Authorization"], "X-Yandex-UID": USER_1}
        async with http.get(f"{stack.gateway}/personal-goals/v1/goals", headers=other) as response:
            assert response.status == 200, await response.text()
            assert await response.json() == []
        backend = {"Authorization": bearer("goals:read-any", sub="notifier")["Authorization"]}
        async with http.get(
            f"{stack.gateway}/personal-goals/v1/goals", params={"yandex_uid": USER_1}, headers=backend
        ) as response:
            assert response.status == 200, await response.text()
            assert sorted(g["goal_id"] for g in await response.json()) == ["g-live", "g-other-app"]

        # A finished upload cannot be cancelled; a dataset outside the service's buckets is refused.
        async with http.post(f"{admin}/uploads/cancel", json={"table": table}) as response:
            assert response.status == 409, await response.text()
        async with http.post(
            f"{admin}/validate_goals_upload_from_yt", json={"table": "s3://segments-reports/x.csv"}
        ) as response:
            assert response.status == 400, await response.text()
