"""Security headers on every response (OWASP secure-headers defaults for an API), and limits on
the request headers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from nova_kit.errors import error_body

API_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-site"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def security_headers(*, hsts: bool) -> tuple[tuple[bytes, bytes], ...]:
    return (*API_SECURITY_HEADERS, HSTS) if hsts else API_SECURITY_HEADERS


def with_security_headers(
    headers: Iterable[tuple[bytes, bytes]], security: tuple[tuple[bytes, bytes], ...]
) -> list[tuple[bytes, bytes]]:
    """A response's headers and those of ``security`` it did not set itself."""
    headers = list(headers)
    present = {name.lower() for name, _ in headers}
    headers.extend((k, v) for k, v in security if k not in present)
    return headers


class SecurityHeadersMiddleware:
    """Adds the headers a browser needs to treat API answers safely, unless the app set them."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = security_headers(hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(message.get("headers", []), self.headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_REQUEST_HEADERS = 100
"""Apache's ``LimitRequestFields``; a browser sends about 20."""
MAX_REQUEST_HEADER_BYTES = 32 * 1024
"""nginx's default (four 8 KiB buffers) in total; cookies and a token need a few KiB."""


def header_problem(
    headers: Sequence[tuple[bytes, bytes]],
    max_headers: int = MAX_REQUEST_HEADERS,
    max_bytes: int = MAX_REQUEST_HEADER_BYTES,
) -> str | None:
    """Why a request's headers are refused (431), or ``None``."""
    if len(headers) > max_headers:
        return f"more than {max_headers} request headers"
    if sum(len(name) + len(value) + 4 for name, value in headers) > max_bytes:
        return f"request headers larger than {max_bytes // 1024} KiB"
    return None


class HeaderLimitsMiddleware:
    """Answers 431 to a request with too many headers or too many header bytes, before any
    routing, authentication or upstream call. uvicorn's default HTTP parser (httptools) sets no
    limit of its own; h11's is a single 16 KiB."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_headers: int = MAX_REQUEST_HEADERS,
        max_bytes: int = MAX_REQUEST_HEADER_BYTES,
    ) -> None:
        self.app = app
        self.max_headers = max_headers
        self.max_bytes = max_bytes

    def problem(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        return header_problem(headers, self.max_headers, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self.problem(list(scope["headers"])) if scope["type"] == ScopeType.HTTP else None
        if problem is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps(error_body("request_header_fields_too_large", problem)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 431,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})
