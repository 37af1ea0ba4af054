"""Operation limits enforced during validation, before any subgraph is called.

Each limit is a graphql-core validation rule whose error carries a stable ``extensions.code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)

MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
MAX_ROOT_FIELDS_EXCEEDED = "MAX_ROOT_FIELDS_EXCEEDED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"


@dataclass(frozen=True, slots=True)
class OperationLimits:
    max_depth: int = 10
    max_aliases: int = 30
    max_root_fields: int = 20
    max_tokens: int = 5000
    introspection: bool = True


def limit_rules(limits: OperationLimits) -> list[type[ASTValidationRule]]:
    rules: list[type[ASTValidationRule]] = [_shape_rule(limits)]
    if not limits.introspection:
        rules.append(_NoIntrospection)
    return rules


def _shape_rule(limits: OperationLimits) -> type[ASTValidationRule]:
    class OperationShapeRule(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            context = self.context
            assert isinstance(context, ValidationContext)
            fragments = {
                definition.name.value: definition.selection_set
                for definition in context.document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            depth = _depth(node.selection_set, fragments, set())
            if depth > limits.max_depth:
                self.report_error(
                    GraphQLError(
                        f"The operation is {depth} levels deep; the limit is {limits.max_depth}.",
                        node,
                        extensions={"code": MAX_DEPTH_EXCEEDED},
                    )
                )
            aliases = _count_aliases(node.selection_set, fragments, set())
            if aliases > limits.max_aliases:
                self.report_error(
                    GraphQLError(
                        f"The operation uses {aliases} aliases; the limit is {limits.max_aliases}.",
                        node,
                        extensions={"code": MAX_ALIASES_EXCEEDED},
                    )
                )
            roots = _root_field_count(node.selection_set, fragments, set())
            if roots > limits.max_root_fields:
                self.report_error(
                    GraphQLError(
                        f"The operation selects {roots} root fields; the limit is "
                        f"{limits.max_root_fields}.",
                        node,
                        extensions={"code": MAX_ROOT_FIELDS_EXCEEDED},
                    )
                )

    return OperationShapeRule


class _NoIntrospection(ASTValidationRule):
    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "Introspection is disabled on this gateway.",
                    node,
                    extensions={"code": INTROSPECTION_DISABLED},
                )
            )


def _children(
    selection_set: SelectionSetNode, fragments: dict[str, SelectionSetNode], seen: set[str]
) -> list[FieldNode]:
    """Fields of a selection set with fragments looked through."""
    fields: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            fields.extend(_children(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            fields.extend(_children(fragments[name], fragments, {*seen, name}))
    return fields


_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


def _depth(
    selection_set: SelectionSetNode,
    fragments: dict[str, SelectionSetNode],
    seen: set[str],
    introspection: bool = False,
) -> int:
    """Levels of nested fields. Inside ``__schema``/``__type``, ``ofType`` adds no level: it
    unwraps a list or non-null type one to one (no fan-out, and null past the schema's type
    wrappers), and the standard introspection query of GraphQL tools nests it nine deep."""
    deepest = 0
    for field in _children(selection_set, fragments, seen):
        name = field.name.value
        if field.selection_set is None:
            deepest = max(deepest, 1)
            continue
        inside = introspection or name in _INTROSPECTION_ROOTS
        level = 0 if introspection and name == "ofType" else 1
        deepest = max(deepest, level + _depth(field.selection_set, fragments, seen, inside))
    return deepest


def _count_aliases(
    selection_set: SelectionSetNode, fragments: dict[str, SelectionSetNode], seen: set[str]
) -> int:
    count = 0
    for field in _children(selection_set, fragments, seen):
        if field.alias is not None:
            count += 1
        if field.selection_set is not None:
            count += _count_aliases(field.selection_set, fragments, seen)
    return count


def _root_field_count(
    selection_set: SelectionSetNode, fragments: dict[str, SelectionSetNode], seen: set[str]
) -> int:
    return len(_children(selection_set, fragments, seen))
