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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.types import Scope

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


def _forwarded(scope: Scope, settings: GatewaySettings) -> dict[str, str]:
    wanted = _wanted(tuple(settings.forward_headers))
    # The raw header list: no header mapping built per request.
    headers: dict[str, str] = {}
    sent_request_id: str | None = None
    for raw_name, value in scope["headers"]:
        name = raw_name.lower()
        if name in wanted:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        if name == b"x-request-id" and sent_request_id is None:
            sent_request_id = value.decode("latin-1")
    # The client as this gateway resolved it (nova_kit.proxies), never what the client sent.
    headers["x-forwarded-for"] = client_host(scope)
    request_id = scope.get("state", {}).get("request_id") or sent_request_id
    if b"x-request-id" in wanted and request_id:
        headers["x-request-id"] = str(request_id)
    return headers


_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Reply:
    """A ``/graphql`` answer: its status, media type, JSON value and extra headers."""

    status: int
    media_type: str
    content: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        return _ENCODER.encode(self.content)

    def encoded_headers(self, body: bytes) -> list[tuple[bytes, bytes]]:
        """The headers Litestar gives :meth:`response` (same names, values and order)."""
        return [
            (b"cache-control", b"no-store"),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()),
            (b"content-type", f"{self.media_type}; charset=utf-8".encode("latin-1")),
            (b"content-length", str(len(body)).encode("latin-1")),
        ]

    def response(self) -> Response[bytes]:
        return Response(
            self.body(),
            status_code=self.status,
            media_type=f"{self.media_type}; charset=utf-8",
            headers={"Cache-Control": "no-store", **self.headers},
        )


def _refuse(error: graphql_http.TransportError, media_type: str | None) -> Reply:
    return Reply(
        error.status, media_type or graphql_http.APPLICATION_JSON, error.body, error.headers
    )


async def _run(
    runtime: Runtime,
    scope: Scope,
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
            item, allow_mutations=allow_mutations, headers=_forwarded(scope, settings)
        )
    except Exception:
        request_id = str(scope.get("state", {}).get("request_id") or uuid.uuid4())
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


def _answer(media_type: str, response: GraphQLResponse) -> Reply:
    if response.status == 405:
        return _refuse(graphql_http.method_not_allowed(), media_type)
    status = graphql_http.status_for(media_type, response.body, response.status)
    return Reply(status, media_type, response.body)


async def _answer_batch(
    runtime: Runtime, scope: Scope, media_type: str, payload: list[Any]
) -> Reply:
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
    bodies = [(await _run(runtime, scope, item, allow_mutations=True)).body for item in items]
    return Reply(200, media_type, bodies)


async def answer_post(
    runtime: Runtime,
    scope: Scope,
    accept: str | None,
    content_type: str | None,
    body: Callable[[], Awaitable[bytes]],
) -> Reply:
    """The answer to a ``POST /graphql`` (``body`` reads the request's body, once the answer's
    media type is known)."""
    media_type: str | None = None
    try:
        media_type = graphql_http.require_media_type(accept)
        payload = graphql_http.decode_post_body(content_type, await body())
        if isinstance(payload, list):
            return await _answer_batch(runtime, scope, media_type, payload)
        params = graphql_http.params_of(payload)
    except graphql_http.TransportError as error:
        return _refuse(error, media_type)
    return _answer(media_type, await _run(runtime, scope, params, allow_mutations=True))


async def answer_get(
    runtime: Runtime, scope: Scope, accept: str | None, parameters: MultiDict[str]
) -> Reply:
    """The answer to a ``GET /graphql`` that is no request for the explorer's page."""
    media_type: str | None = None
    try:
        media_type = graphql_http.require_media_type(accept)
        params = graphql_http.params_of_query_string(parameters)
    except graphql_http.TransportError as error:
        return _refuse(error, media_type)
    return _answer(media_type, await _run(runtime, scope, params, allow_mutations=False))


@post("/graphql", status_code=200, include_in_schema=False)
async def graphql_post(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> Response[bytes]:
    reply = await answer_post(
        runtime,
        request.scope,
        request.headers.get("accept"),
        request.headers.get("content-type"),
        request.body,
    )
    return reply.response()


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
    reply = await answer_get(runtime, request.scope, accept, request.query_params)
    return reply.response()
