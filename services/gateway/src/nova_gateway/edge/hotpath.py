"""The gateway's hot routes without the framework: ``/graphql`` and the REST proxy's prefixes.

Every request to the gateway used to pass the kit's per-request stack — request id, access
log, metrics, security headers, header limits, the cookie session rules — and then Litestar's
routing, its OpenTelemetry middleware, the token and rate-limit middlewares, a ``Request`` and a
``Response``: eight ASGI layers, most wrapping ``send``, around a federation engine that was
less than a sixth of the gateway's CPU per request (ADR 0028). :class:`HotPath` does the same
for the routes that carry the traffic in one function: it reads each header once, wraps
``send`` once (request id and security headers on the answer, status and bytes for the log and
the metrics) and calls the same pieces the stack calls — :func:`nova_kit.security.authenticate`,
the edge rate limiter's and session rules' ``admit``, the proxies, and ``/graphql``'s
:func:`~nova_gateway.graphql_route.answer_post` / :func:`~nova_gateway.graphql_route.answer_get`.

Whatever it does not handle identically goes to the stack, untouched, before anything is read
or answered: other routes, methods Litestar would refuse (405), ``OPTIONS`` and any request
with an ``Origin`` while CORS is configured (Litestar's CORS middleware answers those), a
``GET /graphql`` asking for the explorer, a ``POST /graphql`` whose body has no
``Content-Length`` or one over the limit (Litestar's 413), headers over the limits (the kit's
431), a ``Host`` Litestar would refuse, an ASGI ``root_path``, and every request while spans are
recorded (an OpenTelemetry exporter is configured: the stack's server span records them).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from nova_gateway import explorer
from nova_gateway.config import GatewaySettings
from nova_gateway.edge.ratelimit import EXEMPT_PATHS, EdgeRateLimitMiddleware
from nova_gateway.edge.sessions import CookieSessionMiddleware
from nova_gateway.graphql_route import Reply, answer_get, answer_post
from nova_kit.app import Runtime
from nova_kit.compat import litestar_accepts_host
from nova_kit.errors import exception_handlers
from nova_kit.headers import header_problem, security_headers, with_security_headers
from nova_kit.logs import log_access, request_id_of, request_id_var, with_request_id
from nova_kit.metrics import HTTP_ACTIVE_REQUESTS, child, record_request, request_method
from nova_kit.security import authenticate
from nova_kit.tracing import attach_server_context, detach_server_context, spans_recorded

logger = logging.getLogger(__name__)

GRAPHQL_PATH = "/graphql"
_GRAPHQL_METHODS = frozenset({"GET", "POST"})


class HotPath:
    """ASGI app in front of the kit's per-request ``stack`` (see the module docstring)."""

    def __init__(
        self,
        stack: ASGIApp,
        settings: GatewaySettings,
        *,
        rate_limits: EdgeRateLimitMiddleware,
        proxies: dict[str, ASGIApp],
        enabled: bool = True,
    ) -> None:
        self.stack = stack
        self.settings = settings
        self.enabled = enabled
        self.rate_limits = rate_limits
        self.proxies = proxies
        """Route prefix → its proxy (filled at start-up)."""
        self.sessions = CookieSessionMiddleware(stack, settings)
        self.security = security_headers(hsts=not settings.is_dev)
        self.cors = bool(settings.cors_allow_origins)
        self.max_body = settings.max_body_bytes
        self.explorer = explorer.asset_directories(settings) is not None
        self.runtime: Runtime | None = None
        self.templates: dict[str, str] = {}
        """Route prefix → the template Litestar's routing gives its mount."""
        self.prefixes: list[str] = sorted(
            {*settings.routes, *settings.admin_routes}, key=len, reverse=True
        )

    def start(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _mount(self, path: str) -> str | None:
        for prefix in self.prefixes:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return prefix
        return None

    def _eligible(self, scope: Scope) -> bool:
        """Whether the stack would do nothing for this request that :meth:`serve` does not."""
        if scope.get("root_path") or "//" in scope["path"]:
            return False
        headers: Any = scope["headers"]
        if header_problem(headers) is not None:
            return False
        for name, value in headers:
            if name == b"host" and not litestar_accepts_host(value):
                return False
            if name == b"origin" and self.cors:
                return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope) if scope["type"] == ScopeType.HTTP and self.enabled else None
        if route is None or self.runtime is None or spans_recorded() or not self._eligible(scope):
            await self.stack(scope, receive, send)
            return
        await self.serve(scope, receive, send, route)

    def _route(self, scope: Scope) -> str | None:
        """``/graphql`` or the prefix of the proxy the request is for, if this serves it."""
        path: str = scope["path"]
        method = str(scope.get("method"))
        if path == GRAPHQL_PATH:
            if method not in _GRAPHQL_METHODS or not self._graphql_in_reach(scope, method):
                return None
            return GRAPHQL_PATH
        prefix = self._mount(path)
        if prefix is None or method == "OPTIONS" or prefix not in self.proxies:
            return None
        return prefix

    def _graphql_in_reach(self, scope: Scope, method: str) -> bool:
        if method == "GET":
            if not self.explorer:
                return True
            asks = "query" in Request[Any, Any, Any](scope).query_params
            return not explorer.wants_explorer(_header(scope, b"accept"), asks)
        declared = _header(scope, b"content-length")
        return (
            declared is not None
            and declared.isdigit()
            and int(declared) <= self.max_body
            and _header(scope, b"transfer-encoding") is None
        )

    async def serve(self, scope: Scope, receive: Receive, send: Send, route: str) -> None:
        started = time.perf_counter()
        method = str(scope.get("method"))
        path = scope["path"]
        request_id = request_id_of(scope["headers"])
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        id_token = request_id_var.set(request_id)
        echoed = request_id.encode("latin-1")
        security = self.security
        status = 500
        sent = 0

        async def respond(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = with_request_id(
                    with_security_headers(message.get("headers", []), security), echoed
                )
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        label = request_method(scope)
        active = child(HTTP_ACTIVE_REQUESTS, label)
        active.inc()
        try:
            if await self.sessions.admit(scope, respond):
                await self._routed(scope, receive, respond, route)
        finally:
            active.dec()
            template = scope.get("path_template")
            record_request(label, str(template or ""), status, started)
            log_access(scope, method, path, status=status, started=started, sent=sent)
            request_id_var.reset(id_token)

    async def _routed(self, scope: Scope, receive: Receive, send: Send, prefix: str) -> None:
        """What Litestar's routing and the route's middleware do, then the handler."""
        handler: ASGIApp
        if prefix == GRAPHQL_PATH:
            scope["path_template"] = GRAPHQL_PATH
            handler = self._graphql
        else:
            handler = self.proxies[prefix]
            # As Litestar routes a mount: its template, and the path below the mount.
            scope["path_template"] = self._template(scope, prefix)
            below = scope["path"][len(prefix) :] or "/"
            scope["path"] = below if below.endswith("/") else f"{below}/"
        scope["path_params"] = {}
        context = attach_server_context(scope, f"{scope.get('method')} {scope['path_template']}")
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            runtime = self.runtime
            assert runtime is not None
            verifier = runtime.verifier
            # users_only: the gateway's edge takes no service tokens (nova_gateway.app)
            if verifier is not None and not await authenticate(
                verifier, scope, tracked, users_only=True
            ):
                return
            if scope["path"] not in EXEMPT_PATHS and not await self.rate_limits.admit(
                scope, tracked
            ):
                return
            await handler(scope, receive, tracked)
        except Exception as error:
            if started:
                raise  # the answer is under way: the client must see it broken
            await _answer_error(scope, receive, send, error)
        finally:
            detach_server_context(context)

    def _template(self, scope: Scope, prefix: str) -> str:
        template = self.templates.get(prefix)
        if template is None:
            router = scope["app"].asgi_router
            template = str(router.handle_routing(path=f"{prefix}/", method="GET")[4])
            self.templates[prefix] = template
        return template

    async def _graphql(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        assert runtime is not None
        accept = _header(scope, b"accept")
        reply: Reply
        if scope.get("method") == "GET":
            parameters = Request[Any, Any, Any](scope).query_params
            reply = await answer_get(runtime, scope, accept, parameters)
        else:

            async def body() -> bytes:
                return await _read_body(receive, self.max_body)

            content_type = _header(scope, b"content-type")
            reply = await answer_post(runtime, scope, accept, content_type, body)
        content = reply.body()
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": reply.encoded_headers(content),
            }
        )
        await send({"type": "http.response.body", "body": content, "more_body": False})


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (as Litestar's ``Headers.get``)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _ClientGoneError(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGoneError
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


_HANDLERS = exception_handlers()


async def _answer_error(scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
    """Answer an exception as the app's exception handlers answer it in the stack."""
    if isinstance(error, _ClientGoneError):
        return  # nobody to answer
    handler: Any = next(
        (_HANDLERS[kind] for kind in type(error).__mro__ if kind in _HANDLERS), None
    )
    request: Request[Any, Any, Any] = Request(scope, receive)
    response = handler(request, error)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)
