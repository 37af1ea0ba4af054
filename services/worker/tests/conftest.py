"""Fixtures of the worker's tests: a migrated database, the SMTP sink, real worker processes."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from celery import Celery

from nova_kit.embedded import free_port
from nova_kit.events import create_celery_producer
from nova_kit.testing.plugin import truncate_schema
from nova_kit.testing.processes import ServiceProcess, run_checked
from nova_worker.sink import SmtpSink

TESTS_DIR = Path(__file__).parent
SCRIPTS = Path(sys.executable).parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from worker_probe_tasks import EFFECTS_TABLE  # noqa: E402


@pytest.fixture(scope="session")
def worker_database_url(database_url: str) -> str:
    """The test database with the worker's migrations applied by ``nova-worker migrate``."""
    run_checked(
        [str(SCRIPTS / "nova-worker"), "migrate"],
        {"NOVA_ENVIRONMENT": "test", "NOVA_WORKER_DATABASE_URL": database_url},
    )

    async def create_effects() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(EFFECTS_TABLE)
        finally:
            await connection.close()

    asyncio.run(create_effects())
    return database_url


@pytest.fixture
async def clean_worker_db(worker_database_url: str) -> str:
    await truncate_schema(worker_database_url, "worker")
    connection = await asyncpg.connect(worker_database_url)
    try:
        await connection.execute("TRUNCATE public.worker_effects")
    finally:
        await connection.close()
    return worker_database_url


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    """The SMTP sink, in-process on a free port; ``.messages()`` reads what it received."""
    sink = SmtpSink(tmp_path / "mail", port=free_port()).start()
    yield sink
    sink.stop()


def worker_env(
    *,
    database_url: str,
    redis_url: str,
    sink: SmtpSink | None,
    workdir: Path,
    **extra: str,
) -> dict[str, str]:
    env = {
        "NOVA_ENVIRONMENT": "test",
        "NOVA_WORKER_DATABASE_URL": database_url,
        "NOVA_WORKER_REDIS_URL": redis_url,
        "NOVA_WORKER_LOG_LEVEL": "INFO",
        "NOVA_WORKER_LOG_JSON": "false",
        "NOVA_WORKER_HEARTBEAT_FILE": str(workdir / "worker-heartbeat"),
        "NOVA_WORKER_HEARTBEAT_INTERVAL_SECONDS": "1",
        "NOVA_WORKER_BEAT_HEARTBEAT_FILE": str(workdir / "beat-heartbeat"),
        "NOVA_WORKER_BEAT_SCHEDULE_FILE": str(workdir / "beat-schedule"),
        "NOVA_WORKER_METRICS_DIR": str(workdir / "metrics"),
        "NOVA_WORKER_METRICS_HOST": "127.0.0.1",
        "NOVA_WORKER_TASK_MODULES": '["worker_probe_tasks"]',
        "NOVA_WORKER_RECOVERY_INTERVAL_SECONDS": "1",
        "NOVA_WORKER_RECOVERY_GRACE_SECONDS": "2",
        "NOVA_WORKER_INCARNATION_TTL_SECONDS": "4",
        "NOVA_WORKER_MAX_RETRIES": "5",
        "NOVA_WORKER_IN_PROGRESS_RETRY_SECONDS": "1",
        "NOVA_WORKER_RETRY_BACKOFF_MAX_SECONDS": "2",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(TESTS_DIR), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    # Never a stray local auth or users: a closed port unless the test names the real ones.
    closed = f"http://127.0.0.1:{free_port()}"
    env["NOVA_WORKER_AUTH_URL"] = closed
    env["NOVA_WORKER_USERS_URL"] = closed
    if sink is not None:
        env["NOVA_WORKER_SMTP_HOST"] = sink.host
        env["NOVA_WORKER_SMTP_PORT"] = str(sink.port)
    env.update(extra)
    return env


StartWorker = Callable[..., ServiceProcess]


@pytest.fixture
def start_worker(
    start_service: Callable[..., ServiceProcess],
    redis_url: str,
    redis_client: object,
    tmp_path: Path,
) -> StartWorker:
    """Start ``nova-worker worker`` (a real Celery worker) and wait until ``/ready``.

    Redis is flushed first (``redis_client``): no message of an earlier test reaches it.
    """

    def start(
        *,
        database_url: str,
        sink: SmtpSink | None = None,
        broker_url: str | None = None,
        concurrency: int = 2,
        name: str = "worker",
        port: int | None = None,
        **extra: str,
    ) -> ServiceProcess:
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        port = port or free_port()
        env = worker_env(
            database_url=database_url,
            redis_url=broker_url or redis_url,
            sink=sink,
            workdir=workdir,
            NOVA_WORKER_METRICS_PORT=str(port),
            **extra,
        )
        return start_service(
            name,
            [
                "nova-worker",
                "worker",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@%h",
            ],
            env=env,
            port=port,
            wait="/ready",
            timeout=60,
        )

    return start


@pytest.fixture
def producer(redis_url: str) -> Iterator[Celery]:
    """Publishes exactly as auth does (``nova_kit.events``)."""
    app = create_celery_producer(redis_url)
    yield app
    app.close()
