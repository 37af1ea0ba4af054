"""GraphQL errors the gateway adds to a response, as plain JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Path = list[str | int]
ErrorDict = dict[str, Any]

DOWNSTREAM_SERVICE_ERROR = "DOWNSTREAM_SERVICE_ERROR"


class SubgraphFetchError(Exception):
    """A subgraph request that produced no usable GraphQL response."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def graphql_error(
    message: str, *, path: Sequence[str | int] | None = None, **extensions: Any
) -> ErrorDict:
    error: ErrorDict = {"message": message}
    if path is not None:
        error["path"] = list(path)
    if extensions:
        error["extensions"] = extensions
    return error


def subgraph_error(raw: object, service: str, path: Sequence[str | int] | None) -> ErrorDict:
    """A subgraph's GraphQL error, re-pathed for the client and tagged with the subgraph name."""
    source = raw if isinstance(raw, dict) else {}
    message = source.get("message")
    error: ErrorDict = {
        "message": message if isinstance(message, str) else f"error in subgraph {service}"
    }
    if path is not None:
        error["path"] = list(path)
    raw_extensions = source.get("extensions")
    extensions = dict(raw_extensions) if isinstance(raw_extensions, dict) else {}
    extensions.setdefault("code", DOWNSTREAM_SERVICE_ERROR)
    extensions["serviceName"] = service
    error["extensions"] = extensions
    return error
