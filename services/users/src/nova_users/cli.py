"""The ``nova-users`` command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nova_kit.cli import ServiceCLI, run
from nova_users.app import create_app
from nova_users.config import UsersSettings

MIGRATIONS = Path(__file__).parent / "migrations"

cli = ServiceCLI("users", UsersSettings, create_app, migrations_dir=MIGRATIONS)


def export_sdl(_: argparse.Namespace, __: Any) -> None:
    from nova_users.graphql import export_sdl as render_sdl

    print(render_sdl())


cli.command(
    "export-sdl",
    export_sdl,
    help="print the GraphQL subgraph SDL (no server or database needed)",
    needs_settings=False,
)


def main() -> None:
    run(cli)
