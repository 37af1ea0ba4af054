"""Embedded servers keep their data and never take over one another's data directory."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from nova_kit.embedded import EmbeddedPostgres, free_port


async def count_rows(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM kept"))
    finally:
        await connection.close()


async def create_rows(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2)")
    finally:
        await connection.close()


def test_data_survives_a_restart_and_a_second_stack_cannot_hijack_it(
    disposable_postgres: EmbeddedPostgres,
) -> None:
    asyncio.run(create_rows(disposable_postgres.url))

    intruder = EmbeddedPostgres(disposable_postgres.data_dir, port=free_port())
    with pytest.raises(RuntimeError, match="already running"):
        intruder.start()
    assert asyncio.run(count_rows(disposable_postgres.url)) == 2

    same = EmbeddedPostgres(disposable_postgres.data_dir, port=disposable_postgres.port)
    same.start()  # reuses the running server
    disposable_postgres.stop()
    disposable_postgres.start()
    assert asyncio.run(count_rows(disposable_postgres.url)) == 2
