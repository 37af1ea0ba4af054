"""Parse and validate each distinct operation once: a Strawberry extension for the subgraphs.

A subgraph receives the same few operations over and over (the gateway's query plans), and
graphql-core's validation of one costs about a millisecond of CPU — most of what a small request
costs. :class:`OperationCache` keeps, per schema, the parsed document and the validation errors of
recent operation texts (:class:`nova_kit.graphql_http.RecentDocuments`: bounded in entries and in
the length of a text it keeps), and hands them to Strawberry instead of parsing and validating
again. Validation depends only on the schema, the document and the schema's validation rules
(fixed when the schema is built), never on variables, so a cached result is the result.

Strawberry's own ``ParserCache``/``ValidationCache`` are not used: the validation cache keys on
the rule classes, which extensions such as ``QueryDepthLimiter`` create anew for every request,
so it would never hit; and neither bounds the size of the texts it keeps.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Collection, Iterator
from functools import partial
from typing import Any, cast

from graphql import GraphQLError, GraphQLSchema, get_operation_ast
from strawberry.extensions import AddValidationRules, MaskErrors, SchemaExtension
from strawberry.types.execution import ExecutionResult

from nova_kit.graphql_http import DOCUMENTS, RecentDocuments

logger = logging.getLogger(__name__)

_VALIDATED: weakref.WeakKeyDictionary[GraphQLSchema, RecentDocuments[tuple[GraphQLError, ...]]] = (
    weakref.WeakKeyDictionary()
)


def validation_results(schema: GraphQLSchema) -> RecentDocuments[tuple[GraphQLError, ...]]:
    """The recent validation results of ``schema`` (errors; empty: valid)."""
    results = _VALIDATED.get(schema)
    if results is None:
        results = _VALIDATED[schema] = RecentDocuments()
    return results


class OperationCache(SchemaExtension):
    """Reuse the parsed document and the validation result of an operation seen recently."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        cacheable = bool(context.query) and not context.parse_options
        if cacheable and context.graphql_document is None:
            context.graphql_document = DOCUMENTS.get(context.query or "")
        yield
        # Strawberry parsed it (a syntax error leaves no document, and nothing is kept)
        if cacheable and context.graphql_document is not None:
            DOCUMENTS.put(context.query or "", context.graphql_document)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        results = validation_results(context.schema._schema)
        query = context.query or ""
        cacheable = bool(query) and not context.parse_options
        cached = results.get(query) if cacheable else None
        if cached is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = list(cached)
            yield
            return
        yield
        if cacheable and context.pre_execution_errors is not None:
            results.put(query, tuple(context.pre_execution_errors))


# --- prepared execution: a known-valid operation runs on graphql-core without the extensions ---

RESULT_ONLY = "shapes_result_only"
"""A schema extension class with this attribute true declares that its only hook is
``on_operation`` working on the result after the operation ran (shaping or masking errors):
:func:`execute_prepared` runs it only when there is something to shape — an error."""

_FAST: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _extension_class(extension: object) -> type:
    while isinstance(extension, partial):
        extension = extension.func
    return extension if isinstance(extension, type) else type(extension)


def _untouched(cls: type, *hooks: str) -> bool:
    return all(getattr(cls, hook) is getattr(SchemaExtension, hook) for hook in hooks)


def _skippable(cls: type) -> bool:
    """Whether a request whose operation is parsed and validated already can do without an
    instance of ``cls``: it adds validation rules (their verdict is in the cache), it is the
    cache itself, or it only shapes a result's errors. None may resolve fields, run around
    execution or add response extensions."""
    if not issubclass(cls, SchemaExtension):
        return False  # a factory function: what it builds is unknown
    # on_stream_result needs incremental delivery, which prepared execution is not used with
    if not _untouched(cls, "resolve", "on_execute", "get_results"):
        return False
    if issubclass(cls, OperationCache | AddValidationRules):
        adds_rules = cls.on_operation is AddValidationRules.on_operation
        return adds_rules or _untouched(cls, "on_operation")
    return (cls is MaskErrors or bool(getattr(cls, RESULT_ONLY, False))) and _untouched(
        cls, "on_parse", "on_validate"
    )


def prepared_execution_allowed(schema: Any) -> bool:
    """Whether :func:`execute_prepared` may run operations of ``schema``: every extension is
    one it knows how to do without, there are no schema directives (Strawberry runs those as an
    extension) and no incremental delivery."""
    allowed = _FAST.get(schema)
    if allowed is None:
        allowed = _FAST[schema] = (
            not schema.directives
            and not schema.config.enable_experimental_incremental_execution
            and any(_extension_class(e) is OperationCache for e in schema.extensions)
            and all(_skippable(_extension_class(e)) for e in schema.extensions)
        )
    return allowed


async def execute_prepared(
    schema: Any,
    query: str,
    *,
    variables: dict[str, Any] | None,
    context: Any,
    operation_name: str | None,
    allowed: Collection[Any],
) -> ExecutionResult | None:
    """``query`` run on ``schema`` as Strawberry's ``Schema.execute`` would, without its
    per-request machinery, when the operation was parsed and validated before (and found
    valid) and is a query, queries being allowed; ``None`` otherwise (the caller runs the full
    path, which answers the request errors).

    Mutations always take the full path: they are rare, costly anyway, and must never run
    twice — a query may, when graphql-core's executor itself (not a resolver) raises, which
    Strawberry answers in a way of its own.

    Strawberry would instantiate every extension, drive their hooks around parsing (a cache
    hit), validation (a cache hit) and execution (none of them has one) and build a middleware
    manager with nothing in it. An operation ending in errors gets what the full path gives
    those: :meth:`Schema.process_errors`, then the extensions' ``on_operation`` around the
    result (their error shaping and masking)."""
    from strawberry.execution import optimized_is_awaitable
    from strawberry.schema._graphql_core import execute, execution_context_class_kwargs
    from strawberry.types.execution import ExecutionContext
    from strawberry.types.graphql import OperationType
    from strawberry.utils.await_maybe import await_maybe

    if not prepared_execution_allowed(schema):
        return None
    document = DOCUMENTS.get(query)
    if document is None or validation_results(schema._schema).get(query) != ():
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation.value != "query":
        return None
    if OperationType.QUERY not in allowed:
        return None
    try:
        result = await await_maybe(
            execute(
                schema._schema,
                document,
                variable_values=variables,
                operation_name=operation_name,
                context_value=context,
                is_awaitable=cast("Any", optimized_is_awaitable),  # Strawberry's own check
                operation_extensions=None,
                **execution_context_class_kwargs(schema.execution_context_class),
            )
        )
    except Exception:
        # the executor itself failed (a resolver's error is in the result): Strawberry's path
        # answers this its own way, and a query can run again
        logger.warning("prepared execution failed; running the operation again", exc_info=True)
        return None
    if not result.errors:
        return ExecutionResult(data=result.data, errors=None, extensions={})
    execution_context = ExecutionContext(
        query=query,
        schema=schema,
        allowed_operations=allowed,
        context=context,
        variables=variables,
        provided_operation_name=operation_name,
    )
    execution_context.graphql_document = document
    extensions = schema.get_extensions()
    for extension in extensions:
        extension.execution_context = execution_context
    runner = schema.create_extensions_runner(execution_context, extensions)
    execution_context.pre_execution_errors = result.errors
    schema._process_errors(result.errors, execution_context)
    async with runner.operation():
        execution_context.result = result
    shaped = execution_context.result
    return ExecutionResult(
        data=shaped.data,
        errors=shaped.errors,
        extensions=await runner.get_extensions_results(execution_context),
    )
