"""The execution stage: a :class:`~..planning.plan.QueryPlan` in, the client's response out.

:mod:`.transport` sends subgraph requests (pooled sessions, timeouts, deduplication),
:mod:`.executor` runs the plan's nodes and builds ``_entities`` representations,
:mod:`.merge` merges each answer into the response data, and :mod:`.shape` shapes the merged
data into the client's response (aliases, fragments, ``@skip``/``@include``, null propagation,
located errors).
"""
