"""Shaping the merged subgraph data into the client's response.

The merged data holds whatever the subgraphs returned, plus the key fields the gateway asked for.
This stage walks the client's operation over the API schema — applying ``@skip``/``@include``,
fragments and aliases — and keeps only what was asked, in the order it was asked. A ``null`` in a
non-null position propagates to the nearest nullable parent as the GraphQL spec says; an error is
added for it unless a subgraph error already explains that position.

A selected field that is absent from the merged data (no subgraph was asked for it, or the fetch
that should have brought it was skipped) and that no error explains is silent data loss: with
``check_invariants`` (dev and test) it raises :class:`SilentDataLossError`; otherwise the field
gets an error of its own (``FIELD_NOT_FETCHED``), so the client is never told a lie by omission.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_directive_values

from nova_gateway.federation.errors import ErrorDict, Path, graphql_error

_Runtime = GraphQLObjectType | GraphQLInterfaceType
"""The type an object is completed as: its object type, or the interface itself when an
``@interfaceObject`` subgraph answered and no fetch asked for the implementation."""


FIELD_NOT_FETCHED = "FIELD_NOT_FETCHED"


class SilentDataLossError(AssertionError):
    """A selected field is missing from the answer and no error explains it."""


class _Propagate:
    """A non-null position came back null: its parent becomes null."""


PROPAGATE = _Propagate()


@dataclass(slots=True)
class _Shaper:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues | None
    errors: list[ErrorDict]
    check_invariants: bool = False
    located: set[tuple[str | int, ...]] = field(default_factory=set)
    """Every path at or above an error's path."""
    error_paths: set[tuple[str | int, ...]] = field(default_factory=set)
    collected: dict[tuple[object, ...], dict[str, list[FieldNode]]] = field(default_factory=dict)
    """Fields of a selection per runtime type, collected once per request (list items share
    them), or once per document when its selections do not depend on variables."""

    def __post_init__(self) -> None:
        for error in self.errors:
            self._remember(error.get("path"))

    def _remember(self, path: object) -> None:
        if isinstance(path, list):
            self.error_paths.add(tuple(path))
            for end in range(len(path) + 1):
                self.located.add(tuple(path[:end]))

    def explained(self, path: Path) -> bool:
        """True when an error is located at ``path``, below it or at one of its parents."""
        if tuple(path) in self.located:
            return True
        return any(tuple(path[:end]) in self.error_paths for end in range(len(path)))

    def null_error(self, parent: str, name: str, path: Path) -> None:
        if self.explained(path):
            return
        error = graphql_error(
            f"Cannot return null for non-nullable field {parent}.{name}.", path=path
        )
        self.errors.append(error)
        self._remember(path)

    def missing(self, parent: str, name: str, path: Path) -> None:
        """``parent.name`` at ``path`` was selected, no fetch brought it and no error says why."""
        message = f"{parent}.{name} was not fetched from any subgraph."
        if self.check_invariants:
            raise SilentDataLossError(f"{message} (path {path})")
        self.errors.append(graphql_error(message, path=path, code=FIELD_NOT_FETCHED))
        self._remember(path)

    def collect(
        self,
        runtime: _Runtime,
        selection_set: SelectionSetNode,
        into: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> dict[str, list[FieldNode]]:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                into.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, runtime):
                    self.collect(runtime, selection.selection_set, into, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, runtime):
                    self.collect(runtime, fragment.selection_set, into, visited)
        return into

    def _included(self, node: Any) -> bool:
        if not node.directives:
            return True
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include.get("if") is False)

    def _applies(self, condition: str, runtime: _Runtime) -> bool:
        if condition == runtime.name:
            return True
        conditional = self.schema.get_type(condition)
        return isinstance(conditional, GraphQLAbstractType) and self.schema.is_sub_type(
            conditional, runtime
        )

    def complete_object(
        self,
        runtime: _Runtime,
        nodes: Sequence[FieldNode],
        value: Mapping[str, Any],
        path: Path,
    ) -> dict[str, Any] | _Propagate:
        memo_key = (runtime.name, *map(id, nodes))
        fields = self.collected.get(memo_key)
        if fields is None:
            fields = {}
            for node in nodes:
                if node.selection_set is not None:
                    self.collect(runtime, node.selection_set, fields, set())
            self.collected[memo_key] = fields
        return self.complete_fields(runtime, fields, value, path)

    def complete_fields(
        self,
        runtime: _Runtime,
        fields: Mapping[str, list[FieldNode]],
        value: Mapping[str, Any],
        path: Path,
    ) -> dict[str, Any] | _Propagate:
        result: dict[str, Any] = {}
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                result[key] = runtime.name
                continue
            definition = runtime.fields.get(name)
            if definition is None:
                continue
            field_path = [*path, key]
            if key not in value and not self.explained(field_path):
                self.missing(runtime.name, name, field_path)
            completed = self.complete_value(
                definition.type, nodes, value.get(key), field_path, parent=runtime.name, name=name
            )
            if isinstance(completed, _Propagate):
                return PROPAGATE
            result[key] = completed
        return result

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        nodes: Sequence[FieldNode],
        value: Any,
        path: Path,
        *,
        parent: str,
        name: str,
    ) -> Any:
        if isinstance(return_type, GraphQLNonNull):
            completed = self.complete_value(
                return_type.of_type, nodes, value, path, parent=parent, name=name
            )
            if completed is None:
                self.null_error(parent, name, path)
                return PROPAGATE
            if completed is PROPAGATE:
                return PROPAGATE
            return completed
        if value is None:
            return None
        if isinstance(return_type, GraphQLList):
            if not isinstance(value, list):
                self._invalid(path, "a list was expected")
                return None
            items = []
            for index, item in enumerate(value):
                completed = self.complete_value(
                    return_type.of_type, nodes, item, [*path, index], parent=parent, name=name
                )
                if completed is PROPAGATE:
                    return None
                items.append(completed)
            return items
        if isinstance(return_type, GraphQLEnumType):
            # A value the API schema does not offer (an @inaccessible one) is no value.
            return value if isinstance(value, str) and value in return_type.values else None
        if is_leaf_type(return_type):
            return value
        if not isinstance(value, Mapping):
            self._invalid(path, "an object was expected")
            return None
        runtime = self._runtime_type(return_type, value)
        if runtime is None:
            self._invalid(path, "the object's type could not be determined")
            return None
        completed_object = self.complete_object(runtime, nodes, value, path)
        return None if isinstance(completed_object, _Propagate) else completed_object

    def _runtime_type(
        self, return_type: GraphQLOutputType, value: Mapping[str, Any]
    ) -> _Runtime | None:
        if isinstance(return_type, GraphQLObjectType):
            return return_type
        typename = value.get("__typename")
        if isinstance(return_type, GraphQLInterfaceType) and typename == return_type.name:
            # An @interfaceObject subgraph answers with the interface's name and nothing
            # asked which implementation the object is: only the interface's fields apply.
            return return_type
        runtime = self.schema.get_type(typename) if isinstance(typename, str) else None
        if not isinstance(runtime, GraphQLObjectType):
            return None
        if isinstance(return_type, GraphQLAbstractType) and not self.schema.is_sub_type(
            return_type, runtime
        ):
            return None
        return runtime

    def _invalid(self, path: Path, reason: str) -> None:
        if self.explained(path):
            return
        self.errors.append(graphql_error(f"Invalid value from a subgraph: {reason}.", path=path))
        self._remember(path)


