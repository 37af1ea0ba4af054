"""Apollo Federation v2 engine: supergraph → planner → executor → response.

Each stage is a module with plain data in and out: :mod:`supergraph` parses the composed
supergraph into a typed model and the client-facing API schema, :mod:`planner` turns an operation
into a :class:`~nova_gateway.federation.plan.QueryPlan`, :mod:`executor` runs the plan against the
subgraphs and :mod:`response` shapes the merged data into the client's response.
"""
