"""The test plugin: backend selection, the guard on database names, helper commands."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from nova_kit.testing.backends import (
    Backend,
    UnsafeTestDatabaseError,
    database_name_for_worker,
    ensure_test_database_name,
    redis_db_for_worker,
    select_backends,
    with_database,
)
from nova_kit.testing.plugin import truncate_schema
from nova_kit.testing.processes import CommandFailedError, run_checked
from nova_kit.testing.servers import ThreadedServer


@pytest.mark.parametrize("name", ["nova", "production", "nova_test_backup", "test", "x_test; drop"])
def test_the_guard_refuses_databases_not_named_test(name: str) -> None:
    with pytest.raises(UnsafeTestDatabaseError, match="refusing"):
        ensure_test_database_name(name)


def test_the_guard_accepts_test_databases() -> None:
    assert ensure_test_database_name("nova_gw0_test") == "nova_gw0_test"


async def test_truncate_refuses_a_database_not_named_test() -> None:
    with pytest.raises(UnsafeTestDatabaseError):
        await truncate_schema("postgresql://postgres@127.0.0.1:1/production", "auth")


def test_each_xdist_worker_gets_its_own_database_and_redis_db() -> None:
    assert database_name_for_worker("gw0") == "nova_gw0_test"
    assert database_name_for_worker("gw1") == "nova_gw1_test"
    assert database_name_for_worker("master") == "nova_main_test"
    assert database_name_for_worker("gw0", "9F3C-A1b2c3d4e5") == "nova_gw0_9f3ca1b2_test"
    assert len({redis_db_for_worker(f"gw{i}") for i in range(8)}) == 8
    assert redis_db_for_worker("master") == 1
    assert with_database("postgresql://u@h:5/postgres?sslmode=disable", "nova_main_test") == (
        "postgresql://u@h:5/nova_main_test?sslmode=disable"
    )


@pytest.mark.parametrize(
    ("env", "postgres", "redis"),
    [
        ({}, Backend.EMBEDDED, Backend.EMBEDDED),
        ({"NOVA_TEST_DATABASE_URL": "postgresql://x/y"}, Backend.EXTERNAL, Backend.EMBEDDED),
        (
            {"NOVA_TEST_DATABASE_URL": "postgresql://x/y", "NOVA_TEST_REDIS_URL": "redis://x"},
            Backend.EXTERNAL,
            Backend.EXTERNAL,
        ),
        ({"NOVA_TEST_BACKEND": "testcontainers"}, Backend.TESTCONTAINERS, Backend.TESTCONTAINERS),
        (
            {"NOVA_TEST_BACKEND": "embedded", "NOVA_TEST_DATABASE_URL": "postgresql://x/y"},
            Backend.EMBEDDED,
            Backend.EMBEDDED,
        ),
    ],
)
def test_backend_selection(env: dict[str, str], postgres: Backend, redis: Backend) -> None:
    choice = select_backends(env)
    assert (choice.postgres, choice.redis) == (postgres, redis)


def test_backend_selection_rejects_unknown_and_incomplete_requests() -> None:
    with pytest.raises(ValueError, match="NOVA_TEST_BACKEND='docker'"):
        select_backends({"NOVA_TEST_BACKEND": "docker"})
    with pytest.raises(ValueError, match="needs NOVA_TEST_DATABASE_URL"):
        select_backends({"NOVA_TEST_BACKEND": "external"})


def test_run_checked_returns_the_output_and_passes_the_environment() -> None:
    script = "import os; print(os.environ['NOVA_PROBE'])"
    assert run_checked([sys.executable, "-c", script], {"NOVA_PROBE": "here"}) == "here\n"


def test_run_checked_reports_everything_a_failing_command_printed() -> None:
    script = "import sys; print('to stdout'); sys.exit('to stderr')"
    with pytest.raises(CommandFailedError, match=r"exited with 1:\nto stdout\nto stderr"):
        run_checked([sys.executable, "-c", script], {})


def test_a_threaded_server_knows_its_port_before_it_starts_and_frees_it_after() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    server = ThreadedServer(app, path="/here", lifespan="off")
    assert server.url == f"http://127.0.0.1:{server.port}/here"
    with server:
        assert httpx.get(server.url, timeout=5).text == "/here"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=5)
    # the port is free again: a new server can take it
    with ThreadedServer(app, port=server.port, lifespan="off") as again:
        assert httpx.get(f"{again.base_url}/x", timeout=5).text == "/x"


def test_a_threaded_server_that_cannot_start_says_so() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("no lifespan")  # a failing start-up: uvicorn exits

    server = ThreadedServer(app, lifespan="on", name="broken")
    with pytest.raises(RuntimeError, match="broken did not start"):
        server.start(timeout=5)
