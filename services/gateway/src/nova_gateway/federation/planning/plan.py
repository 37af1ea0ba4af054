"""Query plans: the value the planner produces and the executor runs.

Modelled on Apollo's query plan nodes. A plan compares by value, :func:`outline` gives its
structure as nested tuples (what tests compare), and it prints as readable text::

    Sequence {
      Fetch(service: "products") { { topProducts { __typename upc } } },
      Flatten(path: "topProducts.@") {
        Fetch(service: "reviews") { ... on Product { __typename upc } } =>
          { ... on Product { reviews { body } } }
      },
    }
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    FieldNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    parse,
    print_ast,
)

LIST_MARKER = "@"


@dataclass(frozen=True, slots=True)
class ShapeField:
    """One field copied from the data into an entity representation."""

    response_key: str
    """Where the value sits in the merged data (differs from ``name`` when aliased)."""
    name: str
    """The field name the representation carries."""
    shape: tuple[ShapeField, ...] = ()
    types: frozenset[str] | None = None
    """Set when the field set selects the field under a type condition: it is copied only
    from objects of these types."""


@dataclass(frozen=True, slots=True)
class EntityFetch:
    """What turns objects found at a flatten path into ``_entities`` representations."""

    type_condition: str
    """The type the entity selection runs on in the subgraph."""
    accepted_types: frozenset[str]
    """Objects whose ``__typename`` is one of these become representations; others are skipped."""
    representation: tuple[ShapeField, ...]
    typename: str | None = None
    """Set when the subgraph knows the type as an ``@interfaceObject``: the representation's
    ``__typename`` is this interface name, not the concrete type."""
    optional: frozenset[str] = frozenset()
    """Representation fields (``@requires``) that may be absent: the fields that need them were
    skipped by ``@skip``/``@include``."""

    def __str__(self) -> str:
        return f"... on {self.type_condition} {{ __typename {_print_shape(self.representation)} }}"


@dataclass(frozen=True, slots=True)
class FetchNode:
    service: str
    operation: str
    """The complete document sent to the subgraph."""
    operation_kind: str = "query"
    variable_usages: tuple[str, ...] = ()
    """Client variables the operation uses (forwarded with the request)."""
    entity: EntityFetch | None = None
    type_aliases: bool = False
    """The operation selects some fields under ``TYPE_ALIAS_PREFIX`` aliases (see errors.py)."""

    def __str__(self) -> str:
        head = f'Fetch(service: "{self.service}")'
        body = _operation_body(self.operation)
        if self.entity is None:
            return f"{head} {{ {body} }}"
        return f"{head} {{ {self.entity} }} => {{ {body} }}"


@dataclass(frozen=True, slots=True)
class FlattenNode:
    path: tuple[str, ...]
    node: FetchNode

    def __str__(self) -> str:
        path = ".".join(self.path)
        return f'Flatten(path: "{path}") {{\n{_indent(str(self.node))}\n}}'


@dataclass(frozen=True, slots=True)
class SequenceNode:
    nodes: tuple[PlanNode, ...]

    def __str__(self) -> str:
        return _block("Sequence", self.nodes)


@dataclass(frozen=True, slots=True)
class ParallelNode:
    nodes: tuple[PlanNode, ...]

    def __str__(self) -> str:
        return _block("Parallel", self.nodes)


@dataclass(frozen=True, slots=True)
class ConditionNode:
    """Runs ``if_clause`` when the Boolean variable ``condition`` is true, ``else_clause``
    otherwise: a fetch whose every field is under ``@include(if: $x)`` (or ``@skip``) is not
    sent at all when the condition drops them."""

    condition: str
    """The variable's name, without ``$``."""
    if_clause: PlanNode | None
    else_clause: PlanNode | None = None

    def __str__(self) -> str:
        if self.else_clause is None and self.if_clause is not None:
            return f"Include(if: ${self.condition}) {{\n{_indent(str(self.if_clause))}\n}}"
        if self.if_clause is None and self.else_clause is not None:
            return f"Skip(if: ${self.condition}) {{\n{_indent(str(self.else_clause))}\n}}"
        branches = [f"Condition(if: ${self.condition}) {{"]
        if self.if_clause is not None:
            branches.append(_indent(f"Then {{\n{_indent(str(self.if_clause))}\n}}"))
        if self.else_clause is not None:
            branches.append(_indent(f"Else {{\n{_indent(str(self.else_clause))}\n}}"))
        return "\n".join([*branches, "}"])


PlanNode = FetchNode | FlattenNode | SequenceNode | ParallelNode | ConditionNode


@dataclass(frozen=True, slots=True)
class QueryPlan:
    operation_kind: str
    node: PlanNode | None
    """``None`` when nothing has to be fetched (only ``__typename`` or introspection)."""

    def __str__(self) -> str:
        inner = "" if self.node is None else f"\n{_indent(str(self.node))}\n"
        return f"QueryPlan {{{inner}}}"

    def fetches(self) -> list[FetchNode]:
        """Every fetch of the plan, in execution order."""
        found: list[FetchNode] = []
        if self.node is not None:
            _collect_fetches(self.node, found)
        return found


Outline = tuple["str | Outline | None", ...]
"""A plan node's structure (see :func:`outline`)."""


