"""The one place the gateway reaches into a library's internals (ADR 0014).

Each entry says what it does, why no public API does it, and the versions it was checked against
in :data:`CHECKED_VERSIONS`; ``services/gateway/tests/test_gateway_compat.py`` fails loudly when
an installed version leaves that range, so an upgrade re-checks the code here first.
"""

from __future__ import annotations

import aiohttp

CHECKED_VERSIONS = {"aiohttp": ">=3.14,<3.15"}


def never_resend(session: aiohttp.ClientSession) -> aiohttp.ClientSession:
    """Stop ``session`` from sending a request a second time on its own.

    aiohttp re-sends a GET, HEAD, PUT, DELETE, OPTIONS or TRACE whose kept-alive connection broke
    (RFC 9112 §9.3.1 allows it) and offers no option to turn that off: the switch is the private
    ``ClientSession._retry_connection``, which aiohttp's own test client sets. The REST proxy
    decides itself what may be retried (only idempotent requests that never reached the
    upstream, within the route's budget), and a second, silent send would double a non-safe
    PUT or DELETE and hide the failure from the proxy's metrics.
    """
    if not hasattr(session, "_retry_connection"):  # pragma: no cover - only on a moved aiohttp
        raise RuntimeError(
            f"aiohttp {aiohttp.__version__} has no ClientSession._retry_connection: "
            "re-check nova_gateway.compat (ADR 0014)"
        )
    session._retry_connection = False
    return session
