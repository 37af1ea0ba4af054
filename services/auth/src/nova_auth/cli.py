"""The ``nova-auth`` command."""

from __future__ import annotations

from pathlib import Path

from nova_kit.cli import ServiceCLI, run
from nova_auth.app import create_app
from nova_auth.config import AuthSettings

MIGRATIONS = Path(__file__).parent / "migrations"

cli = ServiceCLI("auth", AuthSettings, create_app, migrations_dir=MIGRATIONS)


def main() -> None:
    run(cli)
