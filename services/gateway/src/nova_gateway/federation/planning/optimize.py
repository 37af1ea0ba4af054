"""Stage 3 — optimise: a :class:`~.fetch_graph.FetchGraph` in, a tidied one out.

Groups that ended up selecting nothing (every field they were opened for went to another
subgraph, or was excluded) are dropped, and a group never waits for itself (a key field it
selects itself is not a dependency).
"""

from __future__ import annotations

from dataclasses import replace

from nova_gateway.federation.planning.fetch_graph import FetchGraph


def optimize(graph: FetchGraph) -> FetchGraph:
    present = [
        replace(group, depends_on=group.depends_on - {group.index})
        for group in graph.groups
        if group.tree
    ]
    return replace(graph, groups=present)
