"""``/graphql``: GraphQL over HTTP in front of the federation engine.

The transport rules are nova-kit's (:mod:`nova_kit.graphql_http`), the same as every
subgraph's: ``Accept`` negotiation between ``application/graphql-response+json`` and
``application/json``, status codes per media type, ``POST`` with a JSON body (or a list of them
when batching is on), ``GET`` with ``query``, ``operationName``, ``variables`` and
``extensions`` as parameters and never a mutation (``405``, ``Allow: POST``).
"""

from __future__ import annotations

import logging
import uuid
from functools import lru_cache
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from nova_gateway import explorer
from nova_gateway.config import GatewaySettings
from nova_gateway.federation.engine import (
    BAD_REQUEST,
    FederationEngine,
    GraphQLRequest,
    GraphQLResponse,
)
from nova_gateway.federation.errors import graphql_error
from nova_kit import graphql_http
from nova_kit.app import Runtime, StateKey
from nova_kit.proxies import client_host

logger = logging.getLogger(__name__)

ENGINE_KEY = StateKey[FederationEngine]("federation_engine")


def _engine(runtime: Runtime) -> FederationEngine:
    return ENGINE_KEY.get(runtime.state)


@lru_cache(maxsize=16)
def _wanted(names: tuple[str, ...]) -> frozenset[bytes]:
    return frozenset(name.lower().encode("latin-1") for name in names)


def _forwarded(request: Request[Any, Any, Any], settings: GatewaySettings) -> dict[str, str]:
    wanted = _wanted(tuple(settings.forward_headers))
    # The raw header list: no header mapping built per request.
    headers: dict[str, str] = {}
    sent_request_id: str | None = None
    for raw_name, value in request.scope["headers"]:
        name = raw_name.lower()
        if name in wanted:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        if name == b"x-request-id" and sent_request_id is None:
            sent_request_id = value.decode("latin-1")
    # The client as this gateway resolved it (nova_kit.proxies), never what the client sent.
    headers["x-forwarded-for"] = client_host(request.scope)
    request_id = request.scope.get("state", {}).get("request_id") or sent_request_id
    if b"x-request-id" in wanted and request_id:
        headers["x-request-id"] = str(request_id)
    return headers


async def _run(
    runtime: Runtime,
    request: Request[Any, Any, Any],
    params: graphql_http.GraphQLParams,
    *,
    allow_mutations: bool,
) -> GraphQLResponse:
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    try:
        item = GraphQLRequest(
            query=params.query, operation_name=params.operation_name, variables=params.variables
        )
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
                        "Internal server error",
                        code=graphql_http.INTERNAL_SERVER_ERROR,
                        requestId=request_id,
                    )
                ]
            },
        )


def _answer(media_type: str, response: GraphQLResponse) -> Response[bytes]:
    if response.status == 405:
        return graphql_http.refuse(graphql_http.method_not_allowed(), media_type)
    status = graphql_http.status_for(media_type, response.body, response.status)
    return graphql_http.respond(media_type, response.body, status)


async def _answer_batch(
    runtime: Runtime, request: Request[Any, Any, Any], media_type: str, payload: list[Any]
) -> Response[bytes]:
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    if not settings.batching:
        raise graphql_http.TransportError(
            400, BAD_REQUEST, "Batched requests are not enabled on this gateway."
        )
    if not payload or len(payload) > settings.max_batch_size:
        raise graphql_http.TransportError(
            400, BAD_REQUEST, f"A batch holds 1 to {settings.max_batch_size} operations."
        )
    items = [graphql_http.params_of(item) for item in payload]
    bodies = [(await _run(runtime, request, item, allow_mutations=True)).body for item in items]
    return graphql_http.respond(media_type, bodies)


@post("/graphql", status_code=200, include_in_schema=False)
async def graphql_post(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> Response[bytes]:
    media_type: str | None = None
    try:
        media_type = graphql_http.require_media_type(request.headers.get("accept"))
        payload = graphql_http.decode_post_body(
            request.headers.get("content-type"), await request.body()
        )
        if isinstance(payload, list):
            return await _answer_batch(runtime, request, media_type, payload)
        params = graphql_http.params_of(payload)
    except graphql_http.TransportError as error:
        return graphql_http.refuse(error, media_type)
    return _answer(media_type, await _run(runtime, request, params, allow_mutations=True))


@get("/graphql", include_in_schema=False)
async def graphql_get(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> Response[bytes] | Response[str]:
    accept = request.headers.get("accept")
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    if explorer.wants_explorer(accept, "query" in request.query_params) and (
        explorer.asset_directories(settings) is not None
    ):
        return explorer.explorer_page()
    media_type: str | None = None
    try:
        media_type = graphql_http.require_media_type(accept)
        params = graphql_http.params_of_query_string(request.query_params)
    except graphql_http.TransportError as error:
        return graphql_http.refuse(error, media_type)
    return _answer(media_type, await _run(runtime, request, params, allow_mutations=False))