def outline(plan: QueryPlan | PlanNode | None) -> Outline | None:
    """The structure of a plan (or plan node) as nested tuples, without the printer's layout:

    - ``("Fetch", service, selections)`` for a root fetch;
    - ``("Flatten", "a.@.b", ("Entities", service, type, representation, selections))`` for an
      ``_entities`` fetch at a path, ``type`` the type condition it runs on;
    - ``("Sequence", (...))``, ``("Parallel", (...))``;
    - ``("Include", variable, node)``, ``("Skip", variable, node)``,
      ``("Condition", variable, then, else)``.

    A selection is a field's head (``"name"``, ``"a: me @include(if: $x)"``,
    ``'product(upc: "1")'``), or ``(head, selections)`` when it has sub-selections, or
    ``("... on Type", selections)`` for a fragment. A representation lists the fields copied
    into it the same way."""
    if isinstance(plan, QueryPlan):
        return outline(plan.node)
    if plan is None:
        return None
    if isinstance(plan, FetchNode):
        return ("Fetch", plan.service, _selections_outline(plan.operation))
    if isinstance(plan, FlattenNode):
        fetch = plan.node
        assert fetch.entity is not None
        entities = (
            "Entities",
            fetch.service,
            fetch.entity.type_condition,
            _shape_outline(fetch.entity.representation),
            _selections_outline(fetch.operation),
        )
        return ("Flatten", ".".join(plan.path), entities)
    if isinstance(plan, SequenceNode | ParallelNode):
        kind = "Sequence" if isinstance(plan, SequenceNode) else "Parallel"
        return (kind, tuple(outline(node) for node in plan.nodes))
    if plan.else_clause is None:
        return ("Include", plan.condition, outline(plan.if_clause))
    if plan.if_clause is None:
        return ("Skip", plan.condition, outline(plan.else_clause))
    return ("Condition", plan.condition, outline(plan.if_clause), outline(plan.else_clause))


def _selections_outline(operation: str) -> Outline:
    """The selections of a subgraph operation (under ``_entities { ... on T }`` for an entity
    fetch)."""
    definition = parse(operation, no_location=True).definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    selections = definition.selection_set.selections
    first = selections[0]
    if isinstance(first, FieldNode) and first.name.value == "_entities":
        assert first.selection_set is not None
        entity = first.selection_set.selections[0]
        assert isinstance(entity, InlineFragmentNode)
        selections = entity.selection_set.selections
    return tuple(_selection_outline(selection) for selection in selections)


def _selection_outline(selection: SelectionNode) -> str | Outline:
    if isinstance(selection, InlineFragmentNode):
        condition = f" on {selection.type_condition.name.value}" if selection.type_condition else ""
        directives = "".join(f" {print_ast(d)}" for d in selection.directives or ())
        inner = selection.selection_set.selections
        return (f"...{condition}{directives}", tuple(_selection_outline(s) for s in inner))
    assert isinstance(selection, FieldNode)
    head = selection.name.value
    if selection.alias is not None:
        head = f"{selection.alias.value}: {head}"
    if selection.arguments:
        head += "(" + ", ".join(print_ast(a) for a in selection.arguments) + ")"
    head += "".join(f" {print_ast(d)}" for d in selection.directives or ())
    if selection.selection_set is None:
        return head
    return (head, tuple(_selection_outline(s) for s in selection.selection_set.selections))


def _shape_outline(shape: tuple[ShapeField, ...]) -> Outline:
    items: list[str | Outline] = []
    for item in shape:
        head = item.name if item.response_key == item.name else f"{item.response_key}: {item.name}"
        entry: str | Outline = (head, _shape_outline(item.shape)) if item.shape else head
        if item.types is not None:
            entry = (f"... on {'|'.join(sorted(item.types))}", (entry,))
        items.append(entry)
    return tuple(items)


def _collect_fetches(node: PlanNode, found: list[FetchNode]) -> None:
    if isinstance(node, FetchNode):
        found.append(node)
    elif isinstance(node, FlattenNode):
        found.append(node.node)
    elif isinstance(node, ConditionNode):
        for clause in (node.if_clause, node.else_clause):
            if clause is not None:
                _collect_fetches(clause, found)
    else:
        for child in node.nodes:
            _collect_fetches(child, found)


def _print_shape(shape: tuple[ShapeField, ...]) -> str:
    parts = []
    for item in shape:
        name = item.name if item.response_key == item.name else f"{item.response_key}: {item.name}"
        printed = f"{name} {{ {_print_shape(item.shape)} }}" if item.shape else name
        if item.types is not None:
            printed = f"... on {'|'.join(sorted(item.types))} {{ {printed} }}"
        parts.append(printed)
    return " ".join(parts)


def _operation_body(operation: str) -> str:
    """The selection of a subgraph operation, without its variable definitions header."""
    body = operation[operation.index("{") :]
    if body.startswith("{ _entities(representations: $representations) "):
        body = body.removeprefix("{ _entities(representations: $representations) ").removesuffix(
            " }"
        )
        return body.removeprefix("{ ").removesuffix(" }")
    return body


def _block(name: str, nodes: tuple[PlanNode, ...]) -> str:
    inner = "\n".join(f"{_indent(str(node))}," for node in nodes)
    return f"{name} {{\n{inner}\n}}"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
