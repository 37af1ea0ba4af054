"""The Litestar app every service builds on.

``create_service_app(settings, ...)`` assembles what all services share — health and readiness,
``/metrics``, request ids, JSON error bodies, tracing, token authentication, the database and
Redis clients — and a service adds its own controllers, GraphQL subgraph and checks::

    def create_app(settings: AuthSettings) -> Litestar:
        return create_service_app(settings, route_handlers=[AccountController], ...)

Nothing connects at construction time: engines and clients are created in the lifespan.
SQLAlchemy (``nova-kit[db]``) is imported only by a service built with ``uses_database=True``:
a service without a database neither installs nor loads it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import httpx
from litestar import Litestar, Request, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.middleware import ASGIMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, ControllerRouterHandler, Middleware, Receive, Scope, Send
from redis.asyncio import Redis

from nova_kit.compat import wrap_asgi_handler
from nova_kit.errors import exception_handlers, plain_errors_as_json
from nova_kit.headers import HeaderLimitsMiddleware, SecurityHeadersMiddleware
from nova_kit.health import READINESS_STATE_KEY, Check, Readiness, health, ready
from nova_kit.logs import AccessLogMiddleware, RequestIdMiddleware, configure_logging
from nova_kit.metrics import (
    BUILD_INFO,
    DB_POOLS,
    MetricsMiddleware,
    render_metrics,
    serve_metrics_port,
)
from nova_kit.proxies import resolve_client_addresses
from nova_kit.redis import create_redis
from nova_kit.security import TokenAuthMiddleware, provide_claims
from nova_kit.server import is_worker
from nova_kit.settings import ServiceSettings
from nova_kit.tokens import JWKSKeySource, KeySource, RevocationList, TokenVerifier
from nova_kit.tracing import configure_tracing, instrument_engine, name_server_span


class _AnyOf:
    """``_AnyOf[X]`` is ``Any``."""

    def __class_getitem__(cls, item: object) -> object:
        return Any


if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
else:
    # SQLAlchemy (nova-kit[db]) is imported by the lifespan of a service that uses a database,
    # never here. Litestar resolves Runtime's annotations at run time (msgspec validates
    # `runtime: Runtime` handler parameters), so at run time its SQLAlchemy names are Any.
    AsyncEngine = AsyncSession = Any
    async_sessionmaker = _AnyOf

logger = logging.getLogger(__name__)

RUNTIME_STATE_KEY = "nova_runtime"


@dataclass(frozen=True, slots=True)
class StateKey[T]:
    """A typed slot in the app's state for what a service builds at start-up.

    A service declares one key per object and one provider function reading it back, so
    handlers and dependencies get a typed value, never a ``dict`` lookup checked with
    ``isinstance``::

        AUTH_STATE = StateKey[AuthState]("nova_auth")

        def provide_auth_state(state: State) -> AuthState:
            return AUTH_STATE.get(state)

    The start-up hook stores the value: ``AUTH_STATE.put(runtime.state, AuthState(...))``.
    """

    name: str

    def put(self, state: State, value: T) -> None:
        state[self.name] = value

    def get(self, state: State) -> T:
        try:
            return cast("T", state[self.name])
        except KeyError:
            raise RuntimeError(f"{self.name!r} is set at start-up and was read before") from None

    def pop(self, state: State) -> T | None:
        return cast("T | None", state.pop(self.name, None))


@dataclass(slots=True)
class Runtime:
    """Connections a service opens at start-up and closes at shutdown.

    ``state`` is the app's state: start-up hooks keep what the service builds there under
    typed :class:`StateKey` s.
    """

    settings: ServiceSettings
    http: httpx.AsyncClient
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    redis: Redis | None = None
    verifier: TokenVerifier | None = None
    state: State = field(default_factory=State)

    def require_sessions(self) -> async_sessionmaker[AsyncSession]:
        if self.sessions is None:
            raise RuntimeError("this service was built without a database")
        return self.sessions

    def require_redis(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("this service was built without Redis")
        return self.redis


class ServiceRequest(Request[Any, Any, Any]):
    """Litestar's request, except that a JSON body which is not UTF-8 is the client's error
    (400, like malformed JSON) instead of an unhandled ``UnicodeDecodeError``: msgspec raises
    that for invalid bytes inside a string, and Litestar maps only its ``DecodeError``."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except UnicodeDecodeError as error:
            raise ClientException("the request body is not valid UTF-8") from error


