"""JSON error answers sent straight from the edge, in the shape every Nova service uses."""

from __future__ import annotations

import json
from collections.abc import Sequence

from litestar.types import HTTPResponseStartEvent, Send

from nova_kit.errors import error_body


async def send_json_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
) -> None:
    body = json.dumps(error_body(code, message)).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
