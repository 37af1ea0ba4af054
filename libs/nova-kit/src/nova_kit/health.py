"""Liveness (``/health``) and readiness (``/ready``).

Liveness never looks at dependencies: a database outage must not make Kubernetes restart every
pod. Readiness runs the service's hard-dependency checks concurrently, each bounded by a short
timeout, and answers 503 naming what failed.
"""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Request, Response, route

from nova_kit.readiness import (
    READINESS_STATE_KEY,
    Check,
    CheckResult,
    NotReadyError,
    Readiness,
    readiness_report,
    run_check,
    run_checks,
)

__all__ = [
    "READINESS_STATE_KEY",
    "Check",
    "CheckResult",
    "NotReadyError",
    "Readiness",
    "health",
    "readiness_report",
    "ready",
    "run_check",
    "run_checks",
]


@route(
    "/health",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    include_in_schema=False,
    sync_to_thread=False,
    opt={"public": True},
)
def health() -> dict[str, str]:
    """Liveness: the process answers. Never checks dependencies."""
    return {"status": "ok"}


@route(
    "/ready",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    include_in_schema=False,
    opt={"public": True},
)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Readiness: every hard dependency answered within the timeout."""
    status, body = await readiness_report(request.app.state[READINESS_STATE_KEY])
    return Response(body, status_code=status, headers={"Cache-Control": "no-store"})
