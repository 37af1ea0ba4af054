"""scripts/devstack.py (``make dev``): a warm start finds the schemas at head and migrates nothing;
a schema behind (new revisions pulled, or a fresh database) is migrated, and only that one."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from nova_kit import migrations
from nova_kit.db import DatabaseConfig, async_url
from nova_kit.testing.backends import (
    Server,
    database_name_for_worker,
    recreate_database,
    with_database,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import devstack


@pytest.fixture
def dev_env(
    postgres_server: Server, worker_id_label: str, test_run_id: str
) -> Iterator[dict[str, str]]:
    """A database of its own, empty, as ``make dev`` finds it on its first run."""
    name = database_name_for_worker(f"{worker_id_label}devstack", test_run_id)
    asyncio.run(recreate_database(postgres_server.url, name))
    yield {"DATABASE_URL": with_database(postgres_server.url, name)}

    async def drop() -> None:
        connection = await asyncpg.connect(postgres_server.url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    with contextlib.suppress(OSError, asyncpg.PostgresError):
        asyncio.run(drop())


def test_every_schema_is_behind_until_migrated_then_none(dev_env: dict[str, str]) -> None:
    assert devstack.behind_head(dev_env) == ["auth", "users", "worker"]
    devstack.migrate_all(dev_env, ["auth"])
    assert devstack.behind_head(dev_env) == ["users", "worker"]
    devstack.migrate_all(dev_env, ["users", "worker"])
    assert devstack.behind_head(dev_env) == []


def test_a_schema_one_revision_behind_is_migrated_and_the_others_left_alone(
    dev_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    kept = tmp_path / "dev-admin.json"
    kept.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(devstack, "ADMIN_CREDENTIALS", kept)
    devstack.migrate_all(dev_env)
    auth = DatabaseConfig(url=async_url(dev_env["DATABASE_URL"]), schema="auth")
    migrations.downgrade(devstack.migrations_dir("auth"), auth, "-1")
    assert devstack.behind_head(dev_env) == ["auth"]
    capsys.readouterr()

    seed = devstack.prepare_database(dev_env)

    assert seed is None  # credentials are kept: the seed runs after the ready banner
    assert devstack.behind_head(dev_env) == []
    said = capsys.readouterr().out
    assert "schema auth migrated" in said
    assert "users" not in said
    assert "worker" not in said
