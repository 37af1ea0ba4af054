"""Bounded LRU caches: query plans (keyed by normalized document and operation name) and
validated documents (keyed by the query text)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from nova_gateway.federation.planning.plan import QueryPlan
from nova_gateway.metrics import PLAN_CACHE_LOOKUPS, child


class LruCache[K, V]:
    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        if self.max_size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)


class PlanCache:
    """Plans for one supergraph. A reload creates a new cache, so no plan outlives its schema."""

    def __init__(self, max_size: int) -> None:
        self._plans: LruCache[tuple[str, str | None], QueryPlan] = LruCache(max_size)

    def __len__(self) -> int:
        return len(self._plans)

    def get_or_plan(
        self, document_key: str, operation_name: str | None, plan: Callable[[], QueryPlan]
    ) -> QueryPlan:
        key = (document_key, operation_name)
        cached = self._plans.get(key)
        if cached is not None:
            child(PLAN_CACHE_LOOKUPS, "hit").inc()
            return cached
        PLAN_CACHE_LOOKUPS.labels("miss").inc()
        planned = plan()
        self._plans.put(key, planned)
        return planned
