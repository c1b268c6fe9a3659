"""Templates: multipart upload with PDF checks, settings checked against the PDF, visibility."""

from __future__ import annotations

import uuid
from typing import Any

import pymupdf
import pytest

from posm.api.models import Template
from quintet_testing.http import expect, expect_error

from .conftest import A6, READ, SETTINGS, WRITE, template_form, template_metadata, template_pdf


async def test_an_uploaded_template_is_stored_with_its_page_sizes(create_template: Any, client: Any) -> None:
    created = await create_template(template_pdf(pages=2), description="Тейблтент A6")
    template = await expect(
        await client.get(f"/api/v1/templates/{created['id']}", headers=READ), 200, Template
    )
    assert template.page_sizes == [(297.64, 419.53), (297.64, 419.53)]
    assert template.description == "Тейблтент A6"
    assert (
        template.settings.model_dump(mode="json", exclude_defaults=True)["text"]["format"] == "Стол {label}"
    )


@pytest.mark.parametrize(
    ("pdf", "metadata", "field"),
    [
        (b"GIF89a not a pdf", template_metadata(), "file"),
        (b"%PDF-1.7 but broken", template_metadata(), "file"),
        (None, template_metadata(), "file"),
        (template_pdf(), None, "metadata"),
        (template_pdf(), template_metadata(settings={**SETTINGS, "page": 2}), "settings.page"),
        (
            template_pdf(),
            template_metadata(settings={**SETTINGS, "qr": {"x": 250, "y": 10, "size": 100}}),
            "settings.qr",
        ),
        (
            template_pdf(),
            template_metadata(settings={**SETTINGS, "text": {**SETTINGS["text"], "format": "{place}"}}),
            "settings.text.format",
        ),
        (
            template_pdf(),
            template_metadata(settings={**SETTINGS, "qr": {"x": -1, "y": 0, "size": 10}}),
            "settings.qr.x",
        ),
        (template_pdf(), template_metadata(name="a\x00b"), "name"),
        (template_pdf(), template_metadata(visibility="restaurant"), "place_ids"),
        (template_pdf(), template_metadata(visibility="global", brand_ids=[str(uuid.uuid4())]), "place_ids"),
        (template_pdf(), template_metadata(visibility="brand"), "brand_ids"),
    ],
)
async def test_a_bad_upload_is_400_naming_the_field(
    client: Any, pdf: bytes | None, metadata: dict[str, Any] | None, field: str
) -> None:
    response = await client.post("/api/v1/templates", data=template_form(pdf, metadata), headers=WRITE)
    error = await expect_error(response, 400)
    assert error["details"][0]["field"] == field, error


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_template_bytes": 4096}


async def test_a_file_over_the_size_limit_is_400(client: Any) -> None:
    big = template_pdf() + b"%" + b"x" * 5000
    response = await client.post(
        "/api/v1/templates", data=template_form(big, template_metadata()), headers=WRITE
    )
    error = await expect_error(response, 400)
    assert error["details"][0]["field"] == "file"
    assert "larger than" in error["message"]


async def test_a_json_body_is_400_not_500(client: Any) -> None:
    await expect_error(await client.post("/api/v1/templates", json=template_metadata(), headers=WRITE), 400)


async def test_a_place_lists_global_its_own_and_its_brands_templates(
    create_template: Any, put_place: Any, client: Any
) -> None:
    brand = uuid.uuid4()
    place_id, _ = await put_place(brand_id=brand)
    other_place, _ = await put_place()
    everyone = await create_template(name="global")
    own = await create_template(name="own", visibility="restaurant", place_ids=[str(place_id)])
    brands = await create_template(name="brand", visibility="brand", brand_ids=[str(brand)])
    await create_template(name="other", visibility="restaurant", place_ids=[str(other_place)])
    await create_template(name="other brand", visibility="brand", brand_ids=[str(uuid.uuid4())])
    listed = await expect(
        await client.get("/api/v1/templates", params={"place_id": str(place_id)}, headers=READ),
        200,
        list[Template],
    )
    assert [t.id for t in listed] == [everyone["id"], own["id"], brands["id"]]
    everything = await expect(await client.get("/api/v1/templates", headers=READ), 200, list[Template])
    assert len(everything) == 5


async def test_patch_replaces_the_file_and_rechecks_the_settings(create_template: Any, client: Any) -> None:
    created = await create_template()
    bigger = template_pdf(pages=2, size=(595.0, 842.0))
    form = template_form(
        bigger, {"settings": {**SETTINGS, "page": 2, "qr": {"x": 400, "y": 600, "size": 150}}}
    )
    template = await expect(
        await client.patch(f"/api/v1/templates/{created['id']}", data=form, headers=WRITE), 200, Template
    )
    assert template.page_sizes == [(595.0, 842.0), (595.0, 842.0)]
    assert template.settings.page == 2
    smaller = template_form(template_pdf(pages=1), None)
    error = await expect_error(
        await client.patch(f"/api/v1/templates/{created['id']}", data=smaller, headers=WRITE), 400
    )
    assert error["details"][0]["field"] == "settings.page"


async def test_patch_changes_only_the_given_fields(create_template: Any, client: Any) -> None:
    created = await create_template(description="keep me")
    form = template_form(None, {"name": "renamed"})
    template = await expect(
        await client.patch(f"/api/v1/templates/{created['id']}", data=form, headers=WRITE), 200, Template
    )
    assert (template.name, template.description) == ("renamed", "keep me")


async def test_a_deleted_template_is_gone_for_readers(create_template: Any, client: Any) -> None:
    created = await create_template()
    response = await client.delete(f"/api/v1/templates/{created['id']}", headers=WRITE)
    assert response.status == 204
    await expect_error(
        await client.get(f"/api/v1/templates/{created['id']}", headers=READ), 404, "template_not_found"
    )
    await expect_error(await client.delete(f"/api/v1/templates/{created['id']}", headers=WRITE), 404)


async def test_uploading_needs_the_write_scope(client: Any) -> None:
    form = template_form(template_pdf(), template_metadata())
    await expect_error(await client.post("/api/v1/templates", data=form, headers=READ), 403, "missing_scope")


async def test_a_template_page_is_previewed_as_a_picture_of_that_page(
    create_template: Any, client: Any
) -> None:
    created = await create_template(template_pdf(pages=2))
    url = f"/api/v1/templates/{created['id']}/preview.png"
    response = await client.get(url, params={"page": 2, "width": 300}, headers=READ)
    assert response.status == 200 and response.content_type == "image/png"
    picture = pymupdf.Pixmap(await response.read())
    assert (picture.width, picture.height) == (300, round(300 * A6[1] / A6[0]))
    # The page's own text is in the picture: not a blank page (some pixels are dark).
    assert min(picture.samples) < 128
    await expect_error(
        await client.get(url, params={"page": 3}, headers=READ), 404, "template_page_not_found"
    )
    await expect_error(await client.get(url, params={"width": 5000}, headers=READ), 400)
    await expect_error(
        await client.get("/api/v1/templates/999999/preview.png", headers=READ), 404, "template_not_found"
    )


async def test_the_preview_of_a_template_whose_pdf_is_gone_says_so(
    create_template: Any, client: Any, settings: Any, db: Any
) -> None:
    from quintet_s3 import s3_client

    created = await create_template()
    link = await db.fetchval("SELECT template_link FROM templates WHERE template_id = $1", created["id"])
    async with s3_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
        await s3.delete_object(Bucket=settings.bucket, Key=link)
    response = await client.get(f"/api/v1/templates/{created['id']}/preview.png", headers=READ)
    await expect_error(response, 404, "template_file_missing")
