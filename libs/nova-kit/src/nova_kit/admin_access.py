"""Who may open a model admin, and the refusal everyone else gets.

The model admins (``nova_kit.admin``) and the gateway in front of them check the same thing, with
the kit's one admin check (:func:`~nova_kit.security.check_admin` on the claims the token
middleware verified): no token is a 401, a token without the ``admin`` role a 403. A browser
(``Accept: text/html``) gets a short page saying so, with a link to sign in; any other client the
JSON error body every Nova service answers.
"""

from __future__ import annotations

import html
import json

from litestar.connection import ASGIConnection
from litestar.types import HTTPResponseStartEvent, Scope, Send

from nova_kit.errors import AppError, error_body
from nova_kit.security import bearer_challenge, check_admin
from nova_kit.tokens import AccessClaims

ADMIN_PAGE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    # Everything an admin page loads comes from its own origin (offline, nothing sent elsewhere);
    # starlette-admin's pages carry inline scripts and styles.
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"cache-control", b"no-store"),
)


def admin_claims_or_refusal(scope: Scope) -> AccessClaims | AppError:
    """The administrator's verified claims, or the error to refuse the request with."""
    try:
        return check_admin(ASGIConnection(scope))
    except AppError as error:
        return error


def wants_html(scope: Scope) -> bool:
    """Whether the client is a browser navigating (it lists ``text/html`` before JSON)."""
    accept = ""
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = value.decode("latin-1").lower()
            break
    if "text/html" not in accept:
        return False
    return "application/json" not in accept or accept.index("text/html") < accept.index(
        "application/json"
    )


def refusal_page(error: AppError, login_url: str) -> str:
    title = "Sign in as an administrator" if error.status_code == 401 else "Administrators only"
    hint = (
        f'<p><a href="{html.escape(login_url)}">Sign in</a> with an administrator account, '
        "then open this page again.</p>"
        if error.status_code == 401
        else "<p>Your account does not have the administrator role.</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} · Nova</title></head><body><main>"
        f"<h1>{title}</h1><p>{html.escape(error.message)}.</p>{hint}"
        f"<p><small>code: {html.escape(error.code)}</small></p></main></body></html>"
    )


async def send_admin_refusal(scope: Scope, send: Send, error: AppError, *, login_url: str) -> None:
    """Answer ``error`` as a page (browsers) or as Nova's JSON error body (everything else)."""
    if wants_html(scope):
        body = refusal_page(error, login_url).encode()
        headers = [(b"content-type", b"text/html; charset=utf-8"), *ADMIN_PAGE_HEADERS]
    else:
        body = json.dumps(error_body(error.code, error.message)).encode()
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    headers.append((b"content-length", str(len(body)).encode()))
    if error.status_code == 401:
        headers.append((b"www-authenticate", bearer_challenge().encode()))
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": error.status_code,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
