"""GraphiQL on /graphql and the API reference pages for browsers in dev, from files the gateway
serves itself (no CDN)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

MODULES = Path(__file__).resolve().parents[3] / "libs" / "nova-kit" / "dev-assets" / "node_modules"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

pytestmark = pytest.mark.skipif(
    not (MODULES / "graphiql").is_dir(), reason="make setup installs libs/nova-kit/dev-assets"
)


async def test_a_browser_gets_graphiql_and_every_asset_is_served_locally(
    make_gateway: Any,
) -> None:
    async with make_gateway(environment="dev", dev_assets=str(MODULES)) as client:
        page = await client.get("/graphql", headers={"Accept": BROWSER})
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        found = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        # the favicon is inline (a data: URL), so a browser asks for nothing but the five assets
        assert [source for source in found if source.startswith("data:")] == ["data:,"], found
        sources = [source for source in found if not source.startswith("data:")]
        assert len(sources) == 5, sources
        for source in sources:
            assert source.startswith("/graphql/explorer/"), source  # nothing from elsewhere
            asset = await client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 100, source
        # an operation in the URL, or a client asking for JSON, is GraphQL over HTTP as before
        query = await client.get(
            "/graphql", params={"query": "{ __typename }"}, headers={"Accept": BROWSER}
        )
        assert query.json() == {"data": {"__typename": "Query"}}
        plain = await client.get("/graphql", headers={"Accept": "application/json"})
        assert plain.status_code == 400


async def test_no_explorer_outside_dev(make_gateway: Any) -> None:
    async with make_gateway(environment="test", dev_assets=str(MODULES)) as client:
        page = await client.get("/graphql", headers={"Accept": BROWSER})
        assert page.status_code == 400
        assert "errors" in page.json()
        assert (await client.get("/graphql/explorer/graphiql.min.js")).status_code == 404


async def test_the_api_reference_pages_load_scalar_locally_in_dev(make_gateway: Any) -> None:
    async with make_gateway(environment="dev", dev_assets=str(MODULES)) as client:
        for page_path in ("/api/docs", "/schema"):
            page = await client.get(page_path)
            assert page.status_code == 200, page_path
            scripts = re.findall(r'<script[^>]*src="([^"]+)"', page.text)
            assert scripts == ["/schema/assets/standalone.js"], (page_path, scripts)
            assert re.findall(r"https?://", page.text) == [], page_path  # nothing from elsewhere
        bundle = await client.get("/schema/assets/standalone.js")
        assert bundle.status_code == 200
        assert len(bundle.content) > 1_000_000
