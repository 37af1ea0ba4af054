"""Stage 1 — normalise: a validated document in, a :class:`PreparedOperation` out.

The operation to plan is picked (by name when there are several), every selection a literal
``@include(if: false)``/``@skip(if: true)`` excludes is removed, every fragment spread becomes an
inline fragment on the fragment's type condition (carrying the spread's directives), and the
root fields are flattened out of root-type fragments, introspection fields left out (the gateway
answers those itself). Later stages never see a fragment definition or a literal condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    NameNode,
    Node,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    print_ast,
    visit,
)
from graphql.language import REMOVE, Visitor

from nova_gateway.federation.errors import PlanningError
from nova_gateway.federation.supergraph.model import Supergraph

INTROSPECTION_ROOT_FIELDS = frozenset({"__schema", "__type", "__typename"})


@dataclass(frozen=True, slots=True)
class PreparedOperation:
    """The operation as the planner walks it: no fragment spreads, no literal conditions."""

    kind: str
    """``query`` or ``mutation``."""
    root_type: str
    root_fields: tuple[FieldNode, ...]
    """The root fields in document order (root-type fragments flattened; their conditions are
    applied again when the response is shaped), introspection fields left out."""
    variable_definitions: Mapping[str, str]
    """Variable name → its printed definition (``$id: ID!``), for the subgraph operations
    that use it."""

    def batches(self) -> tuple[tuple[FieldNode, ...], ...]:
        """The root fields planned together: all of them for a query, one at a time (run in
        order) for a mutation."""
        if self.kind == "mutation":
            return tuple((field,) for field in self.root_fields)
        return (self.root_fields,)


def prepare_operation(
    supergraph: Supergraph, document: DocumentNode, operation_name: str | None = None
) -> PreparedOperation:
    """Normalise the operation ``operation_name`` of ``document`` (already validated against
    the API schema) for planning over ``supergraph``."""
    document = without_static_exclusions(document)
    operation = find_operation(document, operation_name)
    kind = operation.operation.value
    if kind == "subscription":
        raise PlanningError("subscriptions are not supported by this gateway")
    root_type = supergraph.root_types.get(kind)
    if root_type is None:
        raise PlanningError(f"the schema has no {kind} type")
    selections = inline_fragments(operation.selection_set.selections, _fragments(document))
    return PreparedOperation(
        kind=kind,
        root_type=root_type,
        root_fields=tuple(_root_fields(selections)),
        variable_definitions={
            v.variable.name.value: print_ast(v) for v in operation.variable_definitions or ()
        },
    )


def find_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        for operation in operations:
            if operation.name is not None and operation.name.value == operation_name:
                return operation
        raise PlanningError(f"unknown operation named {operation_name!r}")
    if len(operations) != 1:
        raise PlanningError("must provide operation name if query contains multiple operations")
    return operations[0]


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def inline_fragments(
    selections: Sequence[SelectionNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[SelectionNode, ...]:
    """``selections`` with every fragment spread (at any depth) replaced by an inline fragment
    on the fragment's type condition, under the spread's directives. Each fragment is inlined
    once and its selection set shared by every spread of it, so a fragment spread many times
    costs its size once (the document is validated: fragments do not form cycles)."""
    inlined: dict[str, SelectionSetNode] = {}

    def fragment_body(name: str) -> SelectionSetNode:
        body = inlined.get(name)
        if body is None:
            body = SelectionSetNode(selections=rewrite(fragments[name].selection_set.selections))
            inlined[name] = body
        return body

    def rewrite(nodes: Sequence[SelectionNode]) -> tuple[SelectionNode, ...]:
        rewritten: list[SelectionNode] = []
        for node in nodes:
            if isinstance(node, FragmentSpreadNode):
                rewritten.append(
                    InlineFragmentNode(
                        type_condition=fragments[node.name.value].type_condition,
                        directives=node.directives,
                        selection_set=fragment_body(node.name.value),
                    )
                )
            elif isinstance(node, InlineFragmentNode):
                rewritten.append(
                    InlineFragmentNode(
                        type_condition=node.type_condition,
                        directives=node.directives,
                        selection_set=SelectionSetNode(
                            selections=rewrite(node.selection_set.selections)
                        ),
                    )
                )
            elif isinstance(node, FieldNode) and node.selection_set is not None:
                rewritten.append(
                    FieldNode(
                        alias=node.alias,
                        name=node.name,
                        arguments=node.arguments,
                        directives=node.directives,
                        selection_set=SelectionSetNode(
                            selections=rewrite(node.selection_set.selections)
                        ),
                    )
                )
            else:
                rewritten.append(node)
        return tuple(rewritten)

    return rewrite(selections)


def _root_fields(selections: Sequence[SelectionNode]) -> list[FieldNode]:
    found: list[FieldNode] = []
    for selection in selections:
        if isinstance(selection, FieldNode):
            if selection.name.value not in INTROSPECTION_ROOT_FIELDS:
                found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found.extend(_root_fields(selection.selection_set.selections))
    return found


def without_static_exclusions(document: DocumentNode) -> DocumentNode:
    """``document`` without the selections a literal ``@include(if: false)`` or
    ``@skip(if: true)`` excludes, so no subgraph is asked for them and a fetch made only of
    them is not planned at all. A selection set left empty selects ``__typename`` instead
    (GraphQL has no empty selection set); the response is still shaped from the client's own
    document, so that field never reaches the client. Returns ``document`` itself when nothing
    is excluded."""
    pruned = visit(document, _StaticExclusions())
    assert isinstance(pruned, DocumentNode)
    return pruned


def _statically_excluded(directives: Sequence[DirectiveNode] | None) -> bool:
    for directive in directives or ():
        if directive.name.value not in ("include", "skip"):
            continue
        for argument in directive.arguments or ():
            value = argument.value
            # excluded: @include(if: false), @skip(if: true)
            if (
                argument.name.value == "if"
                and isinstance(value, BooleanValueNode)
                and value.value is (directive.name.value == "skip")
            ):
                return True
    return False


_TYPENAME_ONLY = (FieldNode(name=NameNode(value="__typename")),)


class _StaticExclusions(Visitor):
    def enter_field(self, node: FieldNode, *_: object) -> object:
        return REMOVE if _statically_excluded(node.directives) else None

    def enter_inline_fragment(self, node: Node, *_: object) -> object:
        return REMOVE if _statically_excluded(getattr(node, "directives", None)) else None

    def enter_fragment_spread(self, node: Node, *_: object) -> object:
        return REMOVE if _statically_excluded(getattr(node, "directives", None)) else None

    def leave_selection_set(self, node: SelectionSetNode, *_: object) -> object:
        if node.selections:
            return None
        return SelectionSetNode(selections=_TYPENAME_ONLY)
