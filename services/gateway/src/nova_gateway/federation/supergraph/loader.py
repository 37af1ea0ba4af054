"""Loading the supergraph from a file or URL, and reloading it when it changes.

A reload that fails (unreadable, not a valid supergraph) is logged and counted; the gateway
keeps serving the supergraph it has.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx

from nova_gateway.federation.supergraph.model import Supergraph, SupergraphError
from nova_gateway.federation.supergraph.parse import parse_supergraph
from nova_gateway.metrics import SUPERGRAPH_INFO, SUPERGRAPH_RELOADS

logger = logging.getLogger(__name__)


class SupergraphConsumer(Protocol):
    """What serves the supergraph the loader installs (the federation engine)."""

    @property
    def supergraph_hash(self) -> str | None: ...

    def install(self, supergraph: Supergraph) -> None: ...


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


async def read_supergraph(location: str, http: httpx.AsyncClient) -> str:
    if is_url(location):
        response = await http.get(location)
        response.raise_for_status()
        return response.text
    return await asyncio.to_thread(Path(location).read_text, encoding="utf-8")


class SupergraphLoader:
    def __init__(
        self,
        location: str,
        engine: SupergraphConsumer,
        http: httpx.AsyncClient,
        on_loaded: Callable[[], object] | None = None,
    ) -> None:
        self.location = location
        self.engine = engine
        self.http = http
        self.on_loaded = on_loaded
        """Called after each new supergraph is installed."""
        self.last_error: str | None = None
        self._seen_hash: str | None = None

    async def load(self) -> bool:
        """Load the supergraph if it changed; True when a new one is now served."""
        try:
            text = await read_supergraph(self.location, self.http)
        except (OSError, httpx.HTTPError) as error:
            return self._failed(f"cannot read supergraph {self.location}: {error}")
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest == self._seen_hash:
            SUPERGRAPH_RELOADS.labels("unchanged").inc()
            return False
        self._seen_hash = digest
        try:
            supergraph = parse_supergraph(text)
        except SupergraphError as error:
            return self._failed(f"supergraph {self.location} rejected: {error}")
        previous = self.engine.supergraph_hash
        self.engine.install(supergraph)
        if previous is not None:
            SUPERGRAPH_INFO.remove(previous)
        SUPERGRAPH_INFO.labels(supergraph.sdl_hash).set(1)
        SUPERGRAPH_RELOADS.labels("loaded").inc()
        self.last_error = None
        logger.info(
            "supergraph loaded",
            extra={"sha256": supergraph.sdl_hash, "subgraphs": sorted(supergraph.subgraphs)},
        )
        if self.on_loaded is not None:
            self.on_loaded()
        return True

    def _failed(self, message: str) -> bool:
        self.last_error = message
        SUPERGRAPH_RELOADS.labels("failed").inc()
        logger.error(message)
        return False

    async def poll(self, interval_seconds: float) -> None:
        """Reload every ``interval_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.load()
            except Exception:
                logger.exception("supergraph reload crashed")
