"""Operation limits, checked on the parsed document before validation and planning.

Validation and planning expand fragment spreads: twenty fragments that each spread the next
one twice are a 1 KB document of 2^20 fields. The limits here are therefore computed on the
*shape* of each operation without expanding it — every fragment's shape is computed once and
memoised (``size(F) = Σ size(children)``), so the check is linear in the document's length —
and an operation over any limit is refused with a stable ``extensions.code`` before
graphql-core's rules or the planner ever see it. Bounding the expanded field count bounds their
work, except for one rule: ``OverlappingFieldsCanBeMergedRule`` compares every pair of fields one
response name stands for, and for each pair their sub-selections, pair by pair again — fifty
copies of a 19-field selection are 1,000 fields but ~50 ms of validation. The shape therefore
also estimates those comparisons (``Shape.merges``, per selection set: the square of each
name's count times one plus the comparisons of its sub-selections, summed over the document's
selection sets as the rule visits them) and refuses above ``max_field_merges``.

Introspection being off is a validation rule (it needs no expansion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
MAX_ROOT_FIELDS_EXCEEDED = "MAX_ROOT_FIELDS_EXCEEDED"
MAX_FIELDS_EXCEEDED = "MAX_FIELDS_EXCEEDED"
MAX_REPEATED_FIELDS_EXCEEDED = "MAX_REPEATED_FIELDS_EXCEEDED"
MAX_FIELD_MERGES_EXCEEDED = "MAX_FIELD_MERGES_EXCEEDED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"


@dataclass(frozen=True, slots=True)
class OperationLimits:
    max_depth: int = 10
    max_aliases: int = 30
    max_root_fields: int = 20
    max_tokens: int = 5000
    max_fields: int = 1000
    """Fields of the operation with every fragment spread expanded."""
    max_repeated_fields: int = 50
    """Fields one response name stands for once same-named fields (fragments looked through)
    are merged, along the worst path (``Shape.repeated``). Checking that they can be merged
    compares them pairwise, so this bounds a quadratic cost."""
    max_field_merges: int = 10_000
    """Estimated field comparisons of the merge check over the whole document
    (:func:`field_merges`); about a microsecond of validation each."""
    introspection: bool = True


@dataclass(frozen=True, slots=True)
class Shape:
    """An operation's (or a selection set's) size once its fragments are expanded."""

    fields: int = 0
    """Every field at every level."""
    depth: int = 0
    aliases: int = 0
    top: int = 0
    """Fields directly in the selection set (fragments looked through)."""
    repeated: int = 0
    """How many fields one response name can stand for once same-named fields are merged: per
    name, the fields with that name times the most their sub-selections repeat, along the worst
    path. Checking that fields can be merged compares these pairwise."""
    cross: int = 0
    """Comparisons to check the fields of this selection set (fragments looked through) against
    each other: per response name, its count squared times one plus the most comparisons of
    one of its sub-selections."""
    merges: int = 0
    """``cross`` of this selection set plus ``merges`` of every selection set written inside it
    (those of the fragments it spreads are counted once, with their definitions)."""
    names: dict[str, tuple[int, int, int]] = field(default_factory=dict, compare=False)
    """Per response name directly in the selection set: how many fields, the most any of their
    sub-selections repeats, and the most comparisons one of their sub-selections needs."""


_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


class _ShapeCounter:
    """Shapes of selection sets, with each fragment's shape computed once per context."""

    def __init__(self, fragments: dict[str, SelectionSetNode]) -> None:
        self.fragments = fragments
        self.memo: dict[tuple[str, bool], Shape] = {}
        self.active: set[str] = set()

    def shape(self, selection_set: SelectionSetNode, introspection: bool = False) -> Shape:
        """Inside ``__schema``/``__type``, ``ofType`` adds no level: it unwraps a list or
        non-null type one to one (no fan-out, and null past the schema's type wrappers), and the
        standard introspection query of GraphQL tools nests it nine deep."""
        fields = depth = aliases = top = merges = 0
        names: dict[str, tuple[int, int, int]] = {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                top += 1
                fields += 1
                response_name = (selection.alias or selection.name).value
                if selection.alias is not None:
                    aliases += 1
                if selection.selection_set is None:
                    _merge(names, response_name, 1, 1, 0)
                    depth = max(depth, 1)
                    continue
                name = selection.name.value
                inside = introspection or name in _INTROSPECTION_ROOTS
                level = 0 if introspection and name == "ofType" else 1
                child = self.shape(selection.selection_set, inside)
                fields += child.fields
                aliases += child.aliases
                merges += child.merges
                depth = max(depth, level + child.depth)
                _merge(names, response_name, 1, max(1, child.repeated), child.cross)
                continue
            if isinstance(selection, InlineFragmentNode):
                child = self.shape(selection.selection_set, introspection)
                merges += child.merges
            elif isinstance(selection, FragmentSpreadNode):
                child = self.fragment(selection.name.value, introspection)
            else:  # pragma: no cover - the three selection kinds are exhaustive
                continue
            fields += child.fields
            aliases += child.aliases
            depth = max(depth, child.depth)
            top += child.top
            for response_name, (count, below, cross) in child.names.items():
                _merge(names, response_name, count, below, cross)
        repeated = max((count * below for count, below, _ in names.values()), default=0)
        cross = sum(count * count * (1 + inner) for count, _, inner in names.values())
        return Shape(fields, depth, aliases, top, repeated, cross, merges + cross, names)

    def fragment(self, name: str, introspection: bool) -> Shape:
        key = (name, introspection)
        known = self.memo.get(key)
        if known is not None:
            return known
        selection_set = self.fragments.get(name)
        if selection_set is None or name in self.active:
            # Unknown fragments and cycles are validation errors; they add nothing here.
            return Shape()
        self.active.add(name)
        try:
            result = self.shape(selection_set, introspection)
        finally:
            self.active.discard(name)
        self.memo[key] = result
        return result


def _merge(
    names: dict[str, tuple[int, int, int]], name: str, count: int, below: int, cross: int
) -> None:
    known_count, known_below, known_cross = names.get(name, (0, 0, 0))
    names[name] = (known_count + count, max(known_below, below), max(known_cross, cross))


def operation_shapes(document: DocumentNode) -> list[tuple[OperationDefinitionNode, Shape]]:
    """The expanded shape of every operation in ``document``, in time linear in its length."""
    fragments = {
        definition.name.value: definition.selection_set
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    counter = _ShapeCounter(fragments)
    return [
        (definition, counter.shape(definition.selection_set))
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def field_merges(document: DocumentNode) -> int:
    """Estimated comparisons of the merge check (``OverlappingFieldsCanBeMergedRule``) over
    ``document``: it visits every selection set written in it — in operations and in fragment
    definitions, each once — and compares the fields each stands for, fragments looked
    through. Linear in the document's length, like :func:`operation_shapes`."""
    fragments = {
        definition.name.value: definition.selection_set
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    counter = _ShapeCounter(fragments)
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total += counter.shape(definition.selection_set).merges
        elif isinstance(definition, FragmentDefinitionNode):
            total += counter.fragment(definition.name.value, False).merges
    return total


def check_limits(document: DocumentNode, limits: OperationLimits) -> list[GraphQLError]:
    """Errors for every limit an operation of ``document`` exceeds (none: within limits)."""
    errors: list[GraphQLError] = []
    merges = field_merges(document)
    for node, shape in operation_shapes(document):
        checks = (
            (
                shape.fields,
                limits.max_fields,
                MAX_FIELDS_EXCEEDED,
                "selects {} fields once its fragments are expanded",
            ),
            (
                shape.repeated,
                limits.max_repeated_fields,
                MAX_REPEATED_FIELDS_EXCEEDED,
                "selects one response name {} times once same-named fields are merged",
            ),
            (shape.depth, limits.max_depth, MAX_DEPTH_EXCEEDED, "is {} levels deep"),
            (shape.aliases, limits.max_aliases, MAX_ALIASES_EXCEEDED, "uses {} aliases"),
            (shape.top, limits.max_root_fields, MAX_ROOT_FIELDS_EXCEEDED, "selects {} root fields"),
            (
                merges,
                limits.max_field_merges,
                MAX_FIELD_MERGES_EXCEEDED,
                "needs about {} field comparisons to check that same-named fields merge",
            ),
        )
        for value, limit, code, what in checks:
            if value > limit:
                message = f"The operation {what.format(value)}; the limit is {limit}."
                errors.append(GraphQLError(message, node, extensions={"code": code}))
    return errors


def limit_rules(limits: OperationLimits) -> list[type[ASTValidationRule]]:
    """Validation rules the limits add to graphql-core's (the shape is checked before)."""
    return [] if limits.introspection else [_NoIntrospection]


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
