"""An analyst's journey through the gateway: segments, memberships, rollout, history report."""

import time
from datetime import UTC, datetime

import aiohttp

from quintet_testing import eventually
from quintet_testing.http import bearer

WRITE = bearer("segments:read segments:write", sub="analyst")


async def test_segment_membership_and_history_report_through_the_gateway(stack):
    base = f"{stack.gateway}/segments/api/v1"
    slug = f"E2E_{int(time.time() * 1000)}"
    async with aiohttp.ClientSession(headers=WRITE) as http:
        async with http.post(f"{base}/segment", json={"slug": slug.lower()}) as response:
            assert response.status == 201, await response.text()
        async with http.post(f"{base}/segments/user/1001", json={"segments_to_add": [slug]}) as response:
            assert response.status == 200, await response.text()
        async with http.get(f"{base}/segments/user/1001") as response:
            assert slug in await response.json()
        async with http.post(
            f"{base}/segments/user/1001", json={"segments_to_add": [], "segments_to_delete": [slug]}
        ) as response:
            assert response.status == 200, await response.text()
        async with http.get(f"{base}/segments/user/1001") as response:
            assert slug not in await response.json()

        period = datetime.now(UTC).strftime("%Y-%m")
        async with http.get(f"{base}/segments/user/1001/csv", params={"period": period}) as response:
            assert response.status == 202, await response.text()
            link = (await response.json())["link"]
        assert link.startswith(f"{stack.gateway}/segments/"), link

        async def report_ready() -> list[str] | None:
            async with http.get(link) as response:
                if response.status == 202:
                    return None
                assert response.status == 200, await response.text()
                assert response.content_type == "text/csv"
                return (await response.text()).strip().splitlines()

        lines = await eventually(report_ready, timeout=30, interval=0.3)
    assert lines[0] == "user_id;segment;operation;datetime"
    rows = [line.split(";") for line in lines[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("1001", slug, "add"), ("1001", slug, "delete")]
