"""Readiness checks without a web framework: the checks ``/ready`` runs, and its answer.

``nova_kit.health`` serves them as Litestar routes; the worker's probe endpoint, which is no
Litestar app, uses this module alone and so never imports Litestar (its processes stay small).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

HTTP_200_OK = HTTPStatus.OK.value
HTTP_503_SERVICE_UNAVAILABLE = HTTPStatus.SERVICE_UNAVAILABLE.value

Check = Callable[[], Awaitable[object]]
"""A readiness check: returns (anything, e.g. details) when healthy, raises when not."""


class NotReadyError(Exception):
    """What a check raises to fail with its message alone as the detail (``"starting"``)."""


READINESS_STATE_KEY = "nova_readiness"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    duration_ms: float


async def run_check(name: str, check: Check, timeout: float) -> CheckResult:
    start = time.perf_counter()
    try:
        result = await asyncio.wait_for(check(), timeout=timeout)
    except TimeoutError:
        ok, detail = False, f"timed out after {timeout:g}s"
    except NotReadyError as error:
        ok, detail = False, str(error)
    except Exception as error:
        ok, detail = False, f"{type(error).__name__}: {error}"[:300]
    else:
        ok, detail = True, "ok" if result is None or result is True else str(result)
    return CheckResult(name, ok, detail, round((time.perf_counter() - start) * 1000, 2))


async def run_checks(checks: Mapping[str, Check], timeout: float) -> list[CheckResult]:
    return list(
        await asyncio.gather(*(run_check(name, check, timeout) for name, check in checks.items()))
    )


@dataclass(slots=True)
class Readiness:
    """The checks ``/ready`` runs, and whether the process is draining."""

    checks: dict[str, Check]
    timeout: float = 1.0
    draining: bool = False


async def readiness_report(readiness: Readiness) -> tuple[int, dict[str, Any]]:
    """The status code and body of a readiness probe: every service's ``/ready``, and the
    worker's probe endpoint, which is no Litestar app."""
    if readiness.draining:
        return HTTP_503_SERVICE_UNAVAILABLE, {
            "status": "draining",
            "code": "not_ready",
            "message": "shutting down",
            "checks": {},
        }
    results = await run_checks(readiness.checks, readiness.timeout)
    checks = {r.name: {"ok": r.ok, "detail": r.detail, "ms": r.duration_ms} for r in results}
    failing = [r.name for r in results if not r.ok]
    if failing:
        return HTTP_503_SERVICE_UNAVAILABLE, {
            "status": "unavailable",
            "code": "not_ready",
            "message": f"unavailable: {', '.join(failing)}",
            "failing": failing,
            "checks": checks,
        }
    return HTTP_200_OK, {"status": "ready", "checks": checks}
