"""The driver api: status and offer, accept (idempotent across linked profiles, one row under
concurrency), contacts with messages and unread counts, read marks, identity from the token only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from contractor_mentorship.api.models import AcceptedMatching, Contacts, ParticipationStatus
from quintet_testing.http import bearer, expect, expect_error

ADMIN = bearer("mentorship:admin", sub="admin")
Crm = Any


def driver_token(park_id: str, driver_id: str) -> dict[str, str]:
    return bearer("mentorship:driver", sub=f"{park_id}/{driver_id}", park_id=park_id, driver_id=driver_id)


def token_of(driver: dict[str, Any], profile: int = 0) -> dict[str, str]:
    key = driver["profiles"][profile]
    return driver_token(key["park_id"], key["driver_id"])


STATUS = "/driver/v1/mentorship/status"
ACCEPT = "/driver/v1/mentorship/accept"
CONTACTS = "/driver/v1/mentorship/contacts"

AddDriver = Callable[..., Awaitable[dict[str, Any]]]


async def _status(client: Any, driver: dict[str, Any], profile: int = 0) -> ParticipationStatus:
    return await expect(await client.get(STATUS, headers=token_of(driver, profile)), 200, ParticipationStatus)


async def _contacts(client: Any, driver: dict[str, Any], profile: int = 0) -> Contacts:
    return await expect(await client.get(CONTACTS, headers=token_of(driver, profile)), 200, Contacts)


async def _matched(
    crm: Crm,
    run_job: Callable[[str], Awaitable[dict[str, int]]],
    newbie: dict[str, Any],
    mentor: dict[str, Any],
) -> None:
    await crm.distribute(
        [(newbie["profiles"][0], mentor["profiles"][0])], datetime.now(UTC) - timedelta(hours=1)
    )
    await run_job("import-matchings")


@pytest.mark.parametrize(
    ("hired_days_ago", "show_offer"), [(0.5, True), (29, True), (31, False), (400, False)]
)
async def test_offer_is_shown_to_drivers_hired_within_30_days(
    client: Any, add_driver: AddDriver, hired_days_ago: float, show_offer: bool
) -> None:
    driver = await add_driver(hired_days_ago=hired_days_ago)
    assert await _status(client, driver) == ParticipationStatus(
        role="none", status=None, show_offer=show_offer
    )


async def test_a_driver_unknown_to_driver_profiles_is_no_participant(client: Any) -> None:
    response = await client.get(STATUS, headers=driver_token("nopark", "nobody"))
    assert await expect(response, 200, ParticipationStatus) == ParticipationStatus(
        role="none", status=None, show_offer=False
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-jwt"}, 401),
        (bearer("mentorship:driver", sub="no-claims"), 401),
        (bearer("mentorship:driver", sub="half", park_id="p1"), 401),
        (bearer("mentorship:admin", sub="x", park_id="p1", driver_id="d1"), 403),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("GET", STATUS), ("POST", ACCEPT), ("GET", CONTACTS)])
async def test_the_driver_is_the_tokens_park_and_driver_claims(
    client: Any, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    await expect_error(await client.request(method, path, headers=headers), status)


async def test_accept_creates_a_matching_and_repeating_it_from_any_linked_profile_returns_it(
    client: Any, add_driver: AddDriver, accept: Callable[..., Awaitable[dict[str, Any]]], db: asyncpg.Pool
) -> None:
    newbie = await add_driver(profiles=2)
    created = AcceptedMatching.model_validate(await accept(newbie, 0, status=201))
    assert created.status == "created"
    again = AcceptedMatching.model_validate(await accept(newbie, 0, status=200))
    linked = AcceptedMatching.model_validate(await accept(newbie, 1, status=200))
    assert again.id == linked.id == created.id
    assert await db.fetchval("SELECT count(*) FROM matchings") == 1
    assert await _status(client, newbie, 1) == ParticipationStatus(
        role="newbie", status="created", show_offer=False
    )


async def test_concurrent_accepts_from_linked_profiles_make_one_matching(
    client: Any, add_driver: AddDriver, db: asyncpg.Pool
) -> None:
    newbie = await add_driver(profiles=3)
    responses = await asyncio.gather(
        *(client.post(ACCEPT, headers=token_of(newbie, i % 3)) for i in range(12))
    )
    assert sorted(r.status for r in responses) == [200] * 11 + [201]
    ids = {(await r.json())["id"] for r in responses}
    assert len(ids) == 1
    assert await db.fetchval("SELECT count(*) FROM matchings") == 1
    assert await db.fetchval("SELECT count(*) FROM status_transitions") == 1


async def test_a_mentor_cannot_accept_from_any_of_their_profiles(
    client: Any,
    add_driver: AddDriver,
    accept: Callable[..., Awaitable[dict[str, Any]]],
    crm: Crm,
    run_job: Any,
) -> None:
    newbie = await add_driver()
    mentor = await add_driver(profiles=2, hired_days_ago=3)  # a recent hire may mentor too
    await accept(newbie)
    await _matched(crm, run_job, newbie, mentor)
    for profile in (0, 1):
        await expect_error(
            await client.post(ACCEPT, headers=token_of(mentor, profile)), 409, "mentor_cannot_accept"
        )
    assert await _status(client, mentor, 1) == ParticipationStatus(
        role="mentor", status=None, show_offer=False
    )


async def test_accept_by_a_driver_unknown_to_driver_profiles_is_404(client: Any) -> None:
    await expect_error(
        await client.post(ACCEPT, headers=driver_token("nopark", "nobody")), 404, "driver_not_found"
    )


@pytest.mark.parametrize("upstream_status", [500, 503])
async def test_driver_profiles_down_answers_503(
    client: Any, add_driver: AddDriver, fault: Any, upstream_status: int
) -> None:
    driver = await add_driver()
    await fault("driver-profiles", status=upstream_status)
    body = await expect_error(await client.get(STATUS, headers=token_of(driver)), 503, "upstream_unavailable")
    assert body["details"] == {"upstream": "driver-profiles"} or "driver-profiles" in body["message"]


async def test_before_the_match_a_newbie_has_no_contacts(
    client: Any, add_driver: AddDriver, accept: Any
) -> None:
    newbie = await add_driver()
    await accept(newbie)
    assert await _contacts(client, newbie) == Contacts(role="newbie", contacts=[])


async def test_matched_drivers_see_each_other_with_phone_whatsapp_and_the_match_message(
    client: Any, add_driver: AddDriver, accept: Any, crm: Crm, run_job: Any
) -> None:
    newbie = await add_driver(profiles=2, first_name="Пётр", last_name="Новый", phone="+7 900 111-22-33")
    mentor = await add_driver(
        hired_days_ago=900, first_name="Анна", last_name="Опытная", phone="+79004445566"
    )
    matching = await accept(newbie)
    await _matched(crm, run_job, newbie, mentor)

    seen_by_newbie = await _contacts(client, newbie, 1)  # from the other linked profile
    assert seen_by_newbie.role == "newbie"
    [mentor_contact] = seen_by_newbie.contacts
    assert str(mentor_contact.matching_id) == matching["id"]
    assert (mentor_contact.name, mentor_contact.phone, mentor_contact.whatsapp_link) == (
        "Анна Опытная",
        "+79004445566",
        "https://wa.me/79004445566",
    )
    assert mentor_contact.status == "initialized"
    assert [m.text.startswith("Вам назначен наставник: Анна Опытная") for m in mentor_contact.messages] == [
        True
    ]
    assert mentor_contact.unread == 1

    seen_by_mentor = await _contacts(client, mentor)
    assert seen_by_mentor.role == "mentor"
    [newbie_contact] = seen_by_mentor.contacts
    assert (newbie_contact.name, newbie_contact.whatsapp_link) == ("Пётр Новый", "https://wa.me/79001112233")
    assert newbie_contact.unread == 1


async def test_a_read_mark_zeroes_the_readers_unread_count_only(
    client: Any, add_driver: AddDriver, accept: Any, crm: Crm, run_job: Any
) -> None:
    newbie = await add_driver(profiles=2)
    mentor = await add_driver(hired_days_ago=900)
    matching = await accept(newbie)
    await _matched(crm, run_job, newbie, mentor)

    read = await client.post(f"{CONTACTS}/{matching['id']}/read", headers=token_of(newbie, 1))
    await expect(read, 204)
    assert [c.unread for c in (await _contacts(client, newbie)).contacts] == [0]
    assert [c.unread for c in (await _contacts(client, mentor)).contacts] == [1]
    await expect(await client.post(f"{CONTACTS}/{matching['id']}/read", headers=token_of(mentor)), 204)
    assert [c.unread for c in (await _contacts(client, mentor)).contacts] == [0]


async def test_a_mentor_sees_each_of_their_newbies(
    client: Any, add_driver: AddDriver, accept: Any, crm: Crm, run_job: Any
) -> None:
    mentor = await add_driver(hired_days_ago=900)
    newbies = [await add_driver() for _ in range(3)]
    for newbie in newbies:
        await accept(newbie)
    await crm.distribute(
        [(n["profiles"][0], mentor["profiles"][0]) for n in newbies], datetime.now(UTC) - timedelta(hours=1)
    )
    await run_job("import-matchings")
    seen = await _contacts(client, mentor)
    assert sorted(c.name or "" for c in seen.contacts) == ["Иван Тестов"] * 3
    assert len({c.matching_id for c in seen.contacts}) == 3


async def test_reading_a_matching_the_caller_is_not_in_is_404(
    client: Any, add_driver: AddDriver, accept: Any
) -> None:
    newbie, stranger = await add_driver(), await add_driver()
    matching = await accept(newbie)
    response = await client.post(f"{CONTACTS}/{matching['id']}/read", headers=token_of(stranger))
    await expect_error(response, 404, "matching_not_found")


@pytest.mark.parametrize("matching_id", ["not-a-uuid", "1", "%00"])
async def test_a_malformed_matching_id_is_400(client: Any, add_driver: AddDriver, matching_id: str) -> None:
    driver = await add_driver()
    response = await client.post(f"{CONTACTS}/{matching_id}/read", headers=token_of(driver))
    await expect_error(response, 400, "validation_error")


async def test_admin_scope_cannot_use_driver_endpoints(client: Any) -> None:
    await expect_error(await client.get(STATUS, headers=ADMIN), 403)
