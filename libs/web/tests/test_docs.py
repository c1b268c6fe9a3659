"""/docs: Swagger UI 5 (it reads OpenAPI 3.1) from files shipped in the package, found by relative URLs."""

import re

import pytest

from quintet_testing.http import DEV_JWT_SECRET, api_client
from quintet_web import create_base_app


@pytest.fixture
async def client():
    app = create_base_app("docs-svc", jwt_secret=DEV_JWT_SECRET, routes=[], readiness={})
    async with api_client(app) as client:
        yield client


async def test_docs_page_references_its_assets_relatively(client):
    page = await (await client.get("/docs")).text()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert set(assets) == {"docs/static/swagger-ui.css", "docs/static/swagger-ui-bundle.js"}
    assert 'url: "openapi.json"' in page


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css")],
)
async def test_docs_assets_are_served(client, asset, content_type):
    response = await client.get(f"/docs/static/{asset}")
    assert response.status == 200
    assert content_type in response.headers["Content-Type"]


async def test_docs_use_swagger_ui_5_which_reads_openapi_3_1(client):
    bundle = await (await client.get("/docs/static/swagger-ui-bundle.js")).text()
    assert re.search(r'"5\.\d+\.\d+"', bundle)
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
