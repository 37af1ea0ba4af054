"""Browser sessions: tokens live in httpOnly cookies, never in JavaScript.

A web client asks for cookie sessions by sending ``X-Nova-Session: cookie`` to auth's session
endpoints through the gateway. The gateway then

- on register/login/refresh (and ``login/two-factor``, the second step of a two-factor sign-in),
  moves ``access_token`` and ``refresh_token`` from auth's JSON answer into httpOnly,
  ``SameSite=Lax`` cookies (``Secure`` outside dev; the refresh cookie is scoped to auth's paths)
  and answers the rest of the body (a two-factor challenge carries no tokens: it passes as is);
- on refresh/logout, supplies the refresh token from its cookie;
- on logout (and logout-all, account deletion, and a password reset), clears both cookies;
- on the callback of a sign-in with an OpenID provider (``GET /api/auth/oidc/<p>/callback``, a
  browser navigation that cannot carry ``X-Nova-Session``), moves the tokens of auth's answer
  into the same cookies and redirects the browser to the answer's ``next`` (ADR 0017); when
  the account has two-factor sign-in, auth answers a challenge instead, which the gateway keeps
  in a short-lived httpOnly cookie scoped to ``login/two-factor`` while it sends the browser to
  the login page's second step, and adds to that step's request (never in a URL);

On every other request the access cookie becomes an ``Authorization: Bearer`` header before the
token is verified, so upstreams see one kind of credential. A cookie-authenticated request that
changes state must be JSON or carry ``X-Nova-CSRF`` (both force a CORS preflight cross-site),
and must not be a cross-site request from an origin outside the allow-list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from nova_gateway.edge.client import UpstreamBusyError
from nova_gateway.edge.metrics import EDGE_REJECTIONS
from nova_gateway.edge.proxy import (
    REPLACED_REQUEST_HEADERS,
    BodyTooLargeError,
    ClientDisconnectedError,
    RestProxy,
    UpstreamFailure,
    end_to_end,
    forwarded_headers,
    read_request_body,
    send_upstream_error,
)
from nova_gateway.edge.responses import send_json_error
from nova_gateway.edge.settings import EdgeSettings

SESSION_HEADER = "x-nova-session"
CSRF_HEADER = "x-nova-csrf"
COOKIE_AUTH_STATE_KEY = "nova_cookie_auth"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_BODY_LIMIT = 64 * 1024
# The sign-in routes whose answers may carry new tokens. A password sign-in on an account with
# a second factor answers a challenge instead (no tokens, so no cookies: it passes untouched);
# the second step, ``login/two-factor``, answers the tokens.
ISSUING = frozenset({"register", "login", "login/two-factor", "refresh"})
# Answers that carry new tokens: they go into cookies, never into the browser's JavaScript.
TOKEN_ANSWERS = ISSUING | {"change-password", "me/password"}
OIDC_CALLBACK = "oidc-callback"
OIDC_FLOW_COOKIE = "nova_oidc_flow"
ENDING = frozenset({"logout", "logout-all"})
# A password reset ends every session of the account: a browser's cookies go with them.
RESETTING = frozenset({"reset-password"})
# The steps of a mailed link need no credentials: a stale access cookie is not sent with them
# (an invalid token would be refused at the edge, and lock the person out of their recovery).
CREDENTIAL_FREE = RESETTING | {"verify-email", "forgot-password"}
ERROR_CODE = re.compile(r"^[a-z][a-z_]{0,63}$")


def header(scope: Scope, name: str) -> str | None:
    wanted = name.encode("latin-1")
    for key, value in scope["headers"]:
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


def request_cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie | None = None
    for key, value in scope["headers"]:
        if key.lower() == b"cookie":
            jar = jar if jar is not None else SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: S112 - a malformed cookie header is ignored
                continue
    return {} if jar is None else {name: morsel.value for name, morsel in jar.items()}


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def auth_path_name(scope: Scope, prefix: str) -> str | None:
    """The path below auth's prefix (``login``, ``verify-email``, ...), or None elsewhere."""
    raw = scope.get("raw_path") or scope["path"].encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    if not path.startswith(f"{prefix}/"):
        return None
    return path[len(prefix) + 1 :].strip("/")


