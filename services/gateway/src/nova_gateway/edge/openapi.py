"""One OpenAPI document for API clients, merged from the upstream services' documents.

Each upstream's paths under its route prefix are kept (nothing under ``/internal``), its
component schemas are renamed ``<Service><Name>`` so two services may both have a ``Error``
schema, and its operations are tagged with the service. An upstream that cannot be reached is
listed under ``x-nova-unavailable`` instead of failing the whole document.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType

from nova_gateway.edge.settings import EdgeSettings
from nova_kit.app import SCALAR_BROWSER, SCALAR_OFFLINE_OPTIONS, Runtime, StateKey

DOCUMENT_KEY = StateKey["MergedOpenAPI"]("nova_merged_openapi")
_REF = re.compile(r"^#/components/schemas/(.+)$")


def service_name(prefix: str) -> str:
    return prefix.rstrip("/").rsplit("/", 1)[-1] or "api"


def _rename_refs(node: Any, rename: dict[str, str]) -> Any:
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and (match := _REF.match(value)):
                result[key] = f"#/components/schemas/{rename.get(match.group(1), match.group(1))}"
            else:
                result[key] = _rename_refs(value, rename)
        return result
    if isinstance(node, list):
        return [_rename_refs(item, rename) for item in node]
    return node


def merge_documents(
    documents: dict[str, dict[str, Any]], title: str, version: str
) -> dict[str, Any]:
    """Merge ``{route prefix: OpenAPI document}`` into one document."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    tags: list[dict[str, str]] = []
    for prefix, document in sorted(documents.items()):
        service = service_name(prefix)
        label = service[:1].upper() + service[1:]
        component_schemas = document.get("components", {}).get("schemas", {})
        rename = {name: f"{label}{name}" for name in component_schemas}
        for name, schema in component_schemas.items():
            schemas[rename[name]] = _rename_refs(schema, rename)
        for path, raw_item in document.get("paths", {}).items():
            if not (path == prefix or path.startswith(f"{prefix}/")) or "/internal" in path:
                continue
            item = _rename_refs(raw_item, rename)
            for operation in item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["tags"] = [service]
            paths[path] = item
        tags.append(
            {"name": service, "description": document.get("info", {}).get("title", service)}
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
        "tags": tags,
    }


class MergedOpenAPI:
    def __init__(self, settings: EdgeSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self._document: dict[str, Any] | None = None
        self._built_at = 0.0
        self._lock = asyncio.Lock()

    async def fetch(self, upstream: str) -> dict[str, Any] | None:
        try:
            response = await self.client.get(
                f"{upstream}{self.settings.upstream_openapi_path}", timeout=httpx.Timeout(3.0)
            )
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        return document if isinstance(document, dict) else None

    async def document(self) -> dict[str, Any]:
        async with self._lock:
            fresh = time.monotonic() - self._built_at < self.settings.openapi_cache_seconds
            if self._document is not None and fresh:
                return self._document
            routes = self.settings.routes
            fetched = await asyncio.gather(*(self.fetch(upstream) for upstream in routes.values()))
            documents = {p: d for p, d in zip(routes, fetched, strict=True) if d is not None}
            merged = merge_documents(documents, "Nova API", "1.0.0")
            missing = sorted(
                service_name(p) for p, d in zip(routes, fetched, strict=True) if d is None
            )
            if missing:
                merged["x-nova-unavailable"] = missing
            else:
                self._document, self._built_at = merged, time.monotonic()
            return merged


@get("/api/openapi.json", media_type=MediaType.JSON, include_in_schema=False)
async def merged_openapi(runtime: NamedDependency[Runtime]) -> dict[str, Any]:
    """The merged OpenAPI document of every REST route behind the gateway."""
    return await DOCUMENT_KEY.get(runtime.state).document()


DOCS_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Nova API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"></head>
<body>
<script id="api-reference" data-url="/api/openapi.json"
  data-configuration='{configuration}'></script>
<script src="{script}"></script>
</body>
</html>
"""


SCALAR_CDN = "https://cdn.jsdelivr.net/npm/@scalar/api-reference"


@get("/api/docs", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
def api_docs(runtime: NamedDependency[Runtime]) -> Response[str]:
    """An API reference page reading ``/api/openapi.json``; in dev, Scalar comes from the
    gateway itself (the dev assets behind ``/schema/assets``), so the page works offline."""
    local = runtime.settings.dev_asset_directory(*SCALAR_BROWSER) is not None
    script = "/schema/assets/standalone.js" if local else SCALAR_CDN
    page = DOCS_PAGE.format(script=script, configuration=json.dumps(SCALAR_OFFLINE_OPTIONS))
    return Response(page, media_type=MediaType.HTML)
