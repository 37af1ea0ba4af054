"""Litestar authentication middleware and guards built on :class:`~nova_kit.tokens.TokenVerifier`.

The middleware authenticates a ``Bearer`` token when one is sent and leaves anonymous requests
anonymous; guards decide what each route needs::

    @get("/me", guards=[requires_user])
    @get("/", guards=[requires_role("admin")])
    @put("/internal/profiles/{id:uuid}", guards=[requires_service])

An invalid token is always a 401 with ``WWW-Authenticate`` (RFC 6750), even on a public route:
a client that sends a token wants to know it is bad. A token whose revocation cannot be checked
(Redis down, failing closed) is a 503 ``token_check_unavailable`` with ``Retry-After``: the token
is not known to be bad, so the client must not throw it away (docs/adr/0006).
With ``users_only`` (the gateway's edge) a valid service-account token is refused too: service
tokens are for service-to-service calls inside the cluster, never for the public API.
"""

from __future__ import annotations

import json
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from nova_kit.errors import ForbiddenError, UnauthorizedError, error_body
from nova_kit.tokens import AccessClaims, RevocationUnavailableError, TokenError, TokenVerifier

CLAIMS_STATE_KEY = "nova_claims"


def bearer_challenge(error: str | None = None, description: str | None = None) -> str:
    parts = ['Bearer realm="nova"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        safe = description.replace('"', "'")
        parts.append(f'error_description="{safe}"')
    return ", ".join(parts)


def extract_bearer(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None``; malformed → ``""``."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return ""
            return token.strip()
    return None


class TokenAuthMiddleware(ASGIMiddleware):
    """Verifies a Bearer token if present and stores the claims on the connection state."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, verifier: TokenVerifier, *, users_only: bool = False) -> None:
        self.verifier = verifier
        self.users_only = users_only

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if await authenticate(self.verifier, scope, send, users_only=self.users_only):
            await next_app(scope, receive, send)


async def authenticate(
    verifier: TokenVerifier, scope: Scope, send: Send, *, users_only: bool = False
) -> bool:
    """Verify the request's Bearer token, if it sends one, into the scope's state (``None``
    without a token); ``False`` once a bad token has been answered 401 (503 when its revocation
    cannot be checked)."""
    token = extract_bearer(scope)
    state = scope.setdefault("state", {})
    state[CLAIMS_STATE_KEY] = None
    if token is None:
        return True
    if not token:
        await _reject(send, "invalid_request", "expected 'Authorization: Bearer <token>'")
        return False
    try:
        claims = await verifier.verify(token)
    except RevocationUnavailableError as error:
        await _reject(send, "temporarily_unavailable", str(error), status=503)
        return False
    except TokenError as error:
        await _reject(send, "invalid_token", str(error))
        return False
    if users_only and claims.is_service:
        await _reject(send, "invalid_token", "service tokens are not accepted here")
        return False
    state[CLAIMS_STATE_KEY] = claims
    return True


async def _reject(send: Send, error: str, description: str, *, status: int = 401) -> None:
    code = "token_check_unavailable" if status == 503 else "invalid_token"
    body = json.dumps(error_body(code, description)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    else:
        headers.append((b"www-authenticate", bearer_challenge(error, description).encode()))
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


def current_claims(connection: ASGIConnection[Any, Any, Any, Any]) -> AccessClaims | None:
    claims = connection.scope.get("state", {}).get(CLAIMS_STATE_KEY)
    return claims if isinstance(claims, AccessClaims) else None


def require_claims(connection: ASGIConnection[Any, Any, Any, Any]) -> AccessClaims:
    claims = current_claims(connection)
    if claims is None:
        raise UnauthorizedError(
            "authentication required",
            code="unauthenticated",
            headers={"WWW-Authenticate": bearer_challenge()},
        )
    return claims


def check_user(connection: ASGIConnection[Any, Any, Any, Any]) -> AccessClaims:
    """The claims of an authenticated end user (not a service account), or the refusal."""
    claims = require_claims(connection)
    if claims.is_service:
        raise ForbiddenError("this operation is for users, not service accounts")
    return claims


def check_admin(connection: ASGIConnection[Any, Any, Any, Any]) -> AccessClaims:
    """The claims of an administrator, or the refusal."""
    claims = require_claims(connection)
    if not claims.is_admin:
        raise ForbiddenError("administrator role required", code="admin_required")
    return claims


def check_service(connection: ASGIConnection[Any, Any, Any, Any]) -> AccessClaims:
    """The claims of a service account, or the refusal."""
    claims = require_claims(connection)
    if not claims.is_service:
        raise ForbiddenError("service token required", code="service_token_required")
    return claims


# The guards are coroutines: Litestar runs a plain function guard in a worker thread, a hop (and
# a wait for the GIL) on every request for what is a dictionary lookup.


async def requires_user(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """An authenticated end user (not a service account)."""
    check_user(connection)


async def requires_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    check_admin(connection)


async def requires_service(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A service account's token (``/internal/*`` routes)."""
    check_service(connection)


def requires_role(role: str) -> Any:
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        claims = require_claims(connection)
        if not claims.has_role(role):
            raise ForbiddenError(f"role {role!r} required", code="role_required")

    guard.__name__ = f"requires_role_{role}"
    return guard


def provide_claims(request: ASGIConnection[Any, Any, Any, Any]) -> AccessClaims:
    """Dependency giving a handler the caller's verified claims (use with a guard)."""
    return require_claims(request)
