"""The client's address, seen through the proxies the deployment trusts: one setting, one
resolver, used by every service.

``NOVA_<SVC>_FORWARDED_ALLOW_IPS`` lists the peers (addresses or CIDRs, comma-separated; empty:
none, the default) whose ``X-Forwarded-For``/``X-Forwarded-Proto`` are believed. For a request
from such a peer the client is the right-most ``X-Forwarded-For`` entry that is not itself a
trusted proxy; from any other peer the headers are ignored and the client is the peer. The
resolved address replaces the ASGI ``client`` before anything else runs, so rate limits, logs
and sessions all see the same address (uvicorn's ``ProxyHeadersMiddleware`` does the parsing;
the kit applies it in the app rather than in the server so test clients see the same).

Who trusts whom: the gateway trusts the ingress in front of it (the chart's
``trustedProxies``); it forwards ``X-Forwarded-For: <client>`` alone, overwriting whatever the
client sent; the services behind it trust the gateway only. A client that sends its own
``X-Forwarded-For`` therefore changes nothing.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def resolve_client_addresses(app: ASGIApp, trusted: str) -> ASGIApp:
    """``app`` with the client address resolved through the ``trusted`` proxies."""
    if not trusted.strip():
        return app
    return ProxyHeadersMiddleware(app, trusted_hosts=trusted)  # type: ignore[arg-type,return-value]


def client_host(scope: Scope) -> str:
    """The (resolved) client address of a request, ``unknown`` when the server gave none."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
