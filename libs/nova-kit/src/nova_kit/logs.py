"""JSON-lines logging carrying ``request_id`` and ``trace_id``, and the request-id middleware."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

if TYPE_CHECKING:  # Litestar's types only: processes without an HTTP app (the worker) skip it
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

HTTP_SCOPE: str = "http"
"""ASGI's ``scope["type"]`` of an HTTP request (Litestar's ``ScopeType.HTTP``)."""

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("nova_request_id", default=None)

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


def current_request_id() -> str | None:
    return request_id_var.get()


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service, ids, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = current_request_id()
        return f"{line} [request_id={request_id}]" if request_id else line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test captures, redirections), not at set-up."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        return


def configure_logging(service: str, level: str = "INFO", *, json_lines: bool = True) -> None:
    """Route every logger (ours, uvicorn's, SQLAlchemy's) through one stderr handler."""
    handler = _StderrHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The caller's request id if it is well-formed, else a fresh one."""
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return new_request_id()


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The request's id: its first ``X-Request-ID`` if well-formed, else a fresh one."""
    for name, value in headers:
        if name == b"x-request-id":
            return accept_request_id(value.decode("latin-1"))
    return new_request_id()


def with_request_id(
    headers: Iterable[tuple[bytes, bytes]], request_id: bytes
) -> list[tuple[bytes, bytes]]:
    """A response's headers with ``request_id`` as their only ``X-Request-ID``, last."""
    kept = [(k, v) for k, v in headers if k.lower() != b"x-request-id"]
    kept.append((b"x-request-id", request_id))
    return kept


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the request (or makes one), exposes it to logs and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != HTTP_SCOPE:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        echoed = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_request_id(message.get("headers", []), echoed)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


access_logger = logging.getLogger("nova.access")

QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})
"""Probe and scrape paths: logged at DEBUG only, or they would drown the rest."""


class AccessLogMiddleware:
    """One structured line per HTTP request, once the response is sent: ``method``, ``path``
    (never the query string, which may carry secrets), ``route`` (the matched template),
    ``status``, ``duration_ms``, ``bytes`` and ``request_id`` (the JSON formatter adds
    ``trace_id``). Headers (tokens, cookies) and bodies are never logged.

    It runs inside :class:`RequestIdMiddleware`, so the line carries the request's id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != HTTP_SCOPE:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = 0
        # Read now: routing replaces a mounted app's path with the part below its mount.
        method = str(scope.get("method", ""))
        path = str(scope.get("path", ""))

        async def send_logged(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            log_access(scope, method, path, status=status, started=started, sent=sent)


def log_access(
    scope: Scope, method: str, path: str, *, status: int, started: float, sent: int
) -> None:
    """The access-log line of a request answered ``status`` with ``sent`` body bytes, begun at
    ``started`` (``time.perf_counter()``)."""
    access_logger.log(
        logging.DEBUG if path in QUIET_PATHS else logging.INFO,
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "http_method": method,
            "path": path,
            "route": scope.get("path_template"),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "bytes": sent,
            "request_id": scope.get("state", {}).get("request_id"),
        },
    )
