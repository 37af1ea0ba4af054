"""The pytest plugin every Nova test suite uses (registered through the ``pytest11`` entry point).

Fixtures:
    ``database_url``       a PostgreSQL database of this xdist worker, named ``nova_<worker>_test``
    ``redis_url``          a Redis logical database of this xdist worker (flushed at session start)
    ``redis_client``       an async client on ``redis_url``, flushed before each test
    (autouse)              every test that uses ``redis_url`` starts with fresh rate-limit budgets
    ``disposable_postgres`` / ``disposable_redis``  embedded servers a test may stop and start
    ``start_service``      runs a real service command in its own process group, stopped after
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from nova_kit.testing.backends import (
    Backend,
    BackendChoice,
    Server,
    database_name_for_worker,
    ensure_test_database_name,
    environment,
    recreate_database,
    redis_db_for_worker,
    select_backends,
    start_postgres,
    start_redis,
    with_database,
    with_redis_db,
)
from nova_kit.testing.processes import ServiceProcess


async def truncate_schema(
    url: str, schema: str, *, keep: Sequence[str] = ("alembic_version",)
) -> None:
    """Empty every table of ``schema`` (except the migration history) in one statement."""
    database = url.rsplit("/", 1)[-1].split("?", 1)[0]
    ensure_test_database_name(database)
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema
        )
        names = [
            f'"{schema}"."{row["tablename"]}"' for row in tables if row["tablename"] not in keep
        ]
        if names:
            await connection.execute(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def nova_backends() -> BackendChoice:
    return select_backends(environment())


@pytest.fixture(scope="session")
def worker_id_label(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "master"))


@pytest.fixture(scope="session")
def postgres_server(nova_backends: BackendChoice) -> Iterator[Server]:
    with server_directory("nova-pg-") as directory:
        server = start_postgres(nova_backends.postgres, environment(), directory)
        yield server
        server.stop()


async def drop_database(admin_url: str, name: str) -> None:
    ensure_test_database_name(name)
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def test_run_id(request: pytest.FixtureRequest) -> str:
    """Shared by the xdist workers of one run, different for every run."""
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput and "testrunuid" in workerinput:
        return str(workerinput["testrunuid"])
    return uuid.uuid4().hex


@pytest.fixture(scope="session")
def database_url(postgres_server: Server, worker_id_label: str, test_run_id: str) -> Iterator[str]:
    """``postgresql://`` URL of a fresh database for this test run and xdist worker, dropped at
    the end of the run."""
    name = database_name_for_worker(worker_id_label, test_run_id)
    asyncio.run(recreate_database(postgres_server.url, name))
    yield with_database(postgres_server.url, name)
    # a server a test already stopped cannot drop it; its data directory goes anyway
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        asyncio.run(drop_database(postgres_server.url, name))


@pytest.fixture(scope="session")
def redis_server(
    nova_backends: BackendChoice, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = start_redis(nova_backends.redis, environment(), tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: Server, nova_backends: BackendChoice, worker_id_label: str) -> str:
    url = redis_server.url
    if nova_backends.redis is Backend.EXTERNAL:
        url = with_redis_db(url, redis_db_for_worker(worker_id_label))

    async def flush() -> None:
        client = Redis.from_url(url)
        try:
            await client.flushdb()
        finally:
            await client.aclose()

    asyncio.run(flush())
    return url


RATE_LIMIT_KEYS = "nova:*:rl:*"


@pytest.fixture(autouse=True)
def fresh_rate_limit_budgets(request: pytest.FixtureRequest) -> None:
    """Rate-limit windows are keyed by client address, and every test's client is 127.0.0.1:
    without this, the requests of the tests before (through any gateway or auth on the same Redis
    database) would spend the next test's budget and turn its first request into a 429."""
    if "redis_url" not in request.fixturenames:
        return
    url = request.getfixturevalue("redis_url")

    async def clear() -> None:
        client = Redis.from_url(url)
        try:
            keys = [key async for key in client.scan_iter(match=RATE_LIMIT_KEYS, count=1000)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()

    asyncio.run(clear())


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@contextmanager
def server_directory(prefix: str) -> Iterator[Path]:
    """A directory for a server's data outside pytest's private ``/tmp/pytest-of-<user>``: when
    tests run as root, PostgreSQL runs as another user, who must be able to reach its data."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def disposable_postgres() -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL of the test's own, free to stop and restart."""
    with server_directory("nova-pg-") as directory:
        server = EmbeddedPostgres(directory / "postgres")
        server.start()
        yield server
        server.stop(mode="immediate")


@pytest.fixture
def disposable_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", persist=True)
    server.start()
    yield server
    server.stop()


StartService = Callable[..., ServiceProcess]


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[StartService]:
    """Start real service processes; every one is stopped (by process group) after the test.

    ``start_service("auth", ["nova-auth", "serve"], env={...}, port=8123)`` waits for
    ``/ready`` unless ``wait=None``.
    """
    started: list[ServiceProcess] = []

    def start(
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        wait: str | None = "/ready",
        timeout: float = 30.0,
    ) -> ServiceProcess:
        base_url = f"http://127.0.0.1:{port}" if port else None
        command = list(argv)
        scripts = Path(sys.executable).parent
        if os.path.sep not in command[0] and (scripts / command[0]).exists():
            command[0] = str(scripts / command[0])
        process = ServiceProcess(
            name, command, dict(env or {}), tmp_path / "logs" / f"{name}.log", base_url
        ).start()
        started.append(process)
        if wait is not None and base_url is not None:
            process.wait_until_ready(wait, timeout)
        return process

    yield start
    for process in reversed(started):
        process.stop()


@pytest.fixture
def unused_port() -> int:
    return free_port()
