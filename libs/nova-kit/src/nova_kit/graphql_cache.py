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

import weakref
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension

from nova_kit.graphql_http import DOCUMENTS, RecentDocuments

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
