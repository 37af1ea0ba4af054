"""Stage 4 — emit: an optimised :class:`~.fetch_graph.FetchGraph` in, plan nodes out.

Each group prints as the subgraph operation it sends (a root operation, or ``_entities`` with
the representation it needs); the groups are ordered by their dependencies — a tree of
``Sequence``/``Parallel`` when every group waits for at most one other, dependency stages
otherwise — under the ``@include``/``@skip`` conditions all of a group's selections share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from nova_gateway.federation.planning.fetch_graph import FetchGraph, FetchGroup
from nova_gateway.federation.planning.plan import (
    ConditionNode,
    EntityFetch,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    SequenceNode,
)


class CircularDependencyError(ValueError):
    """Fetch groups wait for each other: no order runs them."""


def emit_plan(kind: str, graphs: Sequence[FetchGraph]) -> QueryPlan:
    """The plan running ``graphs`` one after the other (a mutation plans each root field in a
    graph of its own; a query has one graph)."""
    nodes = [node for node in (plan_node(graph) for graph in graphs) if node is not None]
    node: PlanNode | None = None
    if nodes:
        node = nodes[0] if len(nodes) == 1 else SequenceNode(tuple(nodes))
    return QueryPlan(operation_kind=kind, node=node)


def plan_node(graph: FetchGraph) -> PlanNode | None:
    """The plan node running ``graph``'s groups: a tree of ``Sequence``/``Parallel`` when every
    group waits for at most one other, dependency stages otherwise."""
    present = graph.groups
    if not present:
        return None

    def fetch(group: FetchGroup) -> PlanNode:
        return _operation(group, graph.kind, graph.variable_definitions)

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
    group: FetchGroup, groups: Sequence[FetchGroup], fetch: Callable[[FetchGroup], PlanNode]
) -> PlanNode:
    children = [g for g in groups if group.index in g.depends_on]
    node = fetch(group)
    if children:
        after = _parallel([_subtree(child, groups, fetch) for child in children])
        node = SequenceNode((node, after))
    return _conditioned(group, node)


def _stages(groups: Sequence[FetchGroup], fetch: Callable[[FetchGroup], PlanNode]) -> PlanNode:
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
