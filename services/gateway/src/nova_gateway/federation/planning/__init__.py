"""The planning stage: an operation in, a :class:`~.plan.QueryPlan` out. No I/O.

:mod:`.planner` runs the stages — :mod:`.normalize` (document → ``PreparedOperation``),
:mod:`.walk` (→ ``FetchGraph``, every field placed in a subgraph by the rules of
:mod:`.placement`), :mod:`.optimize` (``FetchGraph`` → ``FetchGraph``) and :mod:`.emit`
(→ ``QueryPlan``) — over the supporting values of :mod:`.selection` (a fetch's selection tree),
:mod:`.field_sets` (``@key``/``@requires``/``@provides``) and :mod:`.plan` (the plan nodes).
"""
