"""Per-schema Alembic histories, serialised by an advisory lock."""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import MetaData, make_url

from nova_kit import migrations
from nova_kit.db import DatabaseConfig, async_url, create_engine

ENV_PY = """
from sqlalchemy import MetaData, make_url
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


FAILING_MIGRATION = """
from alembic import op

revision = "0001"
down_revision = "0000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE {schema}.no_such_table ADD COLUMN x integer")


def downgrade() -> None:
    pass
"""


def write_quick_history(root: Path, schema: str, *, failing: bool = False) -> Path:
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY.format(schema=schema))
    (versions / "0000_log.py").write_text(textwrap.dedent(LOG_MIGRATION).format(schema=schema))
    if failing:
        (versions / "0001_fail.py").write_text(FAILING_MIGRATION.format(schema=schema))
    return root


async def _admin(database_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def least_privilege_role(database_url: str) -> Iterator[tuple[str, str]]:
    """A login role with no privilege on the database beyond CONNECT (as PUBLIC has)."""
    role = f"kit_lp_{uuid.uuid4().hex[:8]}"
    database = make_url(database_url).database
    asyncio.run(
        _admin(
            database_url,
            f"CREATE ROLE {role} LOGIN PASSWORD 'pw'",
            f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC',
            f'REVOKE CREATE ON DATABASE "{database}" FROM {role}',
        )
    )
    url = make_url(database_url).set(username=role, password="pw")
    yield role, url.render_as_string(hide_password=False)
    asyncio.run(
        _admin(database_url, f"DROP OWNED BY {role} CASCADE", f"DROP ROLE IF EXISTS {role}")
    )


def test_a_least_privilege_role_migrates_the_schema_created_for_it(
    database_url: str, least_privilege_role: tuple[str, str], tmp_path: Path
) -> None:
    """The chart's and the README's set-up: a schema created for the role, no database CREATE."""
    role, role_url = least_privilege_role
    schema = f"{role}_schema"
    asyncio.run(_admin(database_url, f"CREATE SCHEMA {schema} AUTHORIZATION {role}"))
    directory = write_quick_history(tmp_path / "migrations", schema)
    config = DatabaseConfig(url=async_url(role_url), schema=schema)
    migrations.upgrade(directory, config)
    migrations.upgrade(directory, config)  # idempotent: a second run finds nothing to do
    assert migrations.current_revision(directory, config) == "0000"


def test_a_missing_schema_the_role_may_not_create_is_named_with_the_fix(
    least_privilege_role: tuple[str, str], tmp_path: Path
) -> None:
    role, role_url = least_privilege_role
    schema = f"{role}_missing"
    directory = write_quick_history(tmp_path / "migrations", schema)
    config = DatabaseConfig(url=async_url(role_url), schema=schema)
    with pytest.raises(migrations.MigrationError) as caught:
        migrations.upgrade(directory, config)
    message = str(caught.value)
    assert "permission denied for database" in message
    assert f'CREATE SCHEMA "{schema}" AUTHORIZATION' in message
    assert "InFailedSQLTransaction" not in message


def test_a_failing_migration_reports_postgres_error_and_releases_the_lock(
    database_url: str, tmp_path: Path
) -> None:
    schema = f"kit_fail_{uuid.uuid4().hex[:6]}"
    directory = write_quick_history(tmp_path / "migrations", schema, failing=True)
    config = DatabaseConfig(url=async_url(database_url), schema=schema)
    with pytest.raises(migrations.MigrationError) as caught:
        migrations.upgrade(directory, config)
    message = str(caught.value)
    assert "UndefinedTableError" in message
    assert "no_such_table" in message
    assert "InFailedSQLTransaction" not in message

    async def lock_is_free() -> bool:
        connection = await asyncpg.connect(database_url)
        try:
            key = migrations.advisory_lock_key(schema)
            taken = bool(await connection.fetchval("SELECT pg_try_advisory_lock($1)", key))
            await connection.execute("SELECT pg_advisory_unlock($1)", key)
            return taken
        finally:
            await connection.close()

    assert asyncio.run(lock_is_free())


def test_migrate_command_prints_the_cause_in_one_line(
    least_privilege_role: tuple[str, str], tmp_path: Path
) -> None:
    """What a hook Job's log shows: the command's own line naming the cause, exit status 1."""
    from nova_kit.cli import ServiceCLI
    from nova_kit.settings import ServiceSettings

    role, role_url = least_privilege_role
    directory = write_quick_history(tmp_path / "migrations", f"{role}_cli")
    settings = ServiceSettings(database_url=role_url, database_schema=f"{role}_cli")
    cli = ServiceCLI("kit", ServiceSettings, migrations_dir=directory)
    args = cli.parser().parse_args(["migrate"])
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert cli._commands["migrate"].handler(args, settings) == 1
    assert "nova-kit migrate: schema" in stderr.getvalue()
    assert "permission denied for database" in stderr.getvalue()


def test_readiness_waits_for_the_schema_to_reach_head(database_url: str, tmp_path: Path) -> None:
    schema = f"kit_ready_{uuid.uuid4().hex[:6]}"
    directory = write_history(tmp_path / "migrations", schema)
    config = DatabaseConfig(url=async_url(database_url), schema=schema)

    async def check_with_engine(check: migrations.SchemaAtHead) -> str:
        return await check()

    def probe() -> str:
        engine = create_engine(config, pooled=False)
        check = migrations.SchemaAtHead(directory, schema, lambda: engine, "kit")

        async def run() -> str:
            try:
                return await check_with_engine(check)
            finally:
                await engine.dispose()

        return asyncio.run(run())

    with pytest.raises(migrations.SchemaBehindError, match=r"at no revision.*needs 0001"):
        probe()
    migrations.upgrade(directory, config, "0000")
    with pytest.raises(migrations.SchemaBehindError, match="at 0000, this build needs 0001"):
        probe()
    migrations.upgrade(directory, config)
    assert probe() == "at head"
    # A revision this build does not know is a newer release's: old pods keep serving.
    asyncio.run(_admin(database_url, f"UPDATE {schema}.alembic_version SET version_num = 'ffff'"))
    assert probe() == "at head"


def test_serve_answers_503_until_the_schema_is_at_head(database_url: str, tmp_path: Path) -> None:
    """What `nova-<svc> serve` wires in: /ready names the migrations until they have run."""
    from litestar.testing import TestClient

    from nova_kit.app import create_service_app
    from nova_kit.cli import ServiceCLI
    from nova_kit.settings import ServiceSettings

    schema = f"kit_serve_{uuid.uuid4().hex[:6]}"
    directory = write_quick_history(tmp_path / "migrations", schema)
    settings = ServiceSettings(
        database_url=database_url, database_schema=schema, environment="test"
    )
    cli = ServiceCLI(
        "kit",
        ServiceSettings,
        lambda s: create_service_app(s, uses_redis=False, verify_tokens=False),
        migrations_dir=directory,
    )
    assert cli.create_app is not None
    app = cli.create_app(settings)
    cli._gate_readiness_on_migrations(app, settings)
    with TestClient(app) as client:
        before = client.get("/ready")
        assert before.status_code == 503
        assert before.json()["failing"] == ["migrations"]
        assert "run `nova-kit migrate`" in before.json()["checks"]["migrations"]["detail"]
        migrations.upgrade(directory, DatabaseConfig(url=async_url(database_url), schema=schema))
        after = client.get("/ready")
        assert after.status_code == 200, after.text
