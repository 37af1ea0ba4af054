"""Alembic helpers: one schema and one version table per service, serialised by an advisory lock.

A service's ``migrations/env.py`` is two lines::

    from nova_kit.migrations import run_alembic_env
    run_alembic_env(Base.metadata)

and ``nova-<svc> migrate`` calls :func:`upgrade`. Alembic takes no lock of its own, so
:func:`run_alembic_env` holds ``pg_advisory_lock`` for the service's schema around the whole
run: two ``migrate`` processes started together (two Helm hook pods, two developers) apply the
history once, the second one finding nothing left to do.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
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


def _run_locked(connection: Connection, metadata: MetaData, schema: str) -> None:
    key = advisory_lock_key(schema)
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
    try:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
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
    finally:
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
