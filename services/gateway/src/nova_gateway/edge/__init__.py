"""The gateway's edge: REST proxy, browser sessions, rate limits and the merged OpenAPI.

``build_edge(settings)`` returns the pieces the app factory plugs into ``create_service_app``;
the federation engine (``nova_gateway.federation``) is independent of all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from nova_gateway.edge.client import UpstreamClient
from nova_gateway.edge.metrics import EDGE_REJECTIONS
from nova_gateway.edge.openapi import DOCUMENT_KEY, MergedOpenAPI, api_docs, merged_openapi
from nova_gateway.edge.proxy import AnonymousRule, BufferBudget, RestProxy, RetryBudget, Route
from nova_gateway.edge.ratelimit import EdgeRateLimitMiddleware
from nova_gateway.edge.sessions import (
    CSRF_HEADER,
    SESSION_HEADER,
    CookieSessionMiddleware,
    SessionProxy,
)
from nova_gateway.edge.settings import EdgeSettings
from nova_kit.admin_access import admin_claims_or_refusal, send_admin_refusal
from nova_kit.app import Runtime
from nova_kit.errors import AppError
from nova_kit.ratelimit import RateLimiter


@dataclass
class Edge:
    route_handlers: list[Any]
    middleware: list[Any]
    edge_middleware: list[Callable[[ASGIApp], ASGIApp]]
    on_startup: list[Callable[[Runtime], Any]]
    on_shutdown: list[Callable[[Runtime], Any]]
    rate_limits: EdgeRateLimitMiddleware
    proxies: dict[str, ASGIApp]
    """Route prefix → its proxy (filled at start-up)."""
    cors_allow_headers: list[str] = field(default_factory=lambda: [SESSION_HEADER, CSRF_HEADER])


class _Upstreams:
    """Proxies by route prefix, built at start-up around one pooled HTTP client."""

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.client: UpstreamClient | None = None
        self.apps: dict[str, ASGIApp] = {}

    def start(self) -> None:
        settings = self.settings
        self.client = UpstreamClient()
        budget = RetryBudget(settings.retry_budget_ratio, settings.retry_budget_min_per_second)
        buffers = BufferBudget(settings.proxy_buffer_total_bytes)
        anonymous = [AnonymousRule.parse(rule) for rule in settings.anonymous_routes]
        for prefix, upstream in {**settings.routes, **settings.admin_routes}.items():
            route = Route(
                prefix,
                upstream,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                read_timeout=settings.upstream_timeouts.get(
                    prefix, settings.upstream_read_timeout_seconds
                ),
            )
            proxy = RestProxy(
                route,
                self.client,
                max_body_bytes=settings.proxy_max_body_bytes,
                retry_budget=budget,
                anonymous=anonymous,
                buffers=buffers,
            )
            session_prefix = settings.session_paths_prefix.rstrip("/")
            if prefix in settings.admin_routes:
                self.apps[prefix] = AdminOnly(proxy, settings)
            elif prefix == session_prefix:
                self.apps[prefix] = SessionProxy(proxy, settings)
            else:
                self.apps[prefix] = proxy

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None


class AdminOnly:
    """An admin route: administrators only, checked here before the service checks again, so
    nobody else's request ever reaches the service (401 without a token, 403 without the role;
    a page for a browser, JSON otherwise)."""

    def __init__(self, proxy: RestProxy, settings: EdgeSettings) -> None:
        self.proxy = proxy
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        claims = admin_claims_or_refusal(scope)
        if isinstance(claims, AppError):
            EDGE_REJECTIONS.labels("admin_only").inc()
            await send_admin_refusal(scope, send, claims, login_url=self.settings.admin_login_url)
            return
        await self.proxy(scope, receive, send)


def _mount(prefix: str, upstreams: _Upstreams) -> ASGIRouteHandler:
    async def forward(scope: Scope, receive: Receive, send: Send) -> None:
        await upstreams.apps[prefix](scope, receive, send)

    return asgi(prefix, is_mount=True, copy_scope=False, name=f"proxy{prefix.replace('/', ':')}")(
        forward
    )


def build_edge(settings: EdgeSettings) -> Edge:
    upstreams = _Upstreams(settings)
    rate_limits = EdgeRateLimitMiddleware(settings)

    def start(runtime: Runtime) -> None:
        upstreams.start()
        # A few fetches at start-up and on refresh: the service's own (instrumented) client.
        DOCUMENT_KEY.put(runtime.state, MergedOpenAPI(settings, runtime.http))
        if settings.rate_limit_enabled and runtime.redis is not None:
            rate_limits.limiter = RateLimiter(
                runtime.redis,
                prefix="nova:gateway:rl",
                name="gateway",
                window_seconds=settings.rate_limit_window_seconds,
                strategy="fixed",
                fail_open=settings.rate_limit_fail_open,
            )

    async def stop(_: Runtime) -> None:
        await upstreams.stop()

    return Edge(
        route_handlers=[
            merged_openapi,
            api_docs,
            *(_mount(prefix, upstreams) for prefix in {**settings.routes, **settings.admin_routes}),
        ],
        middleware=[rate_limits],
        edge_middleware=[lambda app: CookieSessionMiddleware(app, settings)],
        on_startup=[start],
        on_shutdown=[stop],
        rate_limits=rate_limits,
        proxies=upstreams.apps,
    )
