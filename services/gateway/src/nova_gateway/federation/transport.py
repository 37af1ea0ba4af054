"""HTTP to the subgraphs: one pooled keep-alive client per subgraph, per-subgraph timeouts,
forwarded headers and fetch metrics. Mutations are never retried; a query is retried once when
the connection could not be opened (nothing reached the subgraph)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from nova_gateway.federation.errors import SubgraphFetchError
from nova_gateway.metrics import SUBGRAPH_FETCH_DURATION, SUBGRAPH_FETCHES

SUBREQUEST_HTTP_ERROR = "SUBREQUEST_HTTP_ERROR"
SUBREQUEST_TIMEOUT = "SUBREQUEST_TIMEOUT"
SUBREQUEST_MALFORMED_RESPONSE = "SUBREQUEST_MALFORMED_RESPONSE"


_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class SubgraphRequest:
    query: str
    variables: dict[str, Any]
    is_mutation: bool = False


@dataclass(frozen=True, slots=True)
class TransportConfig:
    default_timeout_seconds: float = 10.0
    timeouts: Mapping[str, float] = field(default_factory=dict)
    """Per-subgraph timeouts in seconds, by subgraph name."""
    max_connections: int = 100
    max_keepalive_connections: int = 20


class SubgraphTransport:
    """Sends subgraph requests. One instance per loaded supergraph URL set; close it to free
    the pools."""

    def __init__(self, urls: Mapping[str, str], config: TransportConfig) -> None:
        self.urls = dict(urls)
        self.config = config
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, service: str) -> httpx.AsyncClient:
        client = self._clients.get(service)
        if client is None:
            timeout = self.config.timeouts.get(service, self.config.default_timeout_seconds)
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeout),
                limits=httpx.Limits(
                    max_connections=self.config.max_connections,
                    max_keepalive_connections=self.config.max_keepalive_connections,
                ),
                trust_env=False,
            )
            self._clients[service] = client
        return client

    async def fetch(
        self, service: str, request: SubgraphRequest, headers: Mapping[str, str]
    ) -> dict[str, Any]:
        url = self.urls.get(service)
        if not url:
            raise SubgraphFetchError(SUBREQUEST_HTTP_ERROR, f"subgraph {service} has no URL")
        body = _ENCODER.encode({"query": request.query, "variables": request.variables})
        attempts = 1 if request.is_mutation else 2
        start = time.perf_counter()
        outcome = "error"
        try:
            for attempt in range(attempts):
                try:
                    response = await self._client(service).post(
                        url,
                        content=body,
                        headers={
                            **headers,
                            "content-type": "application/json",
                            "accept": "application/graphql-response+json, application/json",
                        },
                    )
                    break
                except httpx.ConnectError as error:
                    if attempt + 1 < attempts:
                        continue
                    raise SubgraphFetchError(
                        SUBREQUEST_HTTP_ERROR, f"subgraph {service} is unreachable: {error}"
                    ) from None
                except httpx.TimeoutException:
                    outcome = "timeout"
                    timeout = self.config.timeouts.get(service, self.config.default_timeout_seconds)
                    raise SubgraphFetchError(
                        SUBREQUEST_TIMEOUT, f"subgraph {service} timed out after {timeout:g}s"
                    ) from None
                except httpx.HTTPError as error:
                    raise SubgraphFetchError(
                        SUBREQUEST_HTTP_ERROR, f"request to subgraph {service} failed: {error}"
                    ) from None
            payload = _decode(service, response)
            outcome = "success"
            return payload
        finally:
            SUBGRAPH_FETCH_DURATION.labels(service, outcome).observe(time.perf_counter() - start)
            SUBGRAPH_FETCHES.labels(service, outcome).inc()

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _decode(service: str, response: httpx.Response) -> dict[str, Any]:
    try:
        payload = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        payload = None
    graphql_body = isinstance(payload, dict) and ("data" in payload or "errors" in payload)
    if response.status_code >= 400 and not graphql_body:
        raise SubgraphFetchError(
            SUBREQUEST_HTTP_ERROR,
            f"subgraph {service} answered HTTP {response.status_code}",
        )
    if not graphql_body:
        raise SubgraphFetchError(
            SUBREQUEST_MALFORMED_RESPONSE,
            f"subgraph {service} returned an invalid GraphQL response",
        )
    assert isinstance(payload, dict)
    return payload