def get_runtime(app: Litestar) -> Runtime:
    return cast("Runtime", app.state[RUNTIME_STATE_KEY])


def provide_runtime(state: State) -> Runtime:
    return cast("Runtime", state[RUNTIME_STATE_KEY])


def provide_db_sessions(state: State) -> async_sessionmaker[AsyncSession]:
    """The service's session factory, never one request-wide session.

    An ``AsyncSession`` is not safe to use from two coroutines, and one request runs several
    at once (Strawberry resolves root fields concurrently; DataLoaders batch in tasks of their
    own). So there is no request-scoped session to share: a service opens one unit of work per
    call (``async with sessions() as session``) and closes it before returning.
    """
    return provide_runtime(state).require_sessions()


def provide_redis(state: State) -> Redis:
    return provide_runtime(state).require_redis()


KeySourceFactory = Callable[[Runtime], KeySource]
RuntimeHook = Callable[[Runtime], Any]


def _default_key_source(runtime: Runtime) -> KeySource:
    settings = runtime.settings
    if not settings.jwks_url:
        raise RuntimeError(f"{settings.env_name('jwks_url')} is not set")
    return JWKSKeySource(
        settings.jwks_url,
        client=runtime.http,
        min_refresh_seconds=settings.jwks_min_refresh_seconds,
    )


