"""The ``nova-gateway`` command."""

from __future__ import annotations

from nova_kit.cli import ServiceCLI, run
from nova_gateway.app import create_app
from nova_gateway.config import GatewaySettings

cli = ServiceCLI("gateway", GatewaySettings, create_app)


def main() -> None:
    run(cli)
