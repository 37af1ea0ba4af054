"""The edge's HTTP client: one pooled aiohttp session for every REST route and session exchange.

It relays, it does not interpret: bodies arrive as the upstream encoded them (no decompression,
``Content-Encoding`` kept), no ``Accept``/``Accept-Encoding``/``User-Agent``/``Content-Type``
is added that the client did not send, redirects are the client's to follow and no cookie jar
sits between users. Upstream response heads are accepted up to 100 KiB, as before (h11's limit
in httpcore); aiohttp's own defaults would refuse any header line over 8 KiB.

At most ``max_connections`` requests are in flight upstream at once. A request waits for a free
slot no longer than its route's connect timeout, then gets 503 ``upstream_busy``: the slot is
counted here, not inside aiohttp's connector, so that a wait for the pool is told apart from an
upstream that is slow to accept connections (504).
"""

from __future__ import annotations

import asyncio

import aiohttp

from nova_gateway.compat import never_resend
from nova_gateway.federation.execution.transport import client_session

MAX_CONNECTIONS = 500
KEEPALIVE_SECONDS = 4.0
"""Idle connections are closed before uvicorn's default keep-alive (5 s) would drop them."""
MAX_RESPONSE_HEAD_BYTES = 100 * 1024
MAX_RESPONSE_HEADERS = 1024
ADDED_BY_DEFAULT = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
"""Headers aiohttp would add to a request on its own."""


class UpstreamBusyError(Exception):
    """No slot for an upstream request freed up within the route's connect timeout."""


class UpstreamClient:
    """The shared session and its in-flight limit. Build it on the running event loop."""

    def __init__(self, max_connections: int = MAX_CONNECTIONS) -> None:
        self.session = client_session(
            max_connections=max_connections,
            keepalive_seconds=KEEPALIVE_SECONDS,
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=False,
            skip_auto_headers=ADDED_BY_DEFAULT,
            max_line_size=MAX_RESPONSE_HEAD_BYTES,
            max_field_size=MAX_RESPONSE_HEAD_BYTES,
            max_headers=MAX_RESPONSE_HEADERS,
        )
        # the proxy retries only idempotent requests that never reached the upstream
        never_resend(self.session)
        self._slots = asyncio.Semaphore(max_connections)

    async def acquire(self, wait: float) -> None:
        """Take an in-flight slot; ``UpstreamBusyError`` after ``wait`` seconds without one."""
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
        except TimeoutError:
            raise UpstreamBusyError from None

    def release(self) -> None:
        self._slots.release()

    async def close(self) -> None:
        await self.session.close()
