"""Edge rate limits: per client address and per token subject, shared by every replica.

The budget lives in Redis, but a request does not go there: each replica takes units from it
in leases (:meth:`~nova_kit.ratelimit.RateLimiter.take`, atomic, never more than fit under the
limit) and admits requests from its lease until it is spent, then takes the next one. A lease
is a hundredth of the limit (at most :data:`MAX_LEASE`, at least one unit: limits under 200 go
to Redis on every request, as before), so nothing is ever admitted past a limit, whichever
replica serves the requests; a replica's unspent units (at most a lease per client) are lost
to the others until the window ends. A refusal is kept until its ``Retry-After`` has passed, so
a flood of refused requests does not reach Redis either. Leases belong to their window and end
with it.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from nova_gateway.edge.metrics import EDGE_REJECTIONS
from nova_gateway.edge.responses import send_json_error
from nova_gateway.edge.settings import EdgeSettings
from nova_kit.errors import AppError
from nova_kit.proxies import client_host
from nova_kit.ratelimit import Decision, Limit, RateLimiter
from nova_kit.security import CLAIMS_STATE_KEY
from nova_kit.tokens import AccessClaims

EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
LEASE_DIVISOR = 100
MAX_LEASE = 100
MAX_LEASES = 65_536
MAX_WAITS = 10_000
"""Takes from Redis a request waits for (another request's, for the same client) before it
takes units itself."""
"""Clients with a lease held at once; past it the oldest windows' leases are dropped first."""


def lease_size(limit: int) -> int:
    return max(1, min(MAX_LEASE, limit // LEASE_DIVISOR))


@dataclass(slots=True)
class _Lease:
    window: int
    remaining: int
    """Units taken from Redis and not yet spent."""
    refused_until: float = 0.0
    """Monotonic time (ms) before which the client is refused without asking Redis."""
    limit: int = 0


_ASK = Decision(False, -1)


class Leases:
    """The units of each client's budget this replica holds, by (scope, subject)."""

    def __init__(self, limiter: RateLimiter, max_leases: int = MAX_LEASES) -> None:
        self.limiter = limiter
        self.max_leases = max_leases
        self._held: dict[tuple[str, str], _Lease] = {}
        self._taking: dict[tuple[str, str], asyncio.Future[Decision]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def _spend_held(self, key: tuple[str, str]) -> Decision | None:
        """From the lease held: ``None`` admitted, a refusal kept, or :data:`_ASK` (no units
        held: ask Redis)."""
        lease = self._held.get(key)
        if lease is None or lease.window != self.limiter.window_index():
            return _ASK
        if lease.remaining > 0:
            lease.remaining -= 1
            return None
        wait_ms = lease.refused_until - time.monotonic() * 1000
        if wait_ms > 0:
            return Decision(False, lease.limit, max(1, math.ceil(wait_ms / 1000)))
        return _ASK

    async def spend(self, limit: Limit) -> Decision | None:
        """One unit of ``limit``'s budget: ``None`` when admitted, else the refusal."""
        key = (limit.scope, limit.subject)
        # Requests of one client that find no units wait for the one lease being taken.
        # Each take admits at least one of them or refuses them all, so the waits end.
        for _ in range(MAX_WAITS):
            held = self._spend_held(key)
            if held is not _ASK:
                return held
            pending = self._taking.get(key)
            if pending is None:
                break
            taken = await asyncio.shield(pending)
            if taken is not _ASK and taken.window < 0:
                # Redis unavailable and the limiter failing open: so does every waiter
                return None if taken.allowed else taken
        taking: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._taking.setdefault(key, taking)
        decision = _ASK  # the take failed (fail closed): each waiter asks for itself
        try:
            decision = await self.limiter.take([limit], lease_size(limit.limit))
            return self._keep(key, decision)
        finally:
            if self._taking.get(key) is taking:
                del self._taking[key]
            taking.set_result(decision)

    def _keep(self, key: tuple[str, str], decision: Decision) -> Decision | None:
        """Hold what a take from Redis brought beyond the unit spent now (or its refusal)."""
        if decision.window < 0:  # Redis unavailable, failing open: nothing to hold
            return None if decision.allowed else decision
        lease = self._held.get(key)
        if lease is None or lease.window != decision.window:
            if len(self._held) >= self.max_leases:
                self._evict(decision.window)
            lease = self._held[key] = _Lease(decision.window, 0)
        if decision.allowed:
            lease.remaining += decision.granted - 1
            lease.refused_until = 0.0
            return None
        lease.refused_until = time.monotonic() * 1000 + decision.retry_after_ms
        lease.limit = decision.limit
        return decision

    def _evict(self, window: int) -> None:
        """Drop the leases of past windows; when all are current, drop them all (their unspent
        units are lost: never an admission too many)."""
        self._held = {key: lease for key, lease in self._held.items() if lease.window >= window}
        if len(self._held) >= self.max_leases:
            self._held.clear()


class EdgeRateLimitMiddleware(ASGIMiddleware):
    """429 with ``Retry-After`` once a client or a subject spends its budget for the window.

    The limiter is attached at start-up, once Redis exists; without Redis nothing is limited.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.leases: Leases | None = None

    @property
    def limiter(self) -> RateLimiter | None:
        return None if self.leases is None else self.leases.limiter

    @limiter.setter
    def limiter(self, limiter: RateLimiter | None) -> None:
        self.leases = None if limiter is None else Leases(limiter)

    async def check(self, scope: Scope) -> Decision | None:
        assert self.leases is not None
        claims = scope.get("state", {}).get(CLAIMS_STATE_KEY)
        if isinstance(claims, AccessClaims):
            limit = Limit("sub", claims.subject, self.settings.rate_limit_per_subject)
        else:
            limit = Limit("ip", client_host(scope), self.settings.rate_limit_per_client)
        return await self.leases.spend(limit)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if self.leases is None or scope["path"] in EXEMPT_PATHS or await self.admit(scope, send):
            await next_app(scope, receive, send)

    async def admit(self, scope: Scope, send: Send) -> bool:
        """Spend a unit of the request's budget: ``True``, or ``False`` once the refusal has
        been answered (429, or 503 while Redis is down and the limiter fails closed)."""
        if self.leases is None:
            return True
        try:
            refused = await self.check(scope)
        except AppError as error:  # Redis down and the limiter fails closed
            EDGE_REJECTIONS.labels(error.code).inc()
            await send_json_error(
                send,
                error.status_code,
                error.code,
                error.message,
                headers=[(name.lower(), value) for name, value in error.headers.items()],
            )
            return False
        if refused is not None:
            EDGE_REJECTIONS.labels("rate_limited").inc()
            await send_json_error(
                send,
                429,
                "rate_limited",
                "too many requests; retry later",
                headers=[
                    ("retry-after", str(refused.retry_after_seconds)),
                    ("ratelimit-limit", str(refused.limit)),
                    ("ratelimit-remaining", "0"),
                ],
            )
            return False
        return True
