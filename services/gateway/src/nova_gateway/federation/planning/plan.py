"""Query plans: the value the planner produces and the executor runs.

Modelled on Apollo's query plan nodes. A plan prints as readable text and compares by value, so
tests assert whole plans::

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
