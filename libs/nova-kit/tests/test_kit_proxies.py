"""One trusted-proxy model: the client address is read through the configured proxies only."""

from __future__ import annotations

from typing import Any, cast

import pytest
from litestar.types import Message, ReceiveMessage, Scope

from nova_kit.proxies import client_host, resolve_client_addresses


async def resolved(trusted: str, peer: str, forwarded_for: str | None) -> str:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["client"] = client_host(scope)

    headers = [(b"x-forwarded-for", forwarded_for.encode())] if forwarded_for else []
    # Only the keys the resolver reads: a partial HTTP scope.
    scope = cast(
        "Scope", {"type": "http", "client": (peer, 40000), "headers": headers, "scheme": "http"}
    )

    async def receive() -> ReceiveMessage:
        raise AssertionError("the resolver reads no message")

    async def send(message: Message) -> None:
        raise AssertionError("the resolver sends no message")

    await resolve_client_addresses(app, trusted)(scope, receive, send)
    return str(seen["client"])


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded_for", "client"),
    [
        # by default nothing is trusted: a client cannot choose its address
        ("", "203.0.113.9", "1.2.3.4", "203.0.113.9"),
        ("", "127.0.0.1", "1.2.3.4", "127.0.0.1"),
        # the proxy in front (trusted) names the client
        ("10.0.0.0/8", "10.1.2.3", "203.0.113.7", "203.0.113.7"),
        # an entry the client put left of its real address is not believed
        ("10.0.0.0/8", "10.1.2.3", "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        # chains of trusted proxies are walked from the right
        ("10.0.0.0/8,127.0.0.1", "127.0.0.1", "203.0.113.7, 10.0.0.5", "203.0.113.7"),
        # an untrusted peer's header is ignored
        ("10.0.0.0/8", "203.0.113.9", "1.2.3.4", "203.0.113.9"),
        ("10.0.0.0/8", "10.1.2.3", None, "10.1.2.3"),
    ],
)
async def test_the_client_is_read_through_trusted_proxies_only(
    trusted: str, peer: str, forwarded_for: str | None, client: str
) -> None:
    assert await resolved(trusted, peer, forwarded_for) == client
