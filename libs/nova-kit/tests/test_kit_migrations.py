"""Per-schema Alembic histories, serialised by an advisory lock."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import MetaData

from nova_kit import migrations
from nova_kit.db import DatabaseConfig, async_url

ENV_PY = """
from sqlalchemy import MetaData
from nova_kit.migrations import run_alembic_env
run_alembic_env(MetaData(schema="{schema}"))
"""

SLOW_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT pg_sleep(1)")
    op.create_table("things", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")
    op.execute("INSERT INTO {schema}.applied_log DEFAULT VALUES")


def downgrade() -> None:
    op.drop_table("things", schema="{schema}")
"""

LOG_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "0000"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("applied_log", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")


def downgrade() -> None:
    op.drop_table("applied_log", schema="{schema}")
"""


def write_history(root: Path, schema: str) -> Path:
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY.format(schema=schema))
    (versions / "0000_log.py").write_text(textwrap.dedent(LOG_MIGRATION).format(schema=schema))
    slow = SLOW_MIGRATION.replace("down_revision = None", 'down_revision = "0000"')
    (versions / "0001_things.py").write_text(textwrap.dedent(slow).format(schema=schema))
    return root


def test_two_concurrent_migrate_runs_apply_the_history_once(
    database_url: str, tmp_path: Path
) -> None:
    """Two processes (two Helm hook pods, two developers) migrate the same schema at once."""
    schema = "kit_concurrent"
    directory = write_history(tmp_path / "migrations", schema)
    config = DatabaseConfig(url=async_url(database_url), schema=schema)
    program = (
        "import sys; from pathlib import Path; from nova_kit import migrations; "
        "from nova_kit.db import DatabaseConfig, async_url; "
        "config = DatabaseConfig(url=async_url(sys.argv[2]), schema=sys.argv[3]); "
        "migrations.upgrade(Path(sys.argv[1]), config)"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", program, str(directory), database_url, schema],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert migrations.current_revision(directory, config) == "0001"

    async def inspect() -> tuple[int, int]:
        connection = await asyncpg.connect(database_url)
        try:
            applied = await connection.fetchval(f"SELECT count(*) FROM {schema}.applied_log")
            versions = await connection.fetchval(f"SELECT count(*) FROM {schema}.alembic_version")
            return int(applied), int(versions)
        finally:
            await connection.close()

    assert asyncio.run(inspect()) == (1, 1)


def test_each_schema_keeps_its_own_history(database_url: str, tmp_path: Path) -> None:
    first = DatabaseConfig(url=async_url(database_url), schema="kit_one")
    second = DatabaseConfig(url=async_url(database_url), schema="kit_two")
    migrations.upgrade(write_history(tmp_path / "one", "kit_one"), first)
    directory_two = write_history(tmp_path / "two", "kit_two")
    assert migrations.current_revision(directory_two, second) is None
    migrations.upgrade(directory_two, second, "0000")
    assert migrations.current_revision(directory_two, second) == "0000"
    assert migrations.current_revision(tmp_path / "one", first) == "0001"


def test_schema_names_are_validated() -> None:
    from nova_kit.db import service_metadata

    with pytest.raises(ValueError, match="invalid PostgreSQL schema"):
        service_metadata('auth"; DROP SCHEMA public; --')
    assert isinstance(MetaData(), MetaData)