def session_endpoint(scope: Scope, prefix: str) -> str | None:
    """``login``, ``refresh``, ... when the request targets one of auth's session endpoints."""
    name = auth_path_name(scope, prefix)
    if name is None:
        return None
    parts = name.split("/")
    if scope.get("method") == "GET" and len(parts) == 3 and parts[::2] == ["oidc", "callback"]:
        return OIDC_CALLBACK
    if scope.get("method") == "POST" and name in TOKEN_ANSWERS | ENDING | RESETTING:
        return name
    if scope.get("method") == "DELETE" and name == "me":
        return "delete-account"
    return None


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    """Auth's whole answer to a session exchange, its body decoded from any content coding."""

    status: int
    headers: list[tuple[str, str]]
    content: bytes


def own_hosts(scope: Scope) -> set[str]:
    """The hosts the browser addressed: ``Host``, and ``X-Forwarded-Host`` when a same-origin
    front end (the Next.js server) relays the request. A page cannot set either on a
    cross-site request without a CORS preflight, which the gateway refuses."""
    return {value for name in ("host", "x-forwarded-host") if (value := header(scope, name))}


class CookieSessionMiddleware:
    """Edge middleware: access cookie → ``Authorization`` header, plus the CSRF rules."""

    def __init__(self, app: ASGIApp, settings: EdgeSettings) -> None:
        self.app = app
        self.settings = settings

    def csrf_problem(self, scope: Scope) -> str | None:
        if str(scope.get("method", "GET")) in SAFE_METHODS:
            return None
        if not (is_json(header(scope, "content-type")) or header(scope, CSRF_HEADER)):
            return "state-changing cookie requests must be JSON or carry X-Nova-CSRF"
        # SameSite cookies stop most cross-site writes; the request's own provenance stops the
        # rest (older browsers, same-site sibling hosts): a browser states it in Sec-Fetch-Site,
        # and in Origin on every cross-origin write even without Fetch Metadata.
        site = (header(scope, "sec-fetch-site") or "").lower()
        origin = header(scope, "origin")
        allowed = origin is not None and origin in self.settings.cors_allow_origins
        if site == "same-origin" or allowed:
            return None
        if site in ("cross-site", "same-site"):
            return "cross-site request from an origin that is not allowed"
        if origin is not None and urlsplit(origin).netloc not in own_hosts(scope):
            return "request from an origin that is not allowed"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or await self.admit(scope, send):
            await self.app(scope, receive, send)

    async def admit(self, scope: Scope, send: Send) -> bool:
        """Apply the session rules to a request: ``True`` to serve it, ``False`` once it has
        been refused (403 ``csrf_rejected``)."""
        if not self.settings.cookie_sessions:
            return True
        cookies = request_cookies(scope)
        access = cookies.get(self.settings.access_cookie_name)
        session_mode = (header(scope, SESSION_HEADER) or "").lower() == "cookie"
        uses_cookie = False
        prefix = self.settings.session_paths_prefix
        endpoint = session_endpoint(scope, prefix)
        issuing = (session_mode and endpoint in ISSUING) or endpoint == OIDC_CALLBACK
        credential_free = (
            scope.get("method") == "POST" and auth_path_name(scope, prefix) in CREDENTIAL_FREE
        )
        # A stale access cookie must not block the very requests that replace it.
        if access and header(scope, "authorization") is None and not (issuing or credential_free):
            scope["headers"] = [*scope["headers"], (b"authorization", f"Bearer {access}".encode())]
            uses_cookie = True
        has_session_cookie = bool(access) or self.settings.refresh_cookie_name in cookies
        if (session_mode or credential_free) and has_session_cookie:
            uses_cookie = True
        scope.setdefault("state", {})[COOKIE_AUTH_STATE_KEY] = uses_cookie
        if uses_cookie or session_mode:
            problem = self.csrf_problem(scope)
            if problem is not None:
                EDGE_REJECTIONS.labels("csrf").inc()
                await send_json_error(send, 403, "csrf_rejected", problem)
                return False
        return True


