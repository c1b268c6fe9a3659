"""An analyst's journey through the gateway: segments, memberships, rollout, history report."""

import asyncio
import time
from datetime import UTC, datetime

import aiohttp

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

        deadline = time.monotonic() + 30
        while True:
            async with http.get(link) as response:
                if response.status == 200:
                    assert response.content_type == "text/csv"
                    lines = (await response.text()).strip().splitlines()
                    break
                assert response.status == 202, await response.text()
            assert time.monotonic() < deadline, "report not ready within 30 s"
            await asyncio.sleep(0.3)
    assert lines[0] == "user_id;segment;operation;datetime"
    rows = [line.split(";") for line in lines[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("1001", slug, "add"), ("1001", slug, "delete")]