class RouteSpanMiddleware(ASGIMiddleware):
    """Names the server span after the route template once routing has found it.

    The ASGI span starts before routing, so it can only know the raw path; this middleware runs
    inside the route and renames it ``GET /api/users/{user_id}`` with ``http.route`` set — low
    cardinality, as the HTTP semantic conventions ask.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        template = scope.get("path_template")
        if template:
            name_server_span(str(scope.get("method", "GET")), str(template))
        await next_app(scope, receive, send)


@get("/metrics", include_in_schema=False, sync_to_thread=False, opt={"public": True})
def metrics_endpoint() -> Response[bytes]:
    """Prometheus exposition of this process's metrics (of all workers', with several)."""
    return render_metrics()


def create_service_app(
    settings: ServiceSettings,
    *,
    route_handlers: Sequence[ControllerRouterHandler] = (),
    version: str = "0.1.0",
    uses_database: bool = True,
    uses_redis: bool = True,
    verify_tokens: bool = True,
    user_tokens_only: bool = False,
    key_source: KeySourceFactory | None = None,
    checks: dict[str, Check] | None = None,
    on_startup: Sequence[RuntimeHook] = (),
    on_shutdown: Sequence[RuntimeHook] = (),
    dependencies: dict[str, Provide] | None = None,
    middleware: Sequence[Middleware] = (),
    plugins: Sequence[Any] = (),
    edge_middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    hot_path: Callable[[ASGIApp], ASGIApp] | None = None,
    cors_allow_headers: Sequence[str] = (),
    openapi_path: str = "/schema",
    max_body_bytes: int = 1_048_576,
    access_log: bool = False,
    debug: bool = False,
) -> Litestar:
    """Build a service's Litestar app; see the module docstring.

    ``edge_middleware`` wraps the router *before* authentication and routing (outermost first),
    for concerns that must run on every request, such as turning a session cookie into an
    ``Authorization`` header. ``access_log`` writes one structured line per request
    (:class:`~nova_kit.logs.AccessLogMiddleware`), what the edge of the system should do.
    ``hot_path`` wraps that whole per-request stack (inside the client address resolution
    only): it may answer the requests of its own routes itself, doing for them everything the
    stack would, and hands every other request to the stack.
    """
    configure_logging(settings.service_name, settings.log_level, json_lines=settings.log_json)
    tracer_provider = configure_tracing(settings.service_name, version, settings.otlp_endpoint)
    BUILD_INFO.labels(settings.service_name, version).set(1)
    readiness = Readiness(checks=dict(checks or {}), timeout=settings.readiness_timeout_seconds)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runtime = Runtime(
            settings=settings,
            http=httpx.AsyncClient(
                timeout=httpx.Timeout(5.0, connect=2.0),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            ),
            state=app.state,
        )
        if uses_database:
            from nova_kit import db

            engine = db.create_engine(db.DatabaseConfig.from_settings(settings))
            instrument_engine(engine)
            DB_POOLS.register(settings.service_name, engine)
            runtime.engine = engine
            runtime.sessions = db.create_session_factory(engine)
            readiness.checks.setdefault("database", lambda: db.ping(engine))
        if uses_redis:
            if settings.redis_url is None:
                raise RuntimeError(f"{settings.env_name('redis_url')} is not set")
            runtime.redis = create_redis(settings.redis_url.get_secret_value())
            redis = runtime.redis
            readiness.checks.setdefault("redis", redis.ping)
        if verify_tokens:
            source = (key_source or _default_key_source)(runtime)
            runtime.verifier = TokenVerifier(
                source,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                revocations=_revocation_list(settings, runtime.redis),
            )
            if runtime.verifier.revocations is not None:
                runtime.verifier.revocations.start()
            auth_middleware.verifier = runtime.verifier
        app.state[RUNTIME_STATE_KEY] = runtime
        metrics_server = None
        if settings.metrics_port and not is_worker():
            # With several workers, their supervisor serves the metrics port.
            metrics_server = serve_metrics_port(settings.metrics_port, settings.host)
        try:
            for hook in on_startup:
                await _call(hook, runtime)
            yield
        finally:
            readiness.draining = True
            await _shut_down(runtime, on_shutdown)
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()

    auth_middleware = _LazyTokenAuthMiddleware(users_only=user_tokens_only)
    app_middleware: list[Middleware] = [RouteSpanMiddleware()]
    if verify_tokens:
        app_middleware.append(auth_middleware)
    app_middleware.extend(middleware)

    app = Litestar(
        # With a metrics port, /metrics is served there only, never on the public port.
        route_handlers=[
            health,
            ready,
            *([] if settings.metrics_port else [metrics_endpoint]),
            *_reference_assets(settings, openapi_path),
            *route_handlers,
        ],
        lifespan=[lifespan],
        state=State({READINESS_STATE_KEY: readiness}),
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "db_sessions": Provide(provide_db_sessions, sync_to_thread=False),
            "redis": Provide(provide_redis, sync_to_thread=False),
            "claims": Provide(provide_claims, sync_to_thread=False),
            **(dependencies or {}),
        },
        exception_handlers=exception_handlers(),
        after_request=plain_errors_as_json,
        middleware=app_middleware,
        plugins=[
            OpenTelemetryPlugin(
                OpenTelemetryConfig(
                    tracer_provider=tracer_provider,
                    exclude=["/health", "/ready", "/metrics"],
                    exclude_spans=["receive", "send"],
                )
            ),
            *plugins,
        ],
        openapi_config=OpenAPIConfig(
            title=f"nova-{settings.service_name}",
            version=version,
            path=openapi_path,
            render_plugins=[_reference_plugin(settings, openapi_path)],
        ),
        cors_config=_cors_config(settings, cors_allow_headers),
        request_max_body_size=max_body_bytes,
        request_class=ServiceRequest,
        debug=debug,
        logging_config=None,
    )
    _wrap_router(app, settings, edge_middleware, access_log=access_log, hot_path=hot_path)
    return app


def _revocation_list(settings: ServiceSettings, redis: Redis | None) -> RevocationList | None:
    if redis is None:
        return None
    fail_closed = settings.revocation_fails_closed
    if not fail_closed:
        logger.warning(
            "token revocation fails open: while Redis is unreachable revoked tokens are "
            "accepted (%s; outside dev/test it fails closed)",
            settings.env_name("revocation_fail_closed"),
        )
    return RevocationList(
        redis, fail_closed=fail_closed, timeout_seconds=settings.revocation_timeout_seconds
    )


SCALAR_BROWSER = ("@scalar", "api-reference", "dist", "browser")
"""Where the Scalar API reference's standalone bundle is, under the dev assets."""


