"""OpenAPI 3.1 generated from the routes' pydantic models, and Swagger UI served from a local bundle."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from quintet_web.routes import RouteSpec

REF = "#/components/schemas/{model}"


class ErrorEnvelope(BaseModel):
    code: str
    message: str
    details: Any = None


_STATUS_TEXT = {
    400: "bad input (the field is named in `details`)",
    401: "missing, malformed or expired token",
    403: "token lacks the scope",
    404: "not found",
    409: "conflict",
}


def _schema(tp: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = TypeAdapter(tp).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        components[tp.__name__] = schema
        return {"$ref": REF.format(model=tp.__name__)}
    return schema


def _parameters(
    model: type[BaseModel] | None, where: str, components: dict[str, Any]
) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        params.append(
            {
                "name": name,
                "in": where,
                "required": where == "path" or name in required,
                "schema": prop,
                **({"description": prop["description"]} if "description" in prop else {}),
            }
        )
    return params


def _platform_operation(summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "tags": ["platform"], "responses": responses}}


_STATUS_BODY = {
    "type": "object",
    "properties": {"status": {"type": "string"}, "checks": {"type": "object"}, "service": {"type": "string"}},
}
# Served by every service (quintet_web.create_base_app), without auth.
_PLATFORM_PATHS: dict[str, Any] = {
    "/health": _platform_operation(
        "Liveness: the process answers",
        {"200": {"description": "alive", "content": {"application/json": {"schema": _STATUS_BODY}}}},
    ),
    "/ready": _platform_operation(
        "Readiness: the database and the broker answer (each check named in `checks`)",
        {
            "200": {"description": "ready", "content": {"application/json": {"schema": _STATUS_BODY}}},
            "503": {
                "description": "a dependency failed",
                "content": {"application/json": {"schema": _STATUS_BODY}},
            },
        },
    ),
    "/metrics": _platform_operation(
        "Prometheus metrics (text exposition format)",
        {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
    ),
}


def build_openapi(title: str, routes: list[RouteSpec], server_prefix: str = "") -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = dict(_PLATFORM_PATHS)
    error_ref = _schema(ErrorEnvelope, components, "serialization")
    for spec in routes:
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", spec.path)
        op: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": spec.handler.__name__,
            "tags": list(spec.tags),
            "parameters": _parameters(spec.path_params, "path", components)
            + _parameters(spec.query, "query", components),
            "responses": {},
        }
        if spec.description:
            op["description"] = spec.description
        if spec.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(spec.body, components, "validation")}},
            }
        if spec.status == 204:
            op["responses"]["204"] = {"description": "done"}
        elif spec.response is not None:
            op["responses"][str(spec.status)] = {
                "description": "success",
                "content": {
                    spec.response_content_type: {
                        "schema": _schema(spec.response, components, "serialization")
                    }
                },
            }
        else:
            op["responses"][str(spec.status)] = {
                "description": "success",
                "content": {spec.response_content_type: {}},
            }
        statuses = set(spec.errors) | {400}
        if spec.scope:
            op["security"] = [{"bearerAuth": []}]
            op["description"] = (
                op.get("description", "") + f"\n\nScope: `{' or '.join(spec.scope)}`."
            ).strip()
            statuses |= {401, 403}
        for status in sorted(statuses):
            op["responses"][str(status)] = {
                "description": _STATUS_TEXT.get(status, "error"),
                "content": {"application/json": {"schema": error_ref}},
            }
        paths.setdefault(path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0"},
        "servers": [{"url": server_prefix or "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


# Swagger UI 5 (it reads OpenAPI 3.1), vendored from swagger-ui-dist: see static/swagger-ui/README.md.
SWAGGER_UI_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"

# Every URL is relative to /docs, so the page works on the service's port and behind the gateway's
# /<service>/ prefix alike.
SWAGGER_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true}});</script>
</body></html>"""
