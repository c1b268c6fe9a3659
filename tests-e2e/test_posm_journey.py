"""A restaurant admin's journey through the gateway: place, template, generation, archive."""

import io
import json
import uuid
import zipfile

import aiohttp
import pymupdf
import pytest

from quintet_testing import eventually
from quintet_testing.http import bearer

WRITE = bearer("posm:read posm:write", sub="admin@example")


def template_pdf() -> bytes:
    with pymupdf.open() as document:
        page = document.new_page(width=297.64, height=419.53)
        page.insert_text((20, 40), "Scan to pay", fontsize=14)
        return bytes(document.tobytes())


async def test_place_template_generation_and_archive_through_the_gateway(stack):
    base = f"{stack.gateway}/posm/api/v1"
    place_id = uuid.uuid4()
    tables = [{"id": str(uuid.uuid4()), "label": str(n)} for n in range(1, 6)]
    settings = {
        "page": 1,
        "qr": {"x": 70, "y": 100, "size": 160},
        "text": {"x": 148.8, "y": 330, "font_size": 22, "format": "Стол {label}"},
    }
    async with aiohttp.ClientSession(headers=WRITE) as http:
        async with http.put(f"{base}/places/{place_id}", json={"name": "Кафе", "tables": tables}) as response:
            assert response.status == 200, await response.text()

        form = aiohttp.FormData()
        form.add_field("file", template_pdf(), filename="tent.pdf", content_type="application/pdf")
        metadata = {
            "name": "Tent A6",
            "settings": settings,
            "visibility": "restaurant",
            "place_ids": [str(place_id)],
        }
        form.add_field("metadata", json.dumps(metadata), content_type="application/json")
        async with http.post(f"{base}/templates", data=form) as response:
            assert response.status == 201, await response.text()
            template_id = (await response.json())["id"]
        async with http.get(f"{base}/templates", params={"place_id": str(place_id)}) as response:
            assert [t["id"] for t in await response.json()] == [template_id]

        body = {"template_id": template_id}
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        async with http.post(f"{base}/places/{place_id}/generations", json=body, headers=headers) as response:
            assert response.status == 201, await response.text()
            generation = await response.json()
        async with http.post(f"{base}/places/{place_id}/generations", json=body, headers=headers) as response:
            assert response.status == 200 and (await response.json())["id"] == generation["id"]

        url = f"{base}/places/{place_id}/generations/{generation['id']}"

        async def generated() -> bool:
            async with http.get(url) as response:
                status = (await response.json())["status"]
            if status not in ("created", "scheduled", "in-progress", "done"):
                pytest.fail(f"generation ended {status}")  # not retried: fails at once
            return status == "done"

        await eventually(generated, timeout=60, interval=0.5)  # the local stack runs the scheduler every 5 s

        async with http.get(f"{url}/check") as response:
            assert await response.json() == {"ok": True, "added_tables": [], "removed_tables": []}
        async with http.get(f"{url}/archive") as response:
            assert response.status == 200, await response.text()
            assert response.content_type == "application/zip"
            archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert sorted(archive.namelist()) == [f"{n}.pdf" for n in range(1, 6)]
    with pymupdf.open(stream=archive.read("3.pdf"), filetype="pdf") as document:
        assert "Стол 3" in document[0].get_text()
