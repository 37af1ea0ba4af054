"""GraphQL errors the gateway adds to a response, as plain JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Path = list[str | int]
ErrorDict = dict[str, Any]

DOWNSTREAM_SERVICE_ERROR = "DOWNSTREAM_SERVICE_ERROR"
INTERNAL_ALIAS_PREFIX = "_nova_"
TYPE_ALIAS_PREFIX = f"{INTERNAL_ALIAS_PREFIX}as"
"""``_nova_as<N>_<key>``: the N-th type under which sibling fragments of one subgraph query
select ``key``; renamed back to ``key`` as soon as the answer arrives."""
"""Response keys the planner gives to fields it adds (keys, ``@requires``) when the client
already uses their name for another field; never shown to the client."""


class PlanningError(ValueError):
    """The operation cannot be planned over this supergraph."""


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
        error["path"] = _client_path(path)
    raw_extensions = source.get("extensions")
    extensions = dict(raw_extensions) if isinstance(raw_extensions, dict) else {}
    extensions.setdefault("code", DOWNSTREAM_SERVICE_ERROR)
    extensions["serviceName"] = service
    error["extensions"] = extensions
    return error


def _client_path(path: Sequence[str | int]) -> list[str | int]:
    """``path`` cut before the first field the client did not ask for."""
    client: list[str | int] = []
    for segment in path:
        if isinstance(segment, str) and segment.startswith(INTERNAL_ALIAS_PREFIX):
            break
        client.append(segment)
    return client
