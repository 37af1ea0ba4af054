"""A connection's writes in one turn of the event loop leave in one ``write``; none waits longer."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, cast

from nova_kit.server import COALESCE_LIMIT, CoalescingHttpToolsProtocol, CoalescingTransport
from nova_kit.testing.servers import ThreadedServer


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_writes_of_one_turn_leave_together_and_before_a_close() -> None:
    recorder = Recorder()
    transport = CoalescingTransport(cast("asyncio.Transport", recorder))
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"body")
    assert recorder.writes == []
    await asyncio.sleep(0)
    assert recorder.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    transport.close()
    assert recorder.writes[-1] == b"next"
    assert recorder.closed
    await asyncio.sleep(0)
    assert len(recorder.writes) == 2
    assert transport.get_extra_info("peername") == "info:peername"


async def test_a_large_answer_is_not_held() -> None:
    recorder = Recorder()
    transport = CoalescingTransport(cast("asyncio.Transport", recorder))
    transport.write(b"x" * COALESCE_LIMIT)
    assert recorder.writes == [b"x" * COALESCE_LIMIT]


async def slow_stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    if scope["path"] == "/slow":
        await asyncio.sleep(0.5)
    await send({"type": "http.response.body", "body": b"a" * 10, "more_body": True})
    await send({"type": "http.response.body", "body": b"b" * 100_000, "more_body": False})


def test_answers_stay_whole_and_a_head_is_not_held_for_a_slow_body() -> None:
    with ThreadedServer(slow_stream, http=CoalescingHttpToolsProtocol) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
            # two requests on one connection, the second with Connection: close
            client.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            client.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            received = b""
            head_seen_at = None
            started = time.monotonic()
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    break
                received += chunk
                if head_seen_at is None and received.count(b"HTTP/1.1 200") == 2:
                    head_seen_at = time.monotonic() - started
        answers = received.split(b"HTTP/1.1 200 OK\r\n")[1:]
        assert len(answers) == 2
        for answer in answers:
            head, _, body = answer.partition(b"\r\n\r\n")
            assert b"transfer-encoding: chunked" in head
            assert b"a" * 10 in body
            assert body.count(b"b") == 100_000
        assert head_seen_at is not None
        assert head_seen_at < 0.4  # the slow answer's head came before its body
