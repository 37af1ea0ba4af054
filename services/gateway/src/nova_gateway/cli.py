"""The ``nova-gateway`` command: ``serve [--supergraph FILE_OR_URL] [--port N]`` and the shared
commands."""

from __future__ import annotations

import argparse

from nova_gateway.app import create_app
from nova_gateway.config import GatewaySettings
from nova_kit.cli import ServiceCLI, run
from nova_kit.server import serve


class GatewayCLI(ServiceCLI):
    def __init__(self) -> None:
        super().__init__("gateway", GatewaySettings, create_app)
        self.command("serve", self._serve_gateway, help="run the gateway", configure=_serve_args)

    def _serve_gateway(self, args: argparse.Namespace, settings: GatewaySettings) -> None:
        if args.supergraph is not None:
            settings.supergraph = args.supergraph
        if args.port is not None:
            settings.port = args.port
        if args.host is not None:
            settings.host = args.host
        serve(create_app(settings), settings)


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="bind address (default from settings)")
    parser.add_argument("--port", type=int, default=None, help="port (default from settings)")
    parser.add_argument(
        "--supergraph",
        default=None,
        help="supergraph file or http(s) URL (default: NOVA_GATEWAY_SUPERGRAPH)",
    )


cli = GatewayCLI()


def main() -> None:
    run(cli)
