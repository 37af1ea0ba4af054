"""Errors are part of the API: every error body is ``{"code", "message"[, "details"]}``.

Services raise :class:`AppError` (or a subclass) with a stable machine-readable ``code``;
Litestar's own exceptions are mapped to the same shape; a database or Redis that cannot be
reached (or a pool with no free connection) is a 503 the client may retry; anything else
unexpected is logged with the request id and masked as ``internal_error``.

One policy for bad input in every service: a body that cannot be read (malformed JSON, not
UTF-8) is 400 ``bad_request``; a body that parses but breaks the fields' rules is 422
``validation_error`` with ``details: [{field, message}]``.
"""

from __future__ import annotations

import logging
import re
import sys
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from nova_kit.logs import current_request_id

logger = logging.getLogger(__name__)

_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(.+)`$")
_AT_PATH = re.compile(r"^(.*) - at `\$\.?([^`]*)`$", re.DOTALL)
BODY_PARAMETER = "data"
"""The name Litestar gives a handler's body: a problem with the whole body is reported there."""


class AppError(Exception):
    """An expected failure with a stable ``code`` the client can branch on."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details
        self.headers = headers or {}


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class UnauthorizedError(AppError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"


_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    431: "request_header_fields_too_large",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def code_for_status(status: int) -> str:
    return _CODES_BY_STATUS.get(status, "client_error" if status < 500 else "server_error")


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    return body


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    return Response(
        content=error_body(code, message, details),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


async def plain_errors_as_json(response: Response[Any]) -> Response[Any]:
    """``after_request`` hook: a 4xx that a handler answered as plain text (Strawberry's GraphQL
    view does, for a body it cannot read or a method it does not serve) gets the JSON error
    shape every other error has. Async, so Litestar does not hand it to a thread every time."""
    declared = getattr(response, "media_type", None)
    if declared is None:
        return response  # an ASGI response already (static files): never a plain-text error
    status = response.status_code or 200
    media_type = str(getattr(declared, "value", declared))
    if not 400 <= status < 500 or not media_type.startswith("text/plain"):
        return response
    content = response.content
    text = content.decode(errors="replace") if isinstance(content, bytes) else str(content or "")
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return error_response(
        status, code_for_status(status), text or HTTPStatus(status).phrase, headers=headers
    )


def _app_error(_: Request[Any, Any, Any], exc: AppError) -> Response[dict[str, Any]]:
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


def _field(path: str, message: str) -> str:
    """The field a problem is about: an unknown field is named itself (``email``, not the
    object holding it), whichever library decoded the body."""
    unknown = _UNKNOWN_FIELD.match(message)
    if unknown:
        parent = "" if path in {"", BODY_PARAMETER} else path
        return f"{parent}.{unknown[1]}" if parent else unknown[1]
    return path or "body"


def decode_error_details(error: msgspec.ValidationError) -> dict[str, str]:
    """``{field, message}`` of msgspec's decoding error (``"... - at `$.bio`"``)."""
    text = str(error)
    located = _AT_PATH.match(text)
    path, message = (located[2], located[1]) if located else ("", text)
    return {"field": _field(path, message), "message": message}


def field_errors(exc: ValidationException) -> list[dict[str, str]]:
    """Litestar's validation details as ``[{field, message}]`` (``field`` is ``body`` when the
    whole body is wrong)."""
    details: list[dict[str, str]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid")).removeprefix("Value error, ")
            field = _field(str(item.get("key") or item.get("source") or ""), message)
            details.append({"field": field, "message": message})
    if details:
        return details
    missing = _MISSING_PARAMETER.search(exc.detail or "")
    if missing:
        return [
            {"field": missing.group(2), "message": f"missing required {missing.group(1)} parameter"}
        ]
    return [{"field": "body", "message": exc.detail or "invalid request"}]


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    details = field_errors(exc)
    summary = "; ".join(f"{entry['field']}: {entry['message']}" for entry in details)
    return error_response(422, "validation_error", summary[:500], details)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= 500:
        # A server-side failure's text is for the logs, never for the client.
        logger.error("server error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(status, code_for_status(status), HTTPStatus(status).phrase)
    message = exc.detail or HTTPStatus(status).phrase
    headers = dict(exc.headers or {})
    return error_response(status, code_for_status(status), message, headers=headers)


DEPENDENCY_RETRY_AFTER_SECONDS = "1"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (``__cause__``, ``__context__``, SQLAlchemy's ``orig``)."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < 16:
        current = pending.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        orig = getattr(current, "orig", None)
        pending += [current.__cause__, current.__context__]
        if isinstance(orig, BaseException):
            pending.append(orig)
    return seen


def _raised_in(exc: BaseException) -> set[str]:
    """Top-level packages of the frames an exception passed through (a bare
    ``ConnectionRefusedError`` raised inside asyncpg's connect is a database failure)."""
    packages: set[str] = set()
    traceback = exc.__traceback__
    for _ in range(200):
        if traceback is None:
            break
        module = traceback.tb_frame.f_globals.get("__name__", "")
        packages.add(str(module).split(".", 1)[0])
        traceback = traceback.tb_next
    return packages


def dependency_failure(exc: BaseException) -> tuple[str, str] | None:
    """``(code, message)`` when ``exc`` means PostgreSQL or Redis is out of reach or saturated:
    the request did nothing wrong and may be retried shortly."""
    # Only a process that loaded SQLAlchemy (nova-kit[db]) can have raised one of its errors.
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None and isinstance(exc, sqlalchemy_errors.TimeoutError):
        return "database_busy", "no database connection became free in time; retry shortly"
    causes = _causes(exc)
    names = {type(cause).__name__ for cause in causes}
    modules = {type(cause).__module__.split(".", 1)[0] for cause in causes}
    modules |= {module for cause in causes for module in _raised_in(cause)}
    if "QueryCanceledError" in names:
        return "database_timeout", "the database did not answer in time; retry shortly"
    if "redis" in modules and names & {"ConnectionError", "TimeoutError", "BusyLoadingError"}:
        return "redis_unavailable", "a backing store is unavailable; retry shortly"
    connection_lost = {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "CrashShutdownError",
        "TooManyConnectionsError",
        "InterfaceError",
        # asyncpg's protocol out of step with the server: a backend terminated while the
        # connection sat in the pool is sometimes seen this way on its next use
        "InternalClientError",
    }
    database = bool(modules & {"asyncpg", "sqlalchemy"})
    if database and (
        names & connection_lost
        or any(isinstance(cause, OSError | TimeoutError) for cause in causes)
        or any(getattr(cause, "connection_invalidated", False) for cause in causes)
    ):
        return "database_unavailable", "the database is unavailable; retry shortly"
    return None


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    failure = dependency_failure(exc)
    if failure is not None:
        code, message = failure
        logger.warning(
            "%s on %s %s: %s",
            code,
            request.method,
            request.scope.get("path_template", request.url.path),
            exc,
        )
        return error_response(
            503, code, message, headers={"Retry-After": DEPENDENCY_RETRY_AFTER_SECONDS}
        )
    logger.error(
        "unhandled error on %s %s",
        request.method,
        request.scope.get("path_template", request.url.path),
        exc_info=exc,
    )
    return error_response(500, "internal_error", "internal error; quote the request id to support")


def exception_handlers() -> ExceptionHandlersMap:
    return {
        AppError: _app_error,
        ValidationException: _validation_error,
        HTTPException: _http_error,
        Exception: _unexpected_error,
    }
