"""The hand-written migrations create exactly what the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from nova_kit.db import async_url
from nova_worker.models import Base


async def test_migrations_match_the_models(worker_database_url: str) -> None:
    engine = create_async_engine(async_url(worker_database_url), poolclass=NullPool)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _: type_ != "schema" or name == "worker",
                "include_object": lambda obj, name, type_, *_: (
                    not (type_ == "table" and name in ("alembic_version", "worker_effects"))
                ),
                "compare_type": True,
                "version_table_schema": "worker",
            },
        )
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()
