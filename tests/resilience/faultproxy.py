"""A small fault-injecting TCP proxy for the resilience suite: put it between a client and a
server on loopback and switch it, at any moment, between passing bytes, adding latency,
swallowing everything (blackhole) and resetting connections.

It runs its own event loop in a thread, so the test's loop (and its load) is not disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from enum import StrEnum

from nova_kit.embedded import free_port

CHUNK = 65_536


class Fault(StrEnum):
    NONE = "none"
    LATENCY = "latency"
    """Every chunk, both ways, waits ``latency_seconds`` before it is forwarded."""
    BLACKHOLE = "blackhole"
    """Connections are accepted and read, nothing is forwarded or answered."""
    RESET = "reset"
    """Every connection, open or new, is closed with a TCP reset."""


class FaultProxy:
    """``127.0.0.1:<port>`` → ``127.0.0.1:<target_port>``, with a switchable fault."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.fault = Fault.NONE
        self.latency_seconds = 0.0
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    def set(self, fault: Fault, latency_seconds: float = 0.0) -> None:
        """Switch the fault; ``RESET`` also resets the connections open now."""
        self.latency_seconds = latency_seconds
        self.fault = fault
        if fault is Fault.RESET:
            asyncio.run_coroutine_threadsafe(self._reset_all(), self._loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            await self._reset_all()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _reset_all(self) -> None:
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.fault is Fault.RESET:
            _reset(writer)
            return
        self._writers.add(writer)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            _reset(writer)
            self._writers.discard(writer)
            return
        self._writers.add(upstream_writer)
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        finally:
            for end in (writer, upstream_writer):
                self._writers.discard(end)
                with contextlib.suppress(Exception):
                    end.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, RuntimeError):
            for _ in range(10_000_000):
                data = await reader.read(CHUNK)
                if not data:
                    break
                if self.fault is Fault.BLACKHOLE:
                    continue
                if self.fault is Fault.LATENCY and self.latency_seconds > 0:
                    await asyncio.sleep(self.latency_seconds)
                if writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0) instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        writer.close()
