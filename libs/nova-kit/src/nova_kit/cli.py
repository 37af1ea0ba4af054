"""The command line every service shares: ``serve``, ``migrate``, ``check-config``.

A service builds its console script from a :class:`ServiceCLI` and adds its own commands::

    cli = ServiceCLI("auth", AuthSettings, create_app, migrations_dir=MIGRATIONS)
    cli.command("export-sdl", export_sdl, help="print the GraphQL subgraph SDL")
    main = cli.main

Settings are loaded when a command runs (never at import), and a bad setting stops the command
with one line naming it. The database commands import ``nova_kit.db`` (``nova-kit[db]``) when
they run, so a service without a database loads no SQLAlchemy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nova_kit.settings import ServiceSettings, load_settings

if TYPE_CHECKING:  # a CLI without an HTTP app (the worker's) imports no Litestar
    from litestar import Litestar

Handler = Callable[[argparse.Namespace, Any], int | None]


@dataclass(slots=True)
class _Command:
    handler: Handler
    help: str
    configure: Callable[[argparse.ArgumentParser], None] | None
    needs_settings: bool


class ServiceCLI:
    def __init__(
        self,
        service: str,
        settings_cls: type[ServiceSettings],
        create_app: Callable[[Any], Litestar] | None = None,
        *,
        migrations_dir: Path | None = None,
    ) -> None:
        self.service = service
        self.settings_cls = settings_cls
        self.create_app = create_app
        self.migrations_dir = migrations_dir
        self._commands: dict[str, _Command] = {}
        if create_app is not None:
            self.command("serve", self._serve, help="run the HTTP server", configure=_serve_args)
        if migrations_dir is not None:
            self.command(
                "migrate", self._migrate, help="apply database migrations", configure=_migrate_args
            )
        self.command("check-config", self._check_config, help="validate settings and exit")

    def command(
        self,
        name: str,
        handler: Handler,
        *,
        help: str,
        configure: Callable[[argparse.ArgumentParser], None] | None = None,
        needs_settings: bool = True,
    ) -> None:
        self._commands[name] = _Command(handler, help, configure, needs_settings)

    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=f"nova-{self.service}")
        sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        for name, command in self._commands.items():
            child = sub.add_parser(name, help=command.help, description=command.help)
            if command.configure is not None:
                command.configure(child)
        return parser

    def main(self, argv: Sequence[str] | None = None) -> int:
        args = self.parser().parse_args(argv)
        command = self._commands[args.command]
        settings = load_settings(self.settings_cls) if command.needs_settings else None
        return command.handler(args, settings) or 0

    def _serve(self, args: argparse.Namespace, settings: ServiceSettings) -> None:
        from nova_kit.server import serve

        assert self.create_app is not None
        if args.port is not None:
            settings.port = args.port
        if args.host is not None:
            settings.host = args.host
        app = self.create_app(settings)
        if self.migrations_dir is not None:
            self._gate_readiness_on_migrations(app, settings)
        serve(app, settings)

    def _gate_readiness_on_migrations(self, app: Litestar, settings: ServiceSettings) -> None:
        """``/ready`` answers 503 until the service's schema is at this build's head revision."""
        from nova_kit.app import RUNTIME_STATE_KEY
        from nova_kit.db import validate_schema_name
        from nova_kit.health import READINESS_STATE_KEY
        from nova_kit.migrations import SchemaAtHead

        assert self.migrations_dir is not None

        def engine() -> Any:
            runtime = app.state.get(RUNTIME_STATE_KEY)
            return None if runtime is None else runtime.engine

        schema = validate_schema_name(settings.database_schema or settings.service_name)
        check = SchemaAtHead(self.migrations_dir, schema, engine, self.service)
        app.state[READINESS_STATE_KEY].checks.setdefault("migrations", check)

    def _migrate(self, args: argparse.Namespace, settings: ServiceSettings) -> int:
        from nova_kit import migrations
        from nova_kit.db import DatabaseConfig

        assert self.migrations_dir is not None
        database = DatabaseConfig.from_settings(settings)
        try:
            if args.revision.startswith("-"):
                migrations.downgrade(self.migrations_dir, database, args.revision)
            else:
                migrations.upgrade(self.migrations_dir, database, args.revision)
        except migrations.MigrationError as error:
            print(f"nova-{self.service} migrate: {error}", file=sys.stderr)
            return 1
        revision = migrations.current_revision(self.migrations_dir, database)
        print(f"nova-{self.service}: schema {database.schema} at revision {revision}")
        return 0

    def _check_config(self, _: argparse.Namespace, settings: ServiceSettings) -> None:
        print(f"nova-{self.service}: settings valid for environment {settings.environment}")


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="bind address (default from settings)")
    parser.add_argument("--port", type=int, default=None, help="port (default from settings)")


def _migrate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "revision",
        nargs="?",
        default="head",
        help="target revision (default: head; '-1' steps back one)",
    )


def run(cli: ServiceCLI) -> None:
    sys.exit(cli.main())
