"""The query planner: an operation and a supergraph in, a :class:`~.plan.QueryPlan` out.

The stages run in order, each taking the previous one's value::

    normalize.prepare_operation   DocumentNode        → PreparedOperation
    walk.build_fetch_graph        PreparedOperation   → FetchGraph (per batch of root fields)
    optimize.optimize             FetchGraph          → FetchGraph
    emit.emit_plan                FetchGraph(s)       → QueryPlan

A query's root fields are planned in one fetch graph; a mutation's one at a time, run in order.
Planning never does I/O.
"""

from __future__ import annotations

from graphql import DocumentNode

from nova_gateway.federation.errors import PlanningError
from nova_gateway.federation.planning.emit import CircularDependencyError, emit_plan
from nova_gateway.federation.planning.normalize import prepare_operation
from nova_gateway.federation.planning.optimize import optimize
from nova_gateway.federation.planning.placement import Placement
from nova_gateway.federation.planning.plan import QueryPlan
from nova_gateway.federation.planning.selection import SelectionConflictError
from nova_gateway.federation.planning.walk import build_fetch_graph
from nova_gateway.federation.supergraph.model import Supergraph, SupergraphError


def plan_operation(
    supergraph: Supergraph, document: DocumentNode, operation_name: str | None = None
) -> QueryPlan:
    """Plan ``document`` (already validated against the API schema). Selections a literal
    condition excludes are left out of every fetch."""
    operation = prepare_operation(supergraph, document, operation_name)
    placement = Placement(supergraph)
    try:
        graphs = [
            optimize(build_fetch_graph(placement, operation, fields))
            for fields in operation.batches()
        ]
        return emit_plan(operation.kind, graphs)
    except (SelectionConflictError, SupergraphError, CircularDependencyError) as error:
        raise PlanningError(str(error)) from None
