"""The ``nova-users`` command."""

from __future__ import annotations

from pathlib import Path

from nova_kit.cli import ServiceCLI, run
from nova_users.app import create_app
from nova_users.config import UsersSettings

MIGRATIONS = Path(__file__).parent / "migrations"

cli = ServiceCLI("users", UsersSettings, create_app, migrations_dir=MIGRATIONS)


def main() -> None:
    run(cli)