SCALAR_OFFLINE_OPTIONS: dict[str, Any] = {
    "withDefaultFonts": False,  # fonts.scalar.com
    "telemetry": False,
    "agent": {"disabled": True},  # the AI agent and its API registry (proxy.scalar.com)
    "hideClientButton": True,  # the hosted API client
    "proxyUrl": "",
}
"""Scalar's settings for a reference that asks nothing of any other host: the page a developer
opens from the ready banner works offline and sends nothing anywhere."""


def _reference_plugin(settings: ServiceSettings, openapi_path: str) -> ScalarRenderPlugin:
    """Scalar at ``{openapi_path}``: from the dev assets in dev (works offline), else its CDN."""
    if settings.dev_asset_directory(*SCALAR_BROWSER) is None:
        return ScalarRenderPlugin()
    return ScalarRenderPlugin(
        js_url=f"{openapi_path}/assets/standalone.js",
        css_url="data:text/css,",  # Scalar's bundle carries its styles
        favicon='<link rel="icon" href="data:,">',  # no /favicon.ico request to answer 404
        options=SCALAR_OFFLINE_OPTIONS,
    )


def _reference_assets(settings: ServiceSettings, openapi_path: str) -> list[Any]:
    directory = settings.dev_asset_directory(*SCALAR_BROWSER)
    if directory is None:
        return []
    return [
        create_static_files_router(
            path=f"{openapi_path}/assets",
            directories=[str(directory)],
            include_in_schema=False,
            opt={"public": True},
        )
    ]


async def _call(hook: RuntimeHook, runtime: Runtime) -> None:
    result = hook(runtime)
    if hasattr(result, "__await__"):
        await result


async def _shut_down(runtime: Runtime, hooks: Sequence[RuntimeHook]) -> None:
    """Run the service's shutdown hooks (newest first), then close what the kit opened."""
    for hook in reversed(hooks):
        try:
            await _call(hook, runtime)
        except Exception:
            logger.exception("shutdown hook failed")
    await runtime.http.aclose()
    if runtime.verifier is not None and runtime.verifier.revocations is not None:
        await runtime.verifier.revocations.aclose()
    if runtime.redis is not None:
        await runtime.redis.aclose()
    if runtime.engine is not None:
        await runtime.engine.dispose()


def _cors_config(settings: ServiceSettings, extra_headers: Sequence[str]) -> CORSConfig | None:
    if not settings.cors_allow_origins:
        return None
    return CORSConfig(
        allow_origins=settings.cors_allow_origins,
        allow_credentials="*" not in settings.cors_allow_origins,
        allow_headers=[
            "authorization",
            "content-type",
            "x-request-id",
            "traceparent",
            *extra_headers,
        ],
        expose_headers=["x-request-id", "retry-after"],
    )


def _wrap_router(
    app: Litestar,
    settings: ServiceSettings,
    edge_middleware: Sequence[Callable[[ASGIApp], ASGIApp]],
    *,
    access_log: bool,
    hot_path: Callable[[ASGIApp], ASGIApp] | None = None,
) -> None:
    """Request ids, metrics, security headers and the request header limits wrap the router
    itself, so unmatched routes (404/405) and early rejections are counted and carry an id and
    the headers too, and oversized headers are refused before anything else runs."""

    def wrap_all(handler: ASGIApp) -> ASGIApp:
        for wrap in reversed(edge_middleware):
            handler = wrap(handler)
        handler = SecurityHeadersMiddleware(
            HeaderLimitsMiddleware(handler), hsts=not settings.is_dev
        )
        handler = MetricsMiddleware(handler)
        if access_log:
            handler = AccessLogMiddleware(handler)
        handler = RequestIdMiddleware(handler)
        if hot_path is not None:
            handler = hot_path(handler)
        return resolve_client_addresses(handler, settings.forwarded_allow_ips)

    wrap_asgi_handler(app, wrap_all)


class _LazyTokenAuthMiddleware(TokenAuthMiddleware):
    """Token middleware whose verifier is attached in the lifespan, once Redis/HTTP exist."""

    def __init__(self, *, users_only: bool = False) -> None:
        self.verifier = cast("TokenVerifier", None)
        self.users_only = users_only

    async def handle(self, scope: Any, receive: Any, send: Any, next_app: Any) -> None:
        if self.verifier is None:
            raise RuntimeError("token verifier used before start-up")
        await super().handle(scope, receive, send, next_app)
