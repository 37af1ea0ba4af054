"""``nova_gateway.compat`` reaches into aiohttp: pinned to the versions it was checked against,
and checked to do what it says (a broken kept-alive connection is not sent on again)."""

from __future__ import annotations

import asyncio
from importlib.metadata import version

import aiohttp
import pytest
from packaging.specifiers import SpecifierSet

from nova_gateway import compat


def test_aiohttp_is_a_version_the_switch_was_checked_against() -> None:
    for name, checked in compat.CHECKED_VERSIONS.items():
        installed = version(name)
        assert installed in SpecifierSet(checked), (
            f"{name} {installed} is outside {checked}: re-check nova_gateway.compat (ADR 0014)"
        )


async def serve_once_then_drop(arrivals: list[bytes]) -> asyncio.Server:
    """Answers the first request on a connection and keeps it open; every later request on
    it is read and then dropped without an answer (a kept-alive connection that broke)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = False
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrivals.append(head.split(b"\r\n", 1)[0])
            if answered:
                writer.close()
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            answered = True

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize("switched", [True, False])
async def test_a_request_on_a_broken_kept_alive_connection_is_sent_once(switched: bool) -> None:
    arrivals: list[bytes] = []
    server = await serve_once_then_drop(arrivals)
    port = server.sockets[0].getsockname()[1]
    session = aiohttp.ClientSession()
    if switched:
        compat.never_resend(session)
    try:
        async with session.get(f"http://127.0.0.1:{port}/first") as response:
            assert await response.text() == "ok"
        if switched:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                async with session.delete(f"http://127.0.0.1:{port}/second"):
                    pass
            assert arrivals == [b"GET /first HTTP/1.1", b"DELETE /second HTTP/1.1"]
        else:
            # what aiohttp does on its own: the DELETE is sent again on a new connection
            async with session.delete(f"http://127.0.0.1:{port}/second") as response:
                assert response.status == 200
            assert arrivals.count(b"DELETE /second HTTP/1.1") == 2
    finally:
        await session.close()
        server.close()
        await server.wait_closed()
