"""The federation engine: one GraphQL request in, one response out.

parse (token limit) → validate against the API schema (with the operation limits) → plan
(cached) → execute against the subgraphs → shape. Requests the gateway rejects never reach a
subgraph.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    execute,
    parse,
    print_ast,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values

from nova_gateway.federation.errors import ErrorDict, PlanningError, graphql_error
from nova_gateway.federation.execution.executor import execute_plan
from nova_gateway.federation.execution.shape import shape_response
from nova_gateway.federation.execution.transport import SubgraphTransport, TransportConfig
from nova_gateway.federation.limits import OperationLimits, check_limits, limit_rules
from nova_gateway.federation.plan_cache import LruCache, PlanCache
from nova_gateway.federation.planning.normalize import find_operation
from nova_gateway.federation.planning.planner import plan_operation
from nova_gateway.federation.supergraph.model import Supergraph
from nova_gateway.metrics import GRAPHQL_REQUESTS, child

logger = logging.getLogger(__name__)

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
TOKEN_LIMIT_EXCEEDED = "TOKEN_LIMIT_EXCEEDED"  # noqa: S105 - an error code
BAD_REQUEST = "BAD_REQUEST"
BAD_USER_INPUT = "BAD_USER_INPUT"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
QUERY_PLANNING_FAILED = "QUERY_PLANNING_FAILED"
SUPERGRAPH_NOT_LOADED = "SUPERGRAPH_NOT_LOADED"

_OLD_TRANSPORT_GRACE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None
    operation_name: str | None = None
    variables: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class GraphQLResponse:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    limits: OperationLimits = field(default_factory=OperationLimits)
    plan_cache_size: int = 1000
    transport: TransportConfig = field(default_factory=TransportConfig)
    subgraph_urls: Mapping[str, str] = field(default_factory=dict)
    """Routing URLs by subgraph name, overriding the ones in the supergraph."""
    check_invariants: bool = False
    """Raise on a selected field missing from the answer without an error (dev and test)."""


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A parsed document that passed validation against the API schema."""

    document: DocumentNode
    key: str
    """The normalized document (printed AST): the plan cache key."""
    fragments: dict[str, FragmentDefinitionNode]
    collected: dict[tuple[object, ...], dict[str, list[FieldNode]]] | None
    """The shaping stage's fields per selection and runtime type, kept across requests when no
    variable decides what the document selects (``None`` otherwise)."""


@dataclass(slots=True)
class LoadedSupergraph:
    supergraph: Supergraph
    transport: SubgraphTransport
    plans: PlanCache
    documents: LruCache[str, PreparedDocument]
    rules: list[Any]


def _request_error(status: int, message: str, code: str, **extra: Any) -> GraphQLResponse:
    return GraphQLResponse(status, {"errors": [graphql_error(message, code=code, **extra)]})


def _located(error: GraphQLError, code: str) -> ErrorDict:
    formatted: dict[str, Any] = {**error.formatted}
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", code)
    formatted["extensions"] = extensions
    return formatted