def shape_response(
    schema: GraphQLSchema,
    *,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: VariableValues | None,
    data: Mapping[str, Any],
    errors: list[ErrorDict],
    local_data: Mapping[str, Any] | None = None,
    check_invariants: bool = False,
    collected: dict[tuple[object, ...], dict[str, list[FieldNode]]] | None = None,
) -> dict[str, Any]:
    """The client response ``{"data": ..., "errors": [...]}`` for the merged ``data``.

    ``local_data`` holds root fields the gateway answered itself (introspection);
    ``check_invariants`` raises :class:`SilentDataLossError` on a field missing without an
    error instead of reporting it. ``collected`` keeps the fields collected per selection and
    runtime type from one request to the next: only for a document whose selections no
    variable decides (no ``@skip``/``@include`` with a variable), kept with that document's
    nodes (its keys hold their ids)."""
    root = schema.get_root_type(operation.operation)
    assert root is not None
    shaper = _Shaper(schema, fragments, variables, errors, check_invariants)
    if collected is not None:
        shaper.collected = collected
    root_key = (root.name, id(operation))
    fields = shaper.collected.get(root_key)
    if fields is None:
        fields = shaper.collected[root_key] = shaper.collect(
            root, operation.selection_set, {}, set()
        )
    merged = dict(data)
    if local_data:
        for key, nodes in fields.items():
            if nodes[0].name.value in ("__schema", "__type") and key in local_data:
                merged[key] = local_data[key]
    local_keys = {k for k, n in fields.items() if n[0].name.value in ("__schema", "__type")}
    plain = {k: n for k, n in fields.items() if k not in local_keys}
    completed = shaper.complete_fields(root, plain, merged, [])
    response: dict[str, Any] = {}
    if isinstance(completed, _Propagate):
        response["data"] = None
    else:
        shaped = dict(completed)
        ordered = {k: (merged.get(k) if k in local_keys else shaped.get(k)) for k in fields}
        response["data"] = ordered
    if shaper.errors:
        response["errors"] = shaper.errors
    return response
