"""GraphQL over HTTP, as the GraphQL-over-HTTP specification (current draft) describes it.

One implementation of the transport for every GraphQL endpoint of Nova — each subgraph through
:func:`graphql_controller`, the gateway's ``/graphql`` through the functions below:

* **Media types.** :func:`negotiate` reads ``Accept`` (quality values included) and picks
  ``application/graphql-response+json`` or ``application/json``; no ``Accept``, ``*/*`` or
  ``application/*`` mean ``application/json``; an ``Accept`` naming neither is ``406``.
* **Requests.** ``POST`` takes ``Content-Type: application/json`` (UTF-8) holding an object with
  ``query`` (string), and optionally ``operationName`` (string), ``variables`` and
  ``extensions`` (objects), each of them possibly ``null``. ``GET`` takes the same parameters in
  the query string, ``variables`` and ``extensions`` JSON-encoded, and runs queries only: a
  mutation is ``405`` with ``Allow: POST``. Anything else is not a GraphQL-over-HTTP request
  and is refused with a ``4xx`` and an error saying which parameter is wrong
  (:class:`TransportError`), whichever media type was asked for.
* **Status codes.** A response with a ``data`` entry (even ``null``, after a field error) is
  ``200``. A *request error* — the document does not parse or validate, the variables do not
  coerce, the operation is not in the document — has no ``data`` entry; it is ``200`` with
  ``application/json`` and ``400`` with ``application/graphql-response+json``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, parse
from graphql.error import GraphQLFormattedError
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import MultiDict

logger = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
MEDIA_TYPES = (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)
"""Response media types, preferred first when the client ranks them equally."""

BAD_REQUEST = "BAD_REQUEST"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

_PARAMETERS = ("query", "operationName", "variables", "extensions")


class TransportError(Exception):
    """The request is not a well-formed GraphQL-over-HTTP request."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    @property
    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.code)


@dataclass(frozen=True, slots=True)
class GraphQLParams:
    """The parameters of one GraphQL-over-HTTP request."""

    query: str
    operation_name: str | None = None
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """A response holding one request error (no ``data`` entry)."""
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


# --- content negotiation -----------------------------------------------------------------------


def _accepted(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        fields = [field.strip() for field in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        quality = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality))
    return ranges


def _quality(ranges: list[tuple[str, float]], media_type: str) -> tuple[float, int]:
    """The quality ``media_type`` gets from the most specific range matching it, and that
    range's specificity (2 exact, 1 ``type/*``, 0 ``*/*``, -1 none)."""
    kind = media_type.split("/", 1)[0]
    best: tuple[float, int] = (0.0, -1)
    for media, quality in ranges:
        if media == media_type:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[1]:
            best = (quality, specificity)
    return best


