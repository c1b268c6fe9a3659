"""A newbie driver's journey through the gateway: the offer, accepting it, the request filed in the
CRM's table by the worker, the CRM stand-in matching a mentor of their city, the import, and both
drivers seeing each other with phone, WhatsApp link and messages; then a read mark."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from quintet_testing import bearer, eventually

ADMIN = bearer("mentorship:admin", sub="e2e-admin")


def _driver(park_id: str, driver_id: str) -> dict[str, str]:
    return bearer("mentorship:driver", sub=f"{park_id}/{driver_id}", park_id=park_id, driver_id=driver_id)


async def test_a_newbie_accepts_gets_a_mentor_and_both_see_each_other(stack: Any) -> None:
    base = f"{stack.gateway}/contractor-mentorship"
    stand_ins = stack.stand_ins
    person = uuid.uuid4().hex[:10]
    newbie = {"park_id": "park-msk-1", "driver_id": f"e2e-newbie-{person}"}
    phone = "+79005550011"
    async with aiohttp.ClientSession() as http:
        # A new hire in Moscow, where the CRM stand-in's fixture has mentors.
        world = {
            "unique_driver_id": f"udid-e2e-{person}",
            "profiles": [newbie],
            "first_name": "Егор",
            "last_name": "Сквозной",
            "phone": phone,
            "hired_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
            "point": {"lat": 55.75, "lon": 37.62},
            "city": "Москва",
            "rented": False,
        }
        async with http.post(f"{stand_ins}/_stand-in/drivers", json=world) as response:
            assert response.status == 201, await response.text()

        headers = _driver(**newbie)
        async with http.get(f"{base}/driver/v1/mentorship/status", headers=headers) as response:
            assert await response.json() == {"role": "none", "status": None, "show_offer": True}
        async with http.post(f"{base}/driver/v1/mentorship/accept", headers=headers) as response:
            assert response.status == 201, await response.text()
            matching_id = (await response.json())["id"]

        async def matching() -> dict[str, Any]:
            async with http.get(f"{base}/internal/admin/matchings/{matching_id}", headers=ADMIN) as response:
                assert response.status == 200, await response.text()
                return dict(await response.json())

        async def past(status: str) -> dict[str, Any]:
            found = await matching()
            assert found["status"] == status, found["status"]
            return found

        await eventually(lambda: past("requested"), timeout=60)
        # The CRM stand-in matches on its own every few seconds; ask for a round now, then import.
        async with http.post(f"{stand_ins}/_stand-in/crm/match") as response:
            assert response.status == 200, await response.text()
        async with http.post(f"{base}/internal/admin/jobs/import-matchings/run", headers=ADMIN) as response:
            assert response.status in (200, 409), await response.text()  # 409: the schedule runs it now
        found = await eventually(lambda: past("initialized"), timeout=60)
        mentor = {"park_id": found["mentor_park_id"], "driver_id": found["mentor_driver_id"]}
        assert mentor["driver_id"].startswith("mentor-msk-")

        async with http.get(f"{base}/driver/v1/mentorship/contacts", headers=headers) as response:
            seen = await response.json()
        assert seen["role"] == "newbie"
        [contact] = seen["contacts"]
        assert contact["whatsapp_link"].startswith("https://wa.me/7900")
        assert contact["unread"] == 1 and contact["messages"][0]["text"].startswith("Вам назначен наставник")

        async with http.get(f"{base}/driver/v1/mentorship/contacts", headers=_driver(**mentor)) as response:
            by_mentor = await response.json()
        mine = [c for c in by_mentor["contacts"] if c["matching_id"] == matching_id]
        assert [(c["name"], c["phone"]) for c in mine] == [("Егор Сквозной", phone)]

        read = f"{base}/driver/v1/mentorship/contacts/{matching_id}/read"
        async with http.post(read, headers=headers) as response:
            assert response.status == 204, await response.text()
        async with http.get(f"{base}/driver/v1/mentorship/contacts", headers=headers) as response:
            assert [c["unread"] for c in (await response.json())["contacts"]] == [0]

        async with http.get(
            f"{stand_ins}/_stand-in/client-events", params={"driver_id": newbie["driver_id"]}
        ) as r:
            assert [e["payload"]["status"] for e in (await r.json())["events"]] == ["initialized"]
