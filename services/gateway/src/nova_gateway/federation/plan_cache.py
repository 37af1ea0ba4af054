"""An LRU cache of query plans keyed by the normalized document and operation name."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from nova_gateway.federation.plan import QueryPlan
from nova_gateway.metrics import PLAN_CACHE_LOOKUPS


class PlanCache:
    """Plans for one supergraph. A reload creates a new cache, so no plan outlives its schema."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._plans: OrderedDict[tuple[str, str | None], QueryPlan] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._plans)

    def get_or_plan(
        self, document_key: str, operation_name: str | None, plan: Callable[[], QueryPlan]
    ) -> QueryPlan:
        key = (document_key, operation_name)
        with self._lock:
            cached = self._plans.get(key)
            if cached is not None:
                self._plans.move_to_end(key)
                PLAN_CACHE_LOOKUPS.labels("hit").inc()
                return cached
        PLAN_CACHE_LOOKUPS.labels("miss").inc()
        planned = plan()
        if self.max_size <= 0:
            return planned
        with self._lock:
            self._plans[key] = planned
            self._plans.move_to_end(key)
            while len(self._plans) > self.max_size:
                self._plans.popitem(last=False)
        return planned