def negotiate(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header, or ``None`` when neither is accepted.

    Without ``Accept`` the answer is ``application/json`` (what clients that predate
    ``application/graphql-response+json`` understand); a wildcard also gives
    ``application/json``; ``application/graphql-response+json`` only when the client names it.
    """
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    ranges = _accepted(accept)
    for wildcard_gql in (False, True):
        scored = []
        for preference, media_type in enumerate(MEDIA_TYPES):
            quality, specificity = _quality(ranges, media_type)
            if quality <= 0:
                continue
            if media_type == GRAPHQL_RESPONSE_JSON and specificity < 2 and not wildcard_gql:
                continue  # a wildcard gets the media type every client understands...
            scored.append((-quality, -specificity, preference, media_type))
        if scored:
            return min(scored)[3]
    return None  # ...unless the client refuses that one explicitly


def require_media_type(accept: str | None) -> str:
    media_type = negotiate(accept)
    if media_type is None:
        raise TransportError(
            406,
            NOT_ACCEPTABLE,
            f"This endpoint answers {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}; "
            "send an Accept header that allows one of them.",
        )
    return media_type


# --- request parameters ------------------------------------------------------------------------


def decode_post_body(content_type: str | None, body: bytes) -> object:
    """The JSON value of a ``POST`` body (an object, or a list for the gateway's batches)."""
    media, _, parameters = (content_type or "").partition(";")
    if media.strip().lower() != APPLICATION_JSON:
        raise TransportError(
            415,
            UNSUPPORTED_MEDIA_TYPE,
            "POST takes a JSON body: send Content-Type: application/json.",
            headers={"Accept-Post": APPLICATION_JSON},
        )
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise TransportError(
                415,
                UNSUPPORTED_MEDIA_TYPE,
                "The request body must be UTF-8 encoded JSON.",
                headers={"Accept-Post": APPLICATION_JSON},
            )
    if not body.strip():
        raise TransportError(400, BAD_REQUEST, "The request body is empty; send a JSON object.")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise TransportError(400, BAD_REQUEST, "The request body is not valid UTF-8.") from None
    except ValueError:
        raise TransportError(400, BAD_REQUEST, "The request body is not valid JSON.") from None


def _optional(payload: Mapping[str, object], name: str, kind: type, described: str) -> Any:
    value = payload.get(name)
    if value is not None and not isinstance(value, kind):
        raise TransportError(400, BAD_REQUEST, f"The {name} parameter must be {described}.")
    return value


def params_of(payload: object) -> GraphQLParams:
    """The parameters of a decoded ``POST`` body."""
    if not isinstance(payload, dict):
        raise TransportError(400, BAD_REQUEST, "The request body must be a JSON object.")
    query = payload.get("query")
    if query is None:
        raise TransportError(400, BAD_REQUEST, "The query parameter is missing.")
    if not isinstance(query, str):
        raise TransportError(400, BAD_REQUEST, "The query parameter must be a string.")
    return GraphQLParams(
        query=query,
        operation_name=_optional(payload, "operationName", str, "a string"),
        variables=_optional(payload, "variables", dict, "a JSON object"),
        extensions=_optional(payload, "extensions", dict, "a JSON object"),
    )


def params_of_query_string(parameters: MultiDict[str] | Mapping[str, list[str]]) -> GraphQLParams:
    """The parameters of a ``GET`` request; ``variables`` and ``extensions`` are JSON text."""
    payload: dict[str, object] = {}
    for name in _PARAMETERS:
        values = (
            parameters.getall(name, [])
            if isinstance(parameters, MultiDict)
            else list(parameters.get(name, []))
        )
        if len(values) > 1:
            raise TransportError(400, BAD_REQUEST, f"The {name} parameter is given twice.")
        if not values:
            continue
        if name in ("variables", "extensions"):
            try:
                payload[name] = json.loads(values[0])
            except ValueError:
                raise TransportError(
                    400, BAD_REQUEST, f"The {name} parameter is not valid JSON."
                ) from None
        else:
            payload[name] = values[0]
    return params_of(payload)


def method_not_allowed() -> TransportError:
    return TransportError(
        405,
        METHOD_NOT_ALLOWED,
        "Only queries can be sent with GET; send mutations with POST.",
        headers={"Allow": "POST"},
    )


# --- responses ---------------------------------------------------------------------------------


def status_for(media_type: str, body: Mapping[str, Any], status: int = 400) -> int:
    """The status of a response to a well-formed request: ``200`` when it has a ``data`` entry
    or the client asked for ``application/json``; otherwise ``status`` (a request error's
    ``4xx``). A ``5xx`` stays a ``5xx`` (the server could not answer)."""
    if status >= 500:
        return status
    if "data" in body or media_type == APPLICATION_JSON:
        return 200
    return status if 400 <= status < 500 else 400


def respond(
    media_type: str,
    body: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def refuse(error: TransportError, media_type: str | None) -> Response[bytes]:
    return respond(media_type or APPLICATION_JSON, error.body, error.status, error.headers)


def formatted_errors(errors: list[GraphQLError]) -> list[GraphQLFormattedError]:
    """Errors as the response carries them; request errors get a ``code`` if they have none."""
    shaped: list[GraphQLFormattedError] = []
    for error in errors:
        formatted = error.formatted
        extensions = dict(formatted.get("extensions") or {})
        if "code" not in extensions and not error.path:
            extensions["code"] = (
                GRAPHQL_PARSE_FAILED
                if isinstance(error, GraphQLSyntaxError)
                else GRAPHQL_VALIDATION_FAILED
            )
        if extensions:
            formatted["extensions"] = extensions
        shaped.append(formatted)
    return shaped


def is_request_error(data: object, errors: list[GraphQLError] | None) -> bool:
    """True when execution never started: no data and no error located at a field."""
    return data is None and bool(errors) and all(not error.path for error in errors or [])


class RecentDocuments[V]:
    """A bounded LRU map from an operation's text to what was derived from it (its parsed
    document, its validation errors). Texts over ``max_text`` characters are never kept, so the
    memory it holds is bounded by ``max_entries`` x ``max_text`` whatever clients send."""

    def __init__(self, max_entries: int = 256, max_text: int = 16_384) -> None:
        self.max_entries = max_entries
        self.max_text = max_text
        self._entries: OrderedDict[str, V] = OrderedDict()

    def get(self, text: str) -> V | None:
        value = self._entries.get(text)
        if value is not None:
            self._entries.move_to_end(text)
        return value

    def put(self, text: str, value: V) -> None:
        if len(text) > self.max_text:
            return
        self._entries[text] = value
        self._entries.move_to_end(text)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


DOCUMENTS: RecentDocuments[DocumentNode] = RecentDocuments()
"""Parsed documents of this process's recent operations (the subgraphs see a small, fixed set:
the gateway's plans)."""


def parsed_document(query: str) -> DocumentNode:
    """``query`` parsed, once per distinct text among the recent ones (raises
    :class:`GraphQLSyntaxError` as :func:`graphql.parse` does)."""
    document = DOCUMENTS.get(query)
    if document is None:
        document = parse(query)
        DOCUMENTS.put(query, document)
    return document


def _operation_count(query: str) -> int:
    """How many operations ``query`` defines (0 when it does not parse: execution reports it).

    The GraphQL specification makes an operation name mandatory once a document holds more than
    one operation; Strawberry would run the first one instead."""
    try:
        document = parsed_document(query)
    except GraphQLError:
        return 0
    return sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)


# --- subgraphs: the same rules over a Strawberry schema ---------------------------------------

ContextGetter = Callable[[Request[Any, Any, Any]], Awaitable[Any]]


async def execute_strawberry(
    schema: Any, params: GraphQLParams, context: Any, *, allow_mutations: bool
) -> tuple[dict[str, Any], int]:
    """Run ``params`` on a Strawberry schema: the response body and its status for a
    request error (the caller turns it into the final status with :func:`status_for`)."""
    from strawberry.exceptions import MissingQueryError
    from strawberry.schema.exceptions import (
        CannotGetOperationTypeError,
        InvalidOperationTypeError,
    )
    from strawberry.types.graphql import OperationType

    from nova_kit.graphql_cache import execute_prepared

    allowed = (
        {OperationType.QUERY, OperationType.MUTATION} if allow_mutations else {OperationType.QUERY}
    )
    if params.operation_name is None and _operation_count(params.query) > 1:
        message = "The document holds several operations: send operationName."
        return error_body(message, GRAPHQL_VALIDATION_FAILED), 400
    try:
        result = await execute_prepared(
            schema,
            params.query,
            variables=params.variables,
            context=context,
            operation_name=params.operation_name,
            allowed=allowed,
        )
        if result is None:  # not seen before, or not valid: Strawberry's whole path
            result = await schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
            )
    except InvalidOperationTypeError:
        raise method_not_allowed() from None
    except CannotGetOperationTypeError:
        message = (
            f'Unknown operation named "{params.operation_name}".'
            if params.operation_name
            else "The document holds several operations: send operationName."
        )
        return error_body(message, GRAPHQL_VALIDATION_FAILED), 400
    except MissingQueryError:
        raise TransportError(400, BAD_REQUEST, "The query parameter is missing.") from None
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = formatted_errors(result.errors)
    if not is_request_error(result.data, result.errors):
        body["data"] = result.data
    if result.extensions:
        body["extensions"] = result.extensions
    return body, 400


def graphql_controller(
    schema: Any, context_getter: ContextGetter, *, path: str = "/graphql"
) -> type[Controller]:
    """A Litestar controller serving ``schema`` at ``path`` under the rules of this module."""

    async def run(request: Request[Any, Any, Any], *, method: str) -> Response[bytes]:
        media_type: str | None = None
        try:
            media_type = require_media_type(request.headers.get("accept"))
            if method == "GET":
                params = params_of_query_string(request.query_params)
            else:
                payload = decode_post_body(
                    request.headers.get("content-type"), await request.body()
                )
                params = params_of(payload)
            context = await context_getter(request)
            body, error_status = await execute_strawberry(
                schema, params, context, allow_mutations=method == "POST"
            )
        except TransportError as error:
            return refuse(error, media_type)
        except Exception:
            request_id = str(request.scope.get("state", {}).get("request_id") or uuid.uuid4())
            logger.exception("GraphQL request failed", extra={"request_id": request_id})
            return respond(
                media_type or APPLICATION_JSON,
                error_body("Internal server error", INTERNAL_SERVER_ERROR, requestId=request_id),
                500,
            )
        return respond(media_type, body, status_for(media_type, body, error_status))

    class GraphQLController(Controller):
        include_in_schema = False

        @get(path)
        async def graphql_get(self, request: Request[Any, Any, Any]) -> Response[bytes]:
            return await run(request, method="GET")

        @post(path, status_code=200)
        async def graphql_post(self, request: Request[Any, Any, Any]) -> Response[bytes]:
            return await run(request, method="POST")

    return GraphQLController
