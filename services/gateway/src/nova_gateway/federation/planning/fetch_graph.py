"""Fetch groups — the subgraph requests a plan is made of — and how they become plan nodes.

The planner fills groups while it walks the operation; this stage prints each group as the
subgraph operation it sends (a root operation, or ``_entities`` with the representation it needs)
and orders the groups by their dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from graphql import SelectionNode

from nova_gateway.federation.planning.plan import (
    ConditionNode,
    EntityFetch,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    SequenceNode,
    ShapeField,
)
from nova_gateway.federation.planning.selection import SelectionTree


class CircularDependencyError(ValueError):
    """Fetch groups wait for each other: no order runs them."""


@dataclass(frozen=True, slots=True)
class EntityTarget:
    """What an entity group resolves: the type its selection runs on and which objects at
    its path become representations."""

    type_condition: str
    accepted_types: frozenset[str]
    typename: str | None


@dataclass(eq=False, slots=True)
class FetchGroup:
    """One future subgraph request: a root fetch or an ``_entities`` fetch at ``path``."""

    index: int
    graph: str
    path: tuple[str, ...]
    tree: SelectionTree = field(default_factory=SelectionTree)
    entity: EntityTarget | None = None
    representation: dict[str, ShapeField] = field(default_factory=dict)
    depends_on: set[int] = field(default_factory=set)
    key: tuple[SelectionNode, ...] = ()
    """The key fields an entity group is entered with."""
    optional: set[str] = field(default_factory=set)
    """Representation fields that are ``@requires`` fields, not key fields: absent when the
    fields needing them were skipped."""
    type_aliases: bool = False
    """Some fields are selected under type aliases (``TYPE_ALIAS_PREFIX``)."""


def plan_node(
    groups: Sequence[FetchGroup], kind: str, variable_definitions: Mapping[str, str]
) -> PlanNode | None:
    """The plan node running ``groups``: a tree of ``Sequence``/``Parallel`` when every group
    waits for at most one other, dependency stages otherwise."""
    present = [g for g in groups if g.tree]
    if not present:
        return None
    for group in present:
        group.depends_on.discard(group.index)

    def fetch(group: FetchGroup) -> PlanNode:
        return _operation(group, kind, variable_definitions)

    if all(len(g.depends_on) <= 1 for g in present):
        roots = [g for g in present if not g.depends_on]
        return _parallel([_subtree(g, present, fetch) for g in roots])
    return _stages(present, lambda group: _conditioned(group, fetch(group)))


def _conditioned(group: FetchGroup, node: PlanNode) -> PlanNode:
    """``node`` under the ``@include``/``@skip`` conditions all of ``group``'s selections
    share: when they drop them all, the fetch is not sent. In a tree of fetches the ones
    waiting only for it go under the same conditions (they would find no objects to ask for);
    between dependency stages they run as before and send a request only for the objects they
    find."""
    for condition in sorted(group.tree.conditions(), reverse=True):
        if condition.include:
            node = ConditionNode(condition.variable, if_clause=node)
        else:
            node = ConditionNode(condition.variable, if_clause=None, else_clause=node)
    return node


def _operation(group: FetchGroup, kind: str, variable_definitions: Mapping[str, str]) -> PlanNode:
    """The subgraph operation of ``group`` (wrapped in a ``Flatten`` for entity groups)."""
    variables = group.tree.variables()
    definitions = [variable_definitions[v] for v in variables]
    if group.entity is None:
        header = kind if not definitions else f"{kind}({', '.join(definitions)})"
        return FetchNode(
            service=group.graph,
            operation=f"{header} {group.tree.print()}",
            operation_kind=kind,
            variable_usages=tuple(variables),
            type_aliases=group.type_aliases,
        )
    header = "query(" + ", ".join(["$representations: [_Any!]!", *definitions]) + ")"
    body = f"{{ ... on {group.entity.type_condition} {group.tree.print()} }}"
    fetch = FetchNode(
        service=group.graph,
        operation=f"{header} {{ _entities(representations: $representations) {body} }}",
        operation_kind="query",
        variable_usages=tuple(variables),
        type_aliases=group.type_aliases,
        entity=EntityFetch(
            type_condition=group.entity.type_condition,
            accepted_types=group.entity.accepted_types,
            representation=tuple(group.representation.values()),
            typename=group.entity.typename,
            optional=frozenset(group.optional),
        ),
    )
    return FlattenNode(group.path, fetch)


def _subtree(
    group: FetchGroup, groups: list[FetchGroup], fetch: Callable[[FetchGroup], PlanNode]
) -> PlanNode:
    children = [g for g in groups if group.index in g.depends_on]
    node = fetch(group)
    if children:
        after = _parallel([_subtree(child, groups, fetch) for child in children])
        node = SequenceNode((node, after))
    return _conditioned(group, node)


def _stages(groups: list[FetchGroup], fetch: Callable[[FetchGroup], PlanNode]) -> PlanNode:
    done: set[int] = set()
    remaining = list(groups)
    stages: list[PlanNode] = []
    while remaining:
        ready = [g for g in remaining if g.depends_on <= done]
        if not ready:
            raise CircularDependencyError("circular dependency between subgraph fetches")
        stages.append(_parallel([fetch(g) for g in ready]))
        done |= {g.index for g in ready}
        remaining = [g for g in remaining if g.index not in done]
    return stages[0] if len(stages) == 1 else SequenceNode(tuple(stages))


def _parallel(nodes: list[PlanNode]) -> PlanNode:
    return nodes[0] if len(nodes) == 1 else ParallelNode(tuple(nodes))
