"""One event loop per worker process, and the connections that live on it.

Celery runs tasks as plain functions. Tasks that touch the database or call other services
run their coroutine on the event loop of their process (``run(coro)``): the loop, the pooled
SQLAlchemy engine and the pooled httpx clients are created once per process (on
``worker_process_init`` for prefork children, lazily for the solo pool and in tests) and
closed on ``worker_process_shutdown``. A pooled engine is never shared across loops, so there
is no "attached to a different loop" error.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nova_kit import db
from nova_worker.clients import AuthClient, ServiceTokenProvider, UsersClient
from nova_worker.config import WorkerSettings
from nova_worker.mail import Mailer

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TaskRuntime:
    """What the tasks of one process share: its loop, database pool and HTTP clients."""

    settings: WorkerSettings
    loop: asyncio.AbstractEventLoop
    pid: int
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    http: httpx.AsyncClient | None = None
    tokens: ServiceTokenProvider | None = None
    auth: AuthClient | None = None
    users: UsersClient | None = None
    mailer: Mailer | None = None

    @classmethod
    def create(cls, settings: WorkerSettings) -> TaskRuntime:
        loop = asyncio.new_event_loop()
        runtime = cls(settings=settings, loop=loop, pid=os.getpid())
        if settings.database_url is not None:
            runtime.engine = db.create_engine(db.DatabaseConfig.from_settings(settings))
            runtime.sessions = db.create_session_factory(runtime.engine)
        runtime.http = loop.run_until_complete(_new_http_client(settings))
        runtime.tokens = ServiceTokenProvider(runtime.http, settings)
        runtime.auth = AuthClient(runtime.http, settings, runtime.tokens)
        runtime.users = UsersClient(runtime.http, settings, runtime.tokens)
        runtime.mailer = Mailer(settings)
        return runtime

    def run[T](self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        if self.loop.is_closed():
            return

        async def close_all() -> None:
            if self.mailer is not None:
                await self.mailer.close()
            if self.http is not None:
                await self.http.aclose()
            if self.engine is not None:
                await self.engine.dispose()

        try:
            self.loop.run_until_complete(close_all())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    def require_sessions(self) -> async_sessionmaker[AsyncSession]:
        if self.sessions is None:
            raise RuntimeError("NOVA_WORKER_DATABASE_URL is not set: tasks need the database")
        return self.sessions


async def _new_http_client(settings: WorkerSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds
        ),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        headers={"user-agent": "nova-worker"},
    )


_runtime: TaskRuntime | None = None
_settings: WorkerSettings | None = None


def configure(settings: WorkerSettings) -> None:
    """Remember the settings the runtime of each process is built from."""
    global _settings  # noqa: PLW0603 - one runtime per process
    _settings = settings


def start_process_runtime() -> TaskRuntime:
    """Build this process's runtime (a forked child never reuses its parent's)."""
    global _runtime  # noqa: PLW0603 - one runtime per process
    if _settings is None:
        raise RuntimeError("nova_worker.runtime.configure(settings) was not called")
    if _runtime is not None and _runtime.pid == os.getpid():
        return _runtime
    _runtime = TaskRuntime.create(_settings)
    logger.debug("task runtime started", extra={"pid": _runtime.pid})
    return _runtime


def stop_process_runtime() -> None:
    global _runtime
    runtime, _runtime = _runtime, None
    if runtime is not None and runtime.pid == os.getpid():
        runtime.close()


def get_runtime() -> TaskRuntime:
    if _runtime is not None and _runtime.pid == os.getpid():
        return _runtime
    return start_process_runtime()


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on this process's event loop."""
    return get_runtime().run(coro)


@asynccontextmanager
async def get_task_session() -> AsyncIterator[AsyncSession]:
    """A session of this process's pool (call from a coroutine passed to :func:`run`)."""
    async with get_runtime().require_sessions()() as session:
        yield session
