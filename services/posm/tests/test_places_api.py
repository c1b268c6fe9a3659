"""Places and their tables, as the restaurant service keeps them in sync."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from posm.api.models import Place
from quintet_testing.http import bearer, expect, expect_error

from .conftest import READ, WRITE


async def test_a_place_is_read_back_with_its_current_tables(put_place: Any, client: Any) -> None:
    brand = uuid.uuid4()
    place_id, tables = await put_place(brand_id=brand, count=3)
    place = await expect(await client.get(f"/api/v1/places/{place_id}", headers=READ), 200, Place)
    assert place.brand_id == brand
    assert place.name == "Кафе «Пушкин»"
    assert {(t.id, t.label) for t in place.tables} == set(tables)


async def test_a_table_missing_from_the_set_is_removed_but_kept_in_history(
    put_place: Any, client: Any, db: asyncpg.Pool
) -> None:
    place_id, tables = await put_place(count=3)
    await put_place(place_id, tables[:2] + [(tables[2][0], "renamed")][:0])
    place = await expect(await client.get(f"/api/v1/places/{place_id}", headers=READ), 200, Place)
    assert {t.id for t in place.tables} == {tables[0][0], tables[1][0]}
    removed = await db.fetchval(
        "SELECT removed_at IS NOT NULL FROM place_tables WHERE table_id = $1", tables[2][0]
    )
    assert removed is True


async def test_a_table_that_comes_back_is_current_again_with_its_new_label(
    put_place: Any, client: Any
) -> None:
    place_id, tables = await put_place(count=2)
    await put_place(place_id, tables[:1])
    await put_place(place_id, [tables[0], (tables[1][0], "VIP")])
    place = await expect(await client.get(f"/api/v1/places/{place_id}", headers=READ), 200, Place)
    assert {(t.id, t.label) for t in place.tables} == {tables[0], (tables[1][0], "VIP")}


async def test_a_table_of_another_place_is_a_conflict(put_place: Any, client: Any) -> None:
    _, tables = await put_place(count=1)
    response = await client.put(
        f"/api/v1/places/{uuid.uuid4()}",
        json={"name": "x", "tables": [{"id": str(tables[0][0]), "label": "1"}]},
        headers=WRITE,
    )
    await expect_error(response, 409, "table_of_another_place")


async def test_an_unknown_place_is_404(client: Any) -> None:
    await expect_error(
        await client.get(f"/api/v1/places/{uuid.uuid4()}", headers=READ), 404, "place_not_found"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a\x00b", "tables": []}, "name"),
        ({"name": "", "tables": []}, "name"),
        ({"name": "x", "tables": [{"id": "not-a-uuid", "label": "1"}]}, "tables.0.id"),
        ({"name": "x", "tables": [{"id": str(uuid.uuid4()), "label": "x" * 101}]}, "tables.0.label"),
        ({"name": "x", "tables": [{"id": str(uuid.uuid4()), "label": "\x00"}]}, "tables.0.label"),
        ({"name": "x"}, "tables"),
    ],
)
async def test_bad_place_input_is_400_naming_the_field(client: Any, body: dict[str, Any], field: str) -> None:
    error = await expect_error(
        await client.put(f"/api/v1/places/{uuid.uuid4()}", json=body, headers=WRITE), 400
    )
    assert error["details"][0]["field"] == field


async def test_the_same_table_twice_is_400(client: Any) -> None:
    table = {"id": str(uuid.uuid4()), "label": "1"}
    body = {"name": "x", "tables": [table, table]}
    await expect_error(await client.put(f"/api/v1/places/{uuid.uuid4()}", json=body, headers=WRITE), 400)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nonsense"}, 401),
        (bearer("posm:read"), 403),
        (bearer("segments:write"), 403),
    ],
)
async def test_changing_a_place_needs_the_write_scope(
    client: Any, headers: dict[str, str], status: int
) -> None:
    body = {"name": "x", "tables": []}
    await expect_error(await client.put(f"/api/v1/places/{uuid.uuid4()}", json=body, headers=headers), status)
