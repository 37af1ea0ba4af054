"""One HTTP/1.1 exchange on a plain socket, for what HTTP clients hide (a ``HEAD`` body)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    """Every byte the server sent after the header block (the connection is closed)."""

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def raw_request(url: str, method: str = "GET", timeout: float = 10.0) -> RawResponse:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    request = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    chunks: list[bytes] = []
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(request.encode("ascii"))
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [
        (key.strip(), value.strip()) for key, _, value in (line.partition(":") for line in lines)
    ]
    return RawResponse(int(status_line.split()[1]), headers, body)
