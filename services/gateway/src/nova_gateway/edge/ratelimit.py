"""Edge rate limits: per client address and per token subject, shared by every replica."""

from __future__ import annotations

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


class EdgeRateLimitMiddleware(ASGIMiddleware):
    """429 with ``Retry-After`` once a client or a subject spends its budget for the window.

    The limiter is attached at start-up, once Redis exists; without Redis nothing is limited.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.limiter: RateLimiter | None = None

    async def check(self, scope: Scope) -> Decision | None:
        assert self.limiter is not None
        claims = scope.get("state", {}).get(CLAIMS_STATE_KEY)
        if isinstance(claims, AccessClaims):
            limit = Limit("sub", claims.subject, self.settings.rate_limit_per_subject)
        else:
            limit = Limit("ip", client_host(scope), self.settings.rate_limit_per_client)
        decision = await self.limiter.check([limit])
        return None if decision.allowed else decision

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if self.limiter is None or scope["path"] in EXEMPT_PATHS:
            await next_app(scope, receive, send)
            return
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
            return
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
            return
        await next_app(scope, receive, send)
