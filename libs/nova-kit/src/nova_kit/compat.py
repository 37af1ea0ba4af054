"""The one place the kit reaches into a library's internals (ADR 0014).

Each entry says what it does, why no public API does it, and the versions it was checked against
in :data:`CHECKED_VERSIONS`; ``libs/nova-kit/tests/test_kit_compat.py`` fails loudly when an
installed version leaves that range, so an upgrade re-checks the code here first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.types import ASGIApp

if TYPE_CHECKING:
    from starlette_admin.base import BaseAdmin

CHECKED_VERSIONS = {"litestar": ">=2.25,<2.26", "starlette-admin": ">=1.0.3,<1.1"}


def wrap_asgi_handler(app: Litestar, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put ``wrap`` around everything Litestar does for a request after routing starts.

    ``Litestar.asgi_handler`` is the router wrapped in the exception handler (and CORS): the
    application's ``middleware`` only runs for matched routes, so a 404, a 405 or a request the
    router refuses would carry no request id, no security headers and no metrics. Wrapping the
    Litestar object from outside would do the same, but every ``TestClient(app)`` and every
    server would then have to be handed the wrapper instead of the app. The attribute is set in
    ``Litestar.__init__`` and called from ``Litestar.__call__`` for every HTTP and WebSocket
    scope (not for lifespan), which is what this relies on.
    """
    handler = getattr(app, "asgi_handler", None)
    if handler is None:  # pragma: no cover - only on a Litestar that moved the attribute
        raise RuntimeError(
            "Litestar no longer has Litestar.asgi_handler: re-check nova_kit.compat (ADR 0014)"
        )
    app.asgi_handler = wrap(handler)


def litestar_accepts_host(host: bytes) -> bool:
    """Whether Litestar's router lets a request with this ``Host`` through (it answers 400 to
    the others before routing). A server answering some routes without the router (the
    gateway's hot path, ADR 0028) hands the others to it; the check lives in
    ``litestar._asgi.utils`` only."""
    from litestar._asgi.utils import is_valid_host

    return is_valid_host(host)


def without_starlette_admin_csrf(admin: BaseAdmin) -> None:
    """Take starlette-admin's own CSRF check out of an admin before it is mounted.

    Its double-submit cookie (``starlette_admin_csrftoken``, ``Path=/``) is signed with a key of
    each process: behind a load balancer a page served by one replica fails its actions on the
    next, and two admins on one host overwrite each other's cookie. Nova's admins need none of
    it: a service accepts only the ``Authorization`` header, which a browser never sends on its
    own, and the gateway applies its CSRF rules to every cookie-authenticated write (ADR 0019).
    ``BaseAdmin.__init__`` appends the middleware to ``admin.middlewares``, which
    ``mount_to`` builds the admin's app from; no argument leaves it out.
    """
    from starlette_admin.security.csrf import CSRFMiddleware

    kept = [m for m in admin.middlewares if getattr(m, "cls", None) is not CSRFMiddleware]
    if len(kept) != len(admin.middlewares) - 1:  # pragma: no cover - a moved middleware
        raise RuntimeError(
            "starlette-admin no longer adds one CSRFMiddleware: re-check nova_kit.compat (ADR 0014)"
        )
    admin.middlewares = kept