class SessionProxy:
    """Wraps auth's route: session endpoints in cookie mode, everything else proxied as is."""

    def __init__(self, proxy: RestProxy, settings: EdgeSettings) -> None:
        self.proxy = proxy
        self.settings = settings
        self.prefix = settings.session_paths_prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = session_endpoint(scope, self.prefix)
        # A password change answered to a cookie session carries new tokens: they go into the
        # cookies even when the client did not ask for cookie handling explicitly.
        cookie_mode = (header(scope, SESSION_HEADER) or "").lower() == "cookie" or (
            name in {"change-password", "me/password", *RESETTING}
            and bool(scope.get("state", {}).get(COOKIE_AUTH_STATE_KEY))
        )
        if name == OIDC_CALLBACK:
            await self.oidc_callback(scope, send)
            return
        if name is None or not cookie_mode:
            await self.proxy(scope, receive, send)
            return
        await self.cookie_exchange(name, scope, receive, send)

    async def cookie_exchange(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        label = self.proxy.route.prefix
        try:
            body = await read_request_body(receive, SESSION_BODY_LIMIT)
        except (BodyTooLargeError, ClientDisconnectedError) as error:
            await send_upstream_error(send, label, UpstreamFailure.of(error))
            return
        jar = request_cookies(scope)
        # The token a cookie stands in for: the refresh token, or a provider sign-in's challenge.
        held = {
            "refresh": ("refresh_token", jar.get(self.settings.refresh_cookie_name)),
            "logout": ("refresh_token", jar.get(self.settings.refresh_cookie_name)),
            "login/two-factor": ("mfa_token", jar.get(self.settings.mfa_cookie_name)),
        }
        field, value = held.get(name, ("", None))
        if value:
            try:
                payload = json.loads(body) if body.strip() else {}
            except ValueError:
                await send_json_error(send, 400, "bad_request", "the body must be JSON")
                return
            if isinstance(payload, dict):
                payload.setdefault(field, value)
                body = json.dumps(payload).encode()
        elif name == "refresh":
            await self.send_cleared(send, 401, {"code": "session_expired", "message": "no session"})
            return
        upstream = await self.exchange(scope, body)
        if isinstance(upstream, UpstreamFailure):
            await send_upstream_error(send, label, upstream)
            return
        challenge_held = name == "login/two-factor" and bool(jar.get(self.settings.mfa_cookie_name))
        await self.answer(name, upstream, send, challenge_held=challenge_held)

    async def oidc_callback(self, scope: Scope, send: Send) -> None:
        """The provider sent the browser back: auth validates the flow and answers the tokens;
        the browser gets them as session cookies and a redirect to the page it started from.
        Refusals (a wrong state, a refused ID token, ...) send it to the site's page for them
        with auth's error code (``oidc_error_page?error=<code>``)."""
        flow = request_cookies(scope).get(OIDC_FLOW_COOKIE)
        cookie = [("cookie", f"{OIDC_FLOW_COOKIE}={flow}")] if flow else []
        upstream = await self.exchange(scope, b"", extra_headers=cookie)
        if isinstance(upstream, UpstreamFailure):
            await send_upstream_error(send, self.proxy.route.prefix, upstream)
            return
        try:
            content = json.loads(upstream.content)
        except ValueError:
            content = None
        cookies = [v for k, v in upstream.headers if k == "set-cookie"]
        code = content.get("code") if isinstance(content, dict) else None
        if not 200 <= upstream.status < 300 and isinstance(code, str) and ERROR_CODE.match(code):
            # A refusal (an address that already has an account, a cancelled or expired
            # sign-in, ...) is shown by the site's page, not as JSON in the browser's window.
            page = self.settings.oidc_error_page
            target = f"{page}{'&' if '?' in page else '?'}{urlencode({'error': code})}"
            await self.redirect(send, target, cookies)
            return
        if not (200 <= upstream.status < 300 and isinstance(content, dict)):
            await self.answer(OIDC_CALLBACK, upstream, send)
            return
        target = str(content.get("next") or "/")
        if not target.startswith("/") or target.startswith(("//", "/\\")):
            target = "/"
        challenge = content.get("mfa_token")
        if content.get("mfa_required") is True and isinstance(challenge, str):
            # The provider's sign-in was the first step: the second is the login page's.
            cookies.append(self.challenge_cookie(challenge, int(content.get("expires_in", 300))))
            page = self.settings.two_factor_page
            target = f"{page}{'&' if '?' in page else '?'}{urlencode({'next': target})}"
        else:
            cookies += self.session_cookies(content)
        await self.redirect(send, target, cookies)

    async def redirect(self, send: Send, target: str, cookies: list[str]) -> None:
        headers = [("location", target), ("content-length", "0"), ("cache-control", "no-store")]
        headers += [("set-cookie", value) for value in cookies]
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def exchange(
        self, scope: Scope, body: bytes, *, extra_headers: list[tuple[str, str]] | None = None
    ) -> UpstreamAnswer | UpstreamFailure:
        proxy = self.proxy
        incoming = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        headers = end_to_end(incoming, REPLACED_REQUEST_HEADERS | {"cookie"})
        headers = [h for h in headers if h[0].lower() not in {"content-type"}]
        headers += [("content-type", "application/json"), *forwarded_headers(scope, incoming)]
        headers += extra_headers or []
        headers.append(("content-length", str(len(body))))
        path = str(scope.get("raw_path", b"").decode("latin-1") or scope["path"])
        if query := scope.get("query_string", b"").decode("latin-1"):
            path = f"{path}?{query}"
        try:
            await proxy.client.acquire(proxy.route.connect_timeout)
        except UpstreamBusyError as error:
            return UpstreamFailure.of(error)
        try:
            # The answer is read whole and rewritten, so it is decoded here whatever its coding.
            response = await proxy.request(
                str(scope.get("method", "GET")),
                f"{proxy.route.upstream}{path}",
                headers,
                body=body,
                decompress=True,
            )
            if isinstance(response, UpstreamFailure):
                return response
            try:
                content = await response.read()
            except aiohttp.ClientError as error:
                return UpstreamFailure.of(error)
            finally:
                response.release()
            return UpstreamAnswer(
                response.status,
                [
                    (k.decode("latin-1").lower(), v.decode("latin-1"))
                    for k, v in response.raw_headers
                ],
                content,
            )
        finally:
            proxy.client.release()

    def cookie(
        self, name: str, value: str, max_age: int, path: str, *, same_site: str = "Lax"
    ) -> str:
        parts = [
            f"{name}={value}",
            f"Path={path}",
            f"Max-Age={max_age}",
            "HttpOnly",
            f"SameSite={same_site}",
        ]
        if self.settings.secure_cookies:
            parts.append("Secure")
        if self.settings.cookie_domain:
            parts.append(f"Domain={self.settings.cookie_domain}")
        return "; ".join(parts)

    def clearing_cookies(self) -> list[str]:
        return [
            self.cookie(self.settings.access_cookie_name, "", 0, "/"),
            self.cookie(self.settings.refresh_cookie_name, "", 0, self.prefix),
        ]

    def challenge_cookie(self, token: str, max_age: int) -> str:
        """The cookie of a provider sign-in's two-factor challenge: sent only with the second
        step, only from this site, gone when the challenge expires (or is spent)."""
        path = f"{self.prefix}/login/two-factor"
        return self.cookie(self.settings.mfa_cookie_name, token, max_age, path, same_site="Strict")

    def session_cookies(self, content: dict[str, Any]) -> list[str]:
        """The cookies that carry the tokens of an answer, taken out of it (none if it has none)."""
        if "access_token" not in content:
            return []
        access = str(content.pop("access_token"))
        refresh = content.pop("refresh_token", None)
        cookies = [
            self.cookie(
                self.settings.access_cookie_name, access, int(content.get("expires_in", 900)), "/"
            )
        ]
        if refresh is not None:
            max_age = int(content.get("refresh_expires_in", 30 * 24 * 3600))
            cookies.append(
                self.cookie(self.settings.refresh_cookie_name, str(refresh), max_age, self.prefix)
            )
        content["session"] = "cookie"
        return cookies

    async def answer(
        self, name: str, upstream: UpstreamAnswer, send: Send, *, challenge_held: bool = False
    ) -> None:
        """auth's answer to a cookie exchange, its tokens turned into cookies; a challenge cookie
        the request carried (``challenge_held``) is cleared once spent."""
        cookies: list[str] = []
        content: Any = None
        try:
            content = json.loads(upstream.content)
        except ValueError:
            content = None
        ok = 200 <= upstream.status < 300
        if ok and isinstance(content, dict):
            cookies = self.session_cookies(content)
        ends_session = (
            name in ENDING
            or (name in {"delete-account", *RESETTING} and ok)
            or (name == "refresh" and upstream.status in (400, 401))
        )
        if ends_session:
            cookies = self.clearing_cookies()
        spent = ok or (isinstance(content, dict) and content.get("code") == "mfa_token_invalid")
        if challenge_held and spent:
            cookies.append(self.challenge_cookie("", 0))
        body = json.dumps(content).encode() if content is not None else upstream.content
        headers = [
            (k, v)
            for k, v in end_to_end(upstream.headers)
            if k.lower() not in {"content-length", "set-cookie", "content-encoding"}
        ]
        headers += [("content-length", str(len(body))), ("cache-control", "no-store")]
        headers += [("set-cookie", cookie) for cookie in cookies]
        await send(
            {
                "type": "http.response.start",
                "status": upstream.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def send_cleared(self, send: Send, status: int, content: dict[str, str]) -> None:
        body = json.dumps(content).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
        headers += [("set-cookie", cookie) for cookie in self.clearing_cookies()]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})
