"""The ``nova-worker`` command."""

from __future__ import annotations

from pathlib import Path

from nova_kit.cli import ServiceCLI, run
from nova_worker.app import create_app
from nova_worker.config import WorkerSettings

MIGRATIONS = Path(__file__).parent / "migrations"

cli = ServiceCLI("worker", WorkerSettings, create_app, migrations_dir=MIGRATIONS)


def main() -> None:
    run(cli)
