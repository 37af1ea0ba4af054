"""The client address of a request, seen through the proxies we trust (the gateway).

Rate limits per client address need the address of the *client*, not of the gateway in front
of auth. When the direct peer is a trusted proxy (``NOVA_AUTH_TRUSTED_PROXIES``, by default
loopback and private networks, where the gateway runs), the address is the right-most entry of
``X-Forwarded-For`` that is not itself a trusted proxy; otherwise it is the peer, and a forged
``X-Forwarded-For`` from an untrusted peer is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted: list[IPNetwork] = [
            ipaddress.ip_network(network, strict=False) for network in trusted_proxies
        ]

    def is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> str | None:
        peer_address = _parse(peer) if peer else None
        if peer_address is None or not self.is_trusted(peer_address):
            return peer
        hops = [part for part in (forwarded_for or "").split(",") if part.strip()]
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:
                return peer  # a malformed chain: fall back to what we know
            if not self.is_trusted(address):
                return str(address)
        return str(_parse(hops[0])) if hops and _parse(hops[0]) else peer

    def of(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        peer = connection.client.host if connection.client else None
        return self.resolve(peer, connection.headers.get("x-forwarded-for"))
