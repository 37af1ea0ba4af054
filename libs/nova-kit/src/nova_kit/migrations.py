"""Alembic helpers: one schema and one version table per service, serialised by an advisory lock.

A service's ``migrations/env.py`` is two lines::

    from nova_kit.migrations import run_alembic_env
    run_alembic_env(Base.metadata)

and ``nova-<svc> migrate`` calls :func:`upgrade`. Alembic takes no lock of its own, so
:func:`run_alembic_env` holds ``pg_advisory_lock`` for the service's schema around the whole
run: two ``migrate`` processes started together (two Helm hook pods, two developers) apply the
history once, the second one finding nothing left to do.

A least-privilege role works: when the service's schema exists (created for the role, as the
chart's in-cluster PostgreSQL and the README's production recipe do) nothing needs ``CREATE`` on
the database — PostgreSQL checks that privilege before it looks at ``IF NOT EXISTS``. A failed
run reports PostgreSQL's own error: the lock is released after rolling the aborted transaction
back, never inside it.

:class:`SchemaAtHead` is the readiness check of a serving process: not ready while the schema is
behind the revisions the process was built with.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from nova_kit.db import DatabaseConfig, create_engine

VERSION_TABLE = "alembic_version"


def advisory_lock_key(schema: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock``, derived from the schema name."""
    digest = hashlib.sha256(f"nova-migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def alembic_config(migrations_dir: Path, database: DatabaseConfig) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(migrations_dir / "versions"))
    config.attributes["nova_database"] = database
    return config


def upgrade(migrations_dir: Path, database: DatabaseConfig, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (blocking; call from a CLI, not an event loop)."""
    command.upgrade(alembic_config(migrations_dir, database), revision)


def downgrade(migrations_dir: Path, database: DatabaseConfig, revision: str) -> None:
    command.downgrade(alembic_config(migrations_dir, database), revision)


def current_revision(migrations_dir: Path, database: DatabaseConfig) -> str | None:
    """The revision recorded in the service's version table, or ``None`` before the first run."""

    async def read() -> str | None:
        engine = create_engine(database, pooled=False)
        try:
            async with engine.connect() as connection:
                exists = await connection.scalar(
                    text("SELECT to_regclass(:table) IS NOT NULL"),
                    {"table": f"{database.schema}.{VERSION_TABLE}"},
                )
                if not exists:
                    return None
                result = await connection.scalar(
                    text(f'SELECT version_num FROM "{database.schema}".{VERSION_TABLE}')  # noqa: S608
                )
                return str(result) if result is not None else None
        finally:
            await engine.dispose()

    return asyncio.run(read())


class MigrationError(RuntimeError):
    """A migration run failed; the message is PostgreSQL's own error, with what to do about it."""


def _ensure_schema(connection: Connection, schema: str) -> None:
    """Create the schema only when it is missing (which needs ``CREATE`` on the database)."""
    exists = connection.scalar(
        text("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :schema)"),
        {"schema": schema},
    )
    if not exists:
        try:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        except DBAPIError as error:
            connection.rollback()
            raise MigrationError(
                f"schema {schema!r} does not exist and this role may not create it "
                f"({_postgres_error(error)}): create it for the role "
                f'(CREATE SCHEMA "{schema}" AUTHORIZATION <role>) or grant CREATE on the database'
            ) from error
    connection.commit()


def _postgres_error(error: BaseException) -> str:
    """PostgreSQL's message of a DBAPI error: the driver's exception class and text."""
    original = getattr(error, "orig", None) or error
    cause = getattr(original, "__cause__", None) or original
    return f"{type(cause).__name__}: {str(cause).strip()}"


def _run_locked(connection: Connection, metadata: MetaData, schema: str) -> None:
    key = advisory_lock_key(schema)
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
    connection.commit()
    try:
        _ensure_schema(connection, schema)
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            version_table=VERSION_TABLE,
            include_schemas=True,
            include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
            compare_type=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    except DBAPIError as error:
        connection.rollback()
        cause = _postgres_error(error)
        raise MigrationError(f"migrating schema {schema!r} failed: {cause}") from error
    except BaseException:
        connection.rollback()
        raise
    finally:
        # Outside any aborted transaction: the session lock outlives a rollback.
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        connection.commit()


async def _run_online(database: DatabaseConfig, metadata: MetaData) -> None:
    engine: AsyncEngine = create_engine(database, pooled=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_locked, metadata, database.schema)
    finally:
        await engine.dispose()


def run_alembic_env(metadata: MetaData) -> None:
    """The body of a service's ``migrations/env.py``."""
    database = context.config.attributes.get("nova_database")
    if not isinstance(database, DatabaseConfig):
        raise RuntimeError("run migrations through the service's `migrate` command")
    if context.is_offline_mode():
        context.configure(
            url=database.url.render_as_string(hide_password=True),
            target_metadata=metadata,
            version_table_schema=database.schema,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(database, metadata))


def script_revisions(migrations_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    """The head revisions of a migration history, and every revision in it (reads files only)."""
    versions = [str(migrations_dir / "versions")]
    script = ScriptDirectory(str(migrations_dir), version_locations=versions)
    known = frozenset(revision.revision for revision in script.walk_revisions())
    return frozenset(script.get_heads()), known


EngineProvider = Callable[[], "AsyncEngine | None"]


class SchemaAtHead:
    """Readiness check: the schema has reached the revisions this process was built with.

    Not ready while the version table is missing or holds a revision of this history that is not
    a head (migrations have not run yet). A revision this process does not know counts as ahead:
    during a rolling upgrade the pre-upgrade hook migrates first, and the old pods, built for an
    older head, must keep serving (migrations stay backward compatible for exactly that reason).
    Once at head the check stays green without querying again.
    """

    def __init__(self, migrations_dir: Path, schema: str, engine: EngineProvider, service: str):
        self.heads, self.known = script_revisions(migrations_dir)
        self.schema = schema
        self.engine = engine
        self.service = service
        self.reached = False

    async def __call__(self) -> str:
        if self.reached:
            return "at head"
        engine = self.engine()
        if engine is None:
            raise RuntimeError("the database engine is not started")
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT to_regclass(:table) IS NOT NULL"),
                {"table": f'"{self.schema}".{VERSION_TABLE}'},
            )
            current: set[str] = set()
            if exists:
                rows = await connection.execute(
                    text(f'SELECT version_num FROM "{self.schema}".{VERSION_TABLE}')  # noqa: S608
                )
                current = {str(row[0]) for row in rows}
        behind = not current or (current <= self.known and current != set(self.heads))
        if behind:
            at = ", ".join(sorted(current)) or "no revision"
            raise SchemaBehindError(
                f"schema {self.schema} at {at}, this build needs {', '.join(sorted(self.heads))}: "
                f"run `nova-{self.service} migrate`"
            )
        self.reached = True
        return "at head"


class SchemaBehindError(RuntimeError):
    """The schema is behind the build's head revision."""
