"""``/graphql``: GraphQL over HTTP in front of the federation engine.

POST takes a JSON body (or a list of them when batching is on) and answers 415 to any other
media type, as the GraphQL-over-HTTP specification asks; GET takes ``query``,
``operationName`` and ``variables`` (JSON) as parameters and never runs a mutation.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType

from nova_gateway.config import GatewaySettings
from nova_gateway.federation.engine import (
    BAD_REQUEST,
    FederationEngine,
    GraphQLRequest,
    GraphQLResponse,
)
from nova_gateway.federation.errors import graphql_error
from nova_kit.app import Runtime

logger = logging.getLogger(__name__)

ENGINE_KEY = "federation_engine"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"


def _is_json(content_type: str | None) -> bool:
    """``application/json``, with or without parameters (``; charset=utf-8``)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _engine(runtime: Runtime) -> FederationEngine:
    engine = runtime.extras[ENGINE_KEY]
    assert isinstance(engine, FederationEngine)
    return engine


def _forwarded(request: Request[Any, Any, Any], settings: GatewaySettings) -> dict[str, str]:
    wanted = {name.lower() for name in settings.forward_headers}
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() in wanted}
    request_id = request.scope.get("state", {}).get("request_id") or request.headers.get(
        "x-request-id"
    )
    if "x-request-id" in wanted and request_id:
        headers["x-request-id"] = str(request_id)
    return headers


def _json(
    response: GraphQLResponse | list[GraphQLResponse], status: int | None = None
) -> Response[Any]:
    if isinstance(response, list):
        return Response(
            [r.body for r in response], status_code=status or 200, media_type=MediaType.JSON
        )
    return Response(response.body, status_code=status or response.status, media_type=MediaType.JSON)


def _bad_request(message: str) -> Response[Any]:
    return Response(
        {"errors": [graphql_error(message, code=BAD_REQUEST)]},
        status_code=400,
        media_type=MediaType.JSON,
    )


def _parse_item(item: object) -> GraphQLRequest | str:
    if not isinstance(item, dict):
        return "The request body must be a JSON object."
    query = item.get("query")
    name = item.get("operationName")
    variables = item.get("variables")
    if query is not None and not isinstance(query, str):
        return "query must be a string."
    if name is not None and not isinstance(name, str):
        return "operationName must be a string."
    if variables is not None and not isinstance(variables, dict):
        return "variables must be a JSON object."
    return GraphQLRequest(query=query, operation_name=name, variables=variables)


async def _run(
    runtime: Runtime,
    request: Request[Any, Any, Any],
    item: GraphQLRequest,
    *,
    allow_mutations: bool,
) -> GraphQLResponse:
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    try:
        return await _engine(runtime).execute(
            item, allow_mutations=allow_mutations, headers=_forwarded(request, settings)
        )
    except Exception:
        request_id = str(request.scope.get("state", {}).get("request_id") or uuid.uuid4())
        logger.exception("GraphQL request failed", extra={"request_id": request_id})
        return GraphQLResponse(
            500,
            {
                "errors": [
                    graphql_error(
                        "Internal server error", code=INTERNAL_SERVER_ERROR, requestId=request_id
                    )
                ]
            },
        )


@post("/graphql", status_code=200, include_in_schema=False)
async def graphql_post(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> Response[Any]:
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    if not _is_json(request.headers.get("content-type")):
        return Response(
            {
                "errors": [
                    graphql_error(
                        "POST /graphql takes a JSON body: send Content-Type: application/json.",
                        code=UNSUPPORTED_MEDIA_TYPE,
                    )
                ]
            },
            status_code=415,
            media_type=MediaType.JSON,
            headers={"Accept-Post": "application/json"},
        )
    try:
        payload = json.loads(await request.body())
    except ValueError:
        return _bad_request("The request body is not valid JSON.")
    if isinstance(payload, list):
        if not settings.batching:
            return _bad_request("Batched requests are not enabled on this gateway.")
        if not payload or len(payload) > settings.max_batch_size:
            return _bad_request(f"A batch holds 1 to {settings.max_batch_size} operations.")
        items = [_parse_item(item) for item in payload]
        for item in items:
            if isinstance(item, str):
                return _bad_request(item)
        responses = [
            await _run(runtime, request, item, allow_mutations=True)
            for item in items
            if isinstance(item, GraphQLRequest)
        ]
        return _json(responses)
    item = _parse_item(payload)
    if isinstance(item, str):
        return _bad_request(item)
    return _json(await _run(runtime, request, item, allow_mutations=True))


@get("/graphql", include_in_schema=False)
async def graphql_get(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> Response[Any]:
    params = request.query_params
    variables: object = None
    raw_variables = params.get("variables")
    if raw_variables:
        try:
            variables = json.loads(raw_variables)
        except ValueError:
            return _bad_request("variables is not valid JSON.")
    item = _parse_item(
        {
            "query": params.get("query"),
            "operationName": params.get("operationName"),
            "variables": variables,
        }
    )
    if isinstance(item, str):
        return _bad_request(item)
    return _json(await _run(runtime, request, item, allow_mutations=False))