class FederationEngine:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.current: LoadedSupergraph | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._retiring: list[SubgraphTransport] = []

    @property
    def supergraph_hash(self) -> str | None:
        return None if self.current is None else self.current.supergraph.sdl_hash

    def install(self, supergraph: Supergraph) -> None:
        """Serve ``supergraph`` from now on (plans are dropped; pools kept if URLs are the same)."""
        urls = {
            name: self.config.subgraph_urls.get(name, subgraph.url)
            for name, subgraph in supergraph.subgraphs.items()
        }
        previous = self.current
        if previous is not None and previous.transport.urls == urls:
            transport = previous.transport
        else:
            transport = SubgraphTransport(urls, self.config.transport)
            if previous is not None:
                self._close_later(previous.transport)
        rules = [*specified_rules, *limit_rules(self.config.limits)]
        self.current = LoadedSupergraph(
            supergraph,
            transport,
            PlanCache(self.config.plan_cache_size),
            LruCache(self.config.plan_cache_size),
            rules,
        )

    def _close_later(self, transport: SubgraphTransport) -> None:
        """Close ``transport`` once the requests still using it are done (or at :meth:`close`)."""
        self._retiring.append(transport)

        async def close() -> None:
            await asyncio.sleep(_OLD_TRANSPORT_GRACE_SECONDS)
            self._retiring.remove(transport)
            await transport.close()

        try:
            task = asyncio.get_running_loop().create_task(close())
        except RuntimeError:
            return  # no loop yet, so no session either; :meth:`close` still drops it
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every transport: the current one and those retired by reloads."""
        pending = list(self._closing)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        retiring, self._retiring = self._retiring, []
        for transport in retiring:
            await transport.close()
        if self.current is not None:
            await self.current.transport.close()

    def _prepare(self, loaded: LoadedSupergraph, query: str) -> PreparedDocument | GraphQLResponse:
        """Parse and validate ``query``, or answer why not. Valid documents are cached."""
        cached = loaded.documents.get(query)
        if cached is not None:
            return cached
        try:
            document = parse(query, no_location=False, max_tokens=self.config.limits.max_tokens)
        except GraphQLError as error:
            code = GRAPHQL_PARSE_FAILED
            if "token" in error.message.lower():
                code = TOKEN_LIMIT_EXCEEDED
            return GraphQLResponse(400, {"errors": [_located(error, code)]})
        # The expanded size first: validation and planning expand fragments, the check does not.
        validation_errors = check_limits(document, self.config.limits) or validate(
            loaded.supergraph.api_schema,
            document,
            loaded.rules,
            # "Did you mean …?" names fields a client could not list without introspection.
            hide_suggestions=not self.config.limits.introspection,
        )
        if validation_errors:
            GRAPHQL_REQUESTS.labels("unknown", "rejected").inc()
            return GraphQLResponse(
                400, {"errors": [_located(e, GRAPHQL_VALIDATION_FAILED) for e in validation_errors]}
            )
        prepared = PreparedDocument(
            document=document,
            key=print_ast(document),
            fragments={
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            },
            collected=None if _selection_depends_on_variables(document) else {},
        )
        loaded.documents.put(query, prepared)
        return prepared

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        allow_mutations: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> GraphQLResponse:
        loaded = self.current
        if loaded is None:
            return _request_error(503, "No supergraph is loaded yet.", SUPERGRAPH_NOT_LOADED)
        if not request.query or not isinstance(request.query, str):
            return _request_error(400, "The request has no query.", BAD_REQUEST)
        prepared = self._prepare(loaded, request.query)
        if isinstance(prepared, GraphQLResponse):
            return prepared
        document = prepared.document
        schema = loaded.supergraph.api_schema
        try:
            operation = find_operation(document, request.operation_name)
        except PlanningError as error:
            return _request_error(400, str(error), BAD_REQUEST)
        kind = operation.operation.value
        if kind == "mutation" and not allow_mutations:
            return _request_error(
                405, "Mutations cannot be sent with GET; use POST.", METHOD_NOT_ALLOWED
            )
        raw_variables = dict(request.variables or {})
        coerced = get_variable_values(schema, operation.variable_definitions or (), raw_variables)
        if isinstance(coerced, list):
            return GraphQLResponse(200, {"errors": [_located(e, BAD_USER_INPUT) for e in coerced]})
        try:
            plan = loaded.plans.get_or_plan(
                prepared.key,
                request.operation_name,
                lambda: plan_operation(loaded.supergraph, document, request.operation_name),
            )
        except PlanningError as error:
            logger.warning("query planning failed: %s", error)
            GRAPHQL_REQUESTS.labels(kind, "planning_failed").inc()
            # A valid operation this supergraph cannot answer: it failed in execution, so
            # ``data`` is null (no field is silently left out).
            refused = _request_error(
                200, f"The operation cannot be planned: {error}", QUERY_PLANNING_FAILED
            )
            return GraphQLResponse(200, {"data": None, **refused.body})
        result = await execute_plan(
            plan,
            loaded.transport,
            variables=raw_variables,
            headers=headers or {},
            coerced_variables=coerced.coerced,
        )
        fragments = prepared.fragments
        local = _introspect(loaded.supergraph, document, operation, coerced.coerced)
        body = shape_response(
            schema,
            operation=operation,
            fragments=fragments,
            variables=coerced,
            data=result.data,
            errors=result.errors,
            local_data=local,
            check_invariants=self.config.check_invariants,
            collected=prepared.collected,
        )
        child(GRAPHQL_REQUESTS, kind, "errors" if body.get("errors") else "ok").inc()
        return GraphQLResponse(200, body)


def _introspect(
    supergraph: Supergraph,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
) -> dict[str, Any] | None:
    names = {
        selection.name.value
        for selection in operation.selection_set.selections
        if isinstance(selection, FieldNode)
    }
    if not names & {"__schema", "__type"}:
        return None
    result = execute(
        supergraph.api_schema,
        document,
        root_value={},
        variable_values=variables,
        operation_name=operation.name.value if operation.name else None,
    )
    if not isinstance(result, ExecutionResult) or result.data is None:
        return None
    return dict(result.data)


def _selection_depends_on_variables(document: DocumentNode) -> bool:
    """True when a ``@skip`` or ``@include`` of ``document`` takes its condition from a
    variable: what it selects then differs from one request to the next."""
    stack: list[SelectionSetNode] = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            for directive in selection.directives or ():
                if directive.name.value in ("skip", "include") and any(
                    isinstance(argument.value, VariableNode)
                    for argument in directive.arguments or ()
                ):
                    return True
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                stack.append(nested)
    return False
