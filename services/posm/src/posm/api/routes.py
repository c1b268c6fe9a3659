"""HTTP handlers: parse, call one use case, serialise."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
import uuid
from typing import Any

import asyncpg
from aiohttp import BodyPartReader, web
from pydantic import ValidationError

from posm import rendering
from posm.api.models import (
    CheckResult,
    GenerationCreated,
    GenerationDetail,
    GenerationHistory,
    GenerationPath,
    GenerationRequest,
    GenerationSummary,
    GenerationTable,
    GenerationTablePath,
    HistoryQuery,
    Place,
    PlacePath,
    PutPlaceRequest,
    QrPngQuery,
    Table,
    TablePath,
    Template,
    TemplateMetadata,
    TemplatePatch,
    TemplatePath,
    TemplatePreviewQuery,
    TemplatesQuery,
)
from posm.domain.errors import InvalidInput, InvalidTemplateFile
from posm.settings import Settings
from posm.usecases import downloads, generations, places, templates
from quintet_s3 import ObjectStore
from quintet_service import PG_POOL, S3_CLIENT, app_settings
from quintet_web import BadRequest, Principal, RouteTable
from quintet_web.errors import validation_error_response

routes = RouteTable("posm")

READ = ("posm:read", "posm:write")
WRITE = "posm:write"
API = "/api/v1"
MAX_METADATA_BYTES = 64 * 1024
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
ARCHIVE_WINDOW = 16  # S3 requests in flight ahead of the archive being written


# -- places -----------------------------------------------------------------------------------


def _place(result: places.PlaceWithTables) -> Place:
    return Place(
        place_id=result.place["place_id"],
        name=result.place["name"],
        brand_id=result.place["brand_id"],
        tables=[Table(id=t["table_id"], label=t["label"]) for t in result.tables],
        updated_at=result.place["updated_at"],
    )


@routes.put(
    f"{API}/places/{{place_id}}",
    summary="Create or replace a place with its full current set of tables (missing ones are removed)",
    scope=WRITE,
    path_params=PlacePath,
    body=PutPlaceRequest,
    response=Place,
    errors=(400, 409),
)
async def put_place(request: web.Request, *, path: PlacePath, body: PutPlaceRequest) -> Place:
    result = await places.put_place(
        request.app[PG_POOL], path.place_id, body.name, body.brand_id, [(t.id, t.label) for t in body.tables]
    )
    return _place(result)


@routes.get(
    f"{API}/places/{{place_id}}",
    summary="A place and its current tables",
    scope=READ,
    path_params=PlacePath,
    response=Place,
    errors=(400, 404),
)
async def get_place(request: web.Request, *, path: PlacePath) -> Place:
    return _place(await places.get_place(request.app[PG_POOL], path.place_id))


# -- templates --------------------------------------------------------------------------------


def _template(row: asyncpg.Record) -> Template:
    return Template(
        id=row["template_id"],
        name=row["name"],
        description=row["description"],
        settings=row["settings"],
        visibility=row["visibility"],
        place_ids=list(row["place_ids"]),
        brand_ids=list(row["brand_ids"]),
        page_sizes=[tuple(size) for size in row["page_sizes"]],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _read_part(part: BodyPartReader, limit: int, field: str, too_large: str) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(256 * 1024):
        data += chunk
        if len(data) > limit:
            raise InvalidTemplateFile(field, too_large)
    return bytes(data)


async def _read_upload(request: web.Request, *, file_required: bool) -> tuple[bytes | None, Any]:
    """The multipart body: a `file` part (the PDF) and a `metadata` part (JSON)."""
    if not request.content_type.startswith("multipart/form-data"):
        raise InvalidInput("body", "must be multipart/form-data with a `file` part and a `metadata` part")
    limit = app_settings(request, Settings).max_template_bytes
    pdf: bytes | None = None
    metadata: Any = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidInput("body", "nested multipart parts are not accepted")
            if part.name == "file" and pdf is None:
                megabytes = limit / (1024 * 1024)
                pdf = await _read_part(part, limit, "file", f"is larger than {megabytes:g} MB")
                if not pdf.startswith(b"%PDF-"):
                    raise InvalidTemplateFile("file", "is not a PDF")
            elif part.name == "metadata" and metadata is None:
                raw = await _read_part(part, MAX_METADATA_BYTES, "metadata", "is larger than 64 KB")
                try:
                    metadata = json.loads(raw)
                except (ValueError, RecursionError) as exc:
                    raise InvalidInput("metadata", "is not valid JSON") from exc
            else:
                raise InvalidInput("body", f"unexpected part {part.name!r} (expected `file` and `metadata`)")
    except ValueError as exc:  # a malformed multipart body
        raise InvalidInput("body", "is not valid multipart/form-data") from exc
    if pdf is None and file_required:
        raise InvalidInput("file", "is required (a PDF)")
    return pdf, metadata


@routes.post(
    f"{API}/templates",
    summary="Upload a template: multipart `file` (PDF, 20 MB at most) + `metadata` (JSON TemplateMetadata)",
    scope=WRITE,
    response=Template,
    status=201,
    errors=(400,),
)
async def create_template(request: web.Request) -> Template | web.Response:
    pdf, metadata = await _read_upload(request, file_required=True)
    assert pdf is not None
    if metadata is None:
        raise InvalidInput("metadata", "is required (JSON)")
    try:
        fields = TemplateMetadata.model_validate(metadata)
    except ValidationError as exc:
        return validation_error_response(exc, "metadata")
    row = await templates.create_template(
        request.app[PG_POOL],
        ObjectStore(request.app[S3_CLIENT]),
        app_settings(request, Settings).bucket,
        pdf,
        templates.TemplateFields(
            name=fields.name,
            description=fields.description,
            settings=fields.settings,
            visibility=fields.visibility,
            place_ids=fields.place_ids,
            brand_ids=fields.brand_ids,
        ),
    )
    return _template(row)


@routes.get(
    f"{API}/templates",
    summary="Templates: all, or with `place_id` those the place may use (global + its own + its brand's)",
    scope=READ,
    query=TemplatesQuery,
    response=list[Template],
    errors=(400,),
)
async def list_templates(request: web.Request, *, query: TemplatesQuery) -> list[Template]:
    return [_template(row) for row in await templates.list_templates(request.app[PG_POOL], query.place_id)]


@routes.get(
    f"{API}/templates/{{template_id}}",
    summary="One template",
    scope=READ,
    path_params=TemplatePath,
    response=Template,
    errors=(400, 404),
)
async def get_template(request: web.Request, *, path: TemplatePath) -> Template:
    return _template(await templates.get_template(request.app[PG_POOL], path.template_id))


@routes.get(
    f"{API}/templates/{{template_id}}/preview.png",
    summary="A picture of one page of the template's PDF (the console draws the QR and label over it)",
    scope=READ,
    path_params=TemplatePath,
    query=TemplatePreviewQuery,
    response_content_type="image/png",
    errors=(400, 404),
)
async def template_preview(
    request: web.Request, *, path: TemplatePath, query: TemplatePreviewQuery
) -> web.Response:
    png = await templates.template_page_png(
        request.app[PG_POOL],
        ObjectStore(request.app[S3_CLIENT]),
        app_settings(request, Settings).bucket,
        path.template_id,
        query.page,
        query.width,
    )
    return web.Response(body=png, content_type="image/png")


@routes.patch(
    f"{API}/templates/{{template_id}}",
    summary="Change a template: multipart with an optional new `file` and/or `metadata` (JSON TemplatePatch)",
    scope=WRITE,
    path_params=TemplatePath,
    response=Template,
    errors=(400, 404),
)
async def patch_template(request: web.Request, *, path: TemplatePath) -> Template | web.Response:
    pdf, metadata = await _read_upload(request, file_required=False)
    try:
        patch = TemplatePatch.model_validate(metadata or {})
    except ValidationError as exc:
        return validation_error_response(exc, "metadata")
    row = await templates.update_template(
        request.app[PG_POOL],
        ObjectStore(request.app[S3_CLIENT]),
        app_settings(request, Settings).bucket,
        path.template_id,
        pdf,
        {key: getattr(patch, key) for key in patch.model_fields_set},
    )
    return _template(row)


@routes.delete(
    f"{API}/templates/{{template_id}}",
    summary="Delete a template (soft: existing generations keep it)",
    scope=WRITE,
    path_params=TemplatePath,
    status=204,
    errors=(400, 404),
)
async def delete_template(request: web.Request, *, path: TemplatePath) -> None:
    await templates.delete_template(request.app[PG_POOL], path.template_id)


# -- generations ------------------------------------------------------------------------------


def _created(row: asyncpg.Record) -> GenerationCreated:
    return GenerationCreated(id=row["generation_id"], version=row["version"], status=row["status"])


@routes.post(
    f"{API}/places/{{place_id}}/generations",
    summary="Ask for a generation (Idempotency-Key header required): 201 new, 200 same key and body again",
    scope=WRITE,
    path_params=PlacePath,
    body=GenerationRequest,
    response=GenerationCreated,
    status=201,
    errors=(400, 404, 422),
)
async def request_generation(
    request: web.Request, *, path: PlacePath, body: GenerationRequest, principal: Principal
) -> GenerationCreated | web.Response:
    key = request.headers.get("Idempotency-Key")
    if key is None or not IDEMPOTENCY_KEY.match(key):
        raise BadRequest(
            "Idempotency-Key header is required: 1-200 printable ASCII characters",
            code="validation_error",
            details=[
                {"field": "Idempotency-Key", "message": "required, 1-200 printable ASCII", "type": "header"}
            ],
        )
    order = generations.GenerationOrder(body.template_id, body.settings, body.table_ids)
    row, created = await generations.request_generation(
        request.app[PG_POOL], path.place_id, key, order, principal.sub
    )
    if created:
        return _created(row)
    return web.Response(body=_created(row).model_dump_json(), status=200, content_type="application/json")


@routes.get(
    f"{API}/places/{{place_id}}/generations",
    summary="The place's generations, newest first (filter by template; page with `cursor`)",
    scope=READ,
    path_params=PlacePath,
    query=HistoryQuery,
    response=GenerationHistory,
    errors=(400,),
)
async def generation_history(
    request: web.Request, *, path: PlacePath, query: HistoryQuery
) -> GenerationHistory:
    before = int(query.cursor) if query.cursor else None
    rows = await generations.history(
        request.app[PG_POOL], path.place_id, query.template_id, before, query.limit
    )
    items = [
        GenerationSummary(
            id=r["generation_id"],
            template_id=r["template_id"],
            version=r["version"],
            status=r["status"],
            author=r["author"],
            comment=r["comment"],
            tables=r["tables"],
            rendered=r["rendered"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]
    next_cursor = str(items[-1].id) if len(items) == query.limit else None
    return GenerationHistory(items=items, next_cursor=next_cursor)


@routes.get(
    f"{API}/places/{{place_id}}/generations/{{generation_id}}",
    summary="One generation: settings used, tables with labels, status, comment",
    scope=READ,
    path_params=GenerationPath,
    response=GenerationDetail,
    errors=(400, 404),
)
async def generation_detail(request: web.Request, *, path: GenerationPath) -> GenerationDetail:
    result = await generations.detail(request.app[PG_POOL], path.place_id, path.generation_id)
    row = result.generation
    return GenerationDetail(
        id=row["generation_id"],
        place_id=row["place_id"],
        template_id=row["template_id"],
        version=row["version"],
        status=row["status"],
        author=row["author"],
        comment=row["comment"],
        settings=row["settings"],
        tables=[
            GenerationTable(id=t["table_id"], label=t["label"], rendered=t["object_key"] is not None)
            for t in result.tables
        ],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


@routes.get(
    f"{API}/places/{{place_id}}/generations/{{generation_id}}/check",
    summary="Compare the generation's tables with the place's current ones (before downloading)",
    scope=READ,
    path_params=GenerationPath,
    response=CheckResult,
    errors=(400, 404),
)
async def check_generation(request: web.Request, *, path: GenerationPath) -> CheckResult:
    changes = await generations.check(request.app[PG_POOL], path.place_id, path.generation_id)
    added = [Table(id=c["table_id"], label=c["label"]) for c in changes if c["change"] == "added"]
    removed = [Table(id=c["table_id"], label=c["label"]) for c in changes if c["change"] == "removed"]
    return CheckResult(ok=not changes, added_tables=added, removed_tables=removed)


def _attachment(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(filename)}"


@routes.get(
    f"{API}/places/{{place_id}}/generations/{{generation_id}}/archive",
    summary="The generation's POSMs as one zip, streamed while read from S3 (409 unless done)",
    scope=READ,
    path_params=GenerationPath,
    response_content_type="application/zip",
    errors=(400, 404, 409),
    timeout=None,  # streams for as long as the client reads
)
async def generation_archive(request: web.Request, *, path: GenerationPath) -> web.StreamResponse:
    plan = await downloads.plan_archive(request.app[PG_POOL], path.place_id, path.generation_id)
    generation = plan.generation
    s3 = request.app[S3_CLIENT]
    responses = downloads.open_objects(
        s3, app_settings(request, Settings).bucket, [key for _, key in plan.entries], ARCHIVE_WINDOW
    )
    chunks = downloads.stream_zip(plan.entries, responses, generation["created_at"])
    try:
        # The first piece before the headers: an object missing from the start is a 500, not a
        # truncated 200. (One missing later cuts the connection: the client sees a failed download.)
        first = await anext(chunks)
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": _attachment(
                    f"posm-{generation['place_id']}-v{generation['version']}.zip"
                ),
                "X-Accel-Buffering": "no",  # the gateway passes it on as it comes
            }
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await chunks.aclose()
        await responses.aclose()


@routes.get(
    f"{API}/places/{{place_id}}/generations/{{generation_id}}/tables/{{table_id}}.pdf",
    summary="One table's POSM of a generation",
    scope=READ,
    path_params=GenerationTablePath,
    response_content_type="application/pdf",
    errors=(400, 404, 409),
    timeout=None,  # streams for as long as the client reads
)
async def table_pdf(request: web.Request, *, path: GenerationTablePath) -> web.StreamResponse:
    key = await downloads.table_object(request.app[PG_POOL], path.place_id, path.generation_id, path.table_id)
    s3: Any = request.app[S3_CLIENT]
    found = await s3.get_object(Bucket=app_settings(request, Settings).bucket, Key=key)
    body = found["Body"]
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/pdf",
                "Content-Disposition": _attachment(f"{path.table_id}.pdf"),
            }
        )
        response.content_length = int(found["ContentLength"])
        await response.prepare(request)
        while chunk := await body.read(256 * 1024):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        body.close()


def _qr_data(request: web.Request, table_id: uuid.UUID) -> str:
    return app_settings(request, Settings).qr_url_template.format(table_id=table_id)


@routes.get(
    f"{API}/tables/{{table_id}}/qr.svg",
    summary="The table's QR alone, as SVG",
    scope=READ,
    path_params=TablePath,
    response_content_type="image/svg+xml",
    errors=(400,),
)
async def qr_svg(request: web.Request, *, path: TablePath) -> web.Response:
    svg = await asyncio.to_thread(rendering.qr_svg, _qr_data(request, path.table_id))
    return web.Response(text=svg, content_type="image/svg+xml")


@routes.get(
    f"{API}/tables/{{table_id}}/qr.png",
    summary="The table's QR alone, as a PNG of `size` pixels",
    scope=READ,
    path_params=TablePath,
    query=QrPngQuery,
    response_content_type="image/png",
    errors=(400,),
)
async def qr_png(request: web.Request, *, path: TablePath, query: QrPngQuery) -> web.Response:
    png = await asyncio.to_thread(rendering.qr_png, _qr_data(request, path.table_id), query.size)
    return web.Response(body=png, content_type="image/png")
