"""Apollo Federation v2 engine: a pipeline of stage packages, each with plain data in and out.

- :mod:`.supergraph`: composed SDL → :class:`~.supergraph.model.Supergraph` (typed join model
  and the client-facing API schema); the loader hot-reloads it.
- :mod:`.planning`: operation → :class:`~.planning.plan.QueryPlan`, in stages: normalise
  (:class:`~.planning.normalize.PreparedOperation`) → build the fetch graph, placing every field
  in a subgraph (:class:`~.planning.fetch_graph.FetchGraph`) → optimise → emit the plan. No I/O.
- :mod:`.execution`: plan → subgraph requests (transport) → merged data → the client's response
  (shape: null propagation, error paths).

:mod:`.engine` is the façade that validates, limits (:mod:`.limits`), caches plans
(:mod:`.plan_cache`) and runs the stages.
"""
