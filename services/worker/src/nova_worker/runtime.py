"""One event loop per worker process, and the connections that live on it.

Celery runs tasks as plain functions. Tasks that touch the database or call other services
run their coroutine on the event loop of their process (``run(coro)``): the loop, the pooled
SQLAlchemy engine and the pooled httpx clients are created once per process and closed when
the worker stops. A pooled engine is never shared across loops, so there is no "attached to a
different loop" error.

How a task reaches the loop depends on the pool (``NOVA_WORKER_POOL``):

- ``threads`` (the default): tasks run in the pool's threads of the worker's one process. The
  loop turns in a thread of its own, started with the worker; a task thread hands its
  coroutine over (``asyncio.run_coroutine_threadsafe``) and waits for the answer, so the tasks
  of every pool thread share one engine, one HTTP client and one SMTP connection. Celery's
  threads pool has no time limits: the runtime enforces them (:func:`start_task_clock`). At the soft
  limit the coroutine is cancelled where it waits and the task raises
  ``SoftTimeLimitExceeded``; at the hard limit the task thread stops waiting
  (``TimeLimitExceeded``). A loop that stopped turning (code blocking it) stops its heartbeat
  (:meth:`TaskRuntime.loop_age`), which the worker's liveness probe follows.
- ``prefork`` and ``solo``: the task's own thread runs the loop (``run_until_complete``), built
  on ``worker_process_init`` in each prefork child (lazily for solo and in tests). Celery's
  prefork pool enforces time limits with signals and kills a child past its hard limit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nova_kit import db
from nova_worker.clients import AuthClient, ServiceTokenProvider, UsersClient
from nova_worker.config import WorkerSettings
from nova_worker.mail import Mailer

logger = logging.getLogger(__name__)

LOOP_TICK_SECONDS = 1.0
"""How often a loop running in its own thread stamps its heartbeat."""


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
    thread: threading.Thread | None = None
    """The loop's own thread (threads pool); ``None`` when the caller's thread runs it."""
    ticked: float = field(default_factory=time.monotonic)

    @classmethod
    def create(cls, settings: WorkerSettings, *, threaded: bool = False) -> TaskRuntime:
        loop = asyncio.new_event_loop()
        runtime = cls(settings=settings, loop=loop, pid=os.getpid())
        if threaded:
            runtime.thread = threading.Thread(
                target=runtime._turn, name="nova-task-loop", daemon=True
            )
            runtime.thread.start()
        if settings.database_url is not None:
            config = db.DatabaseConfig.from_settings(settings)
            if threaded:  # every pool thread's task may hold a connection at once
                config = replace(config, pool_size=max(config.pool_size, settings.concurrency))
            runtime.engine = db.create_engine(config)
            runtime.sessions = db.create_session_factory(runtime.engine)
        runtime.http = runtime.run(_new_http_client(settings))
        runtime.tokens = ServiceTokenProvider(runtime.http, settings)
        runtime.auth = AuthClient(runtime.http, settings, runtime.tokens)
        runtime.users = UsersClient(runtime.http, settings, runtime.tokens)
        runtime.mailer = Mailer(settings)
        return runtime

    def _turn(self) -> None:
        """The loop's thread: run it, stamping :attr:`ticked` while it turns."""
        asyncio.set_event_loop(self.loop)

        def tick() -> None:
            self.ticked = time.monotonic()
            self.loop.call_later(LOOP_TICK_SECONDS, tick)

        self.loop.call_soon(tick)
        self.loop.run_forever()

    def loop_age(self) -> float | None:
        """Seconds since the loop's own thread last turned it (``None`` without one)."""
        if self.thread is None:
            return None
        return time.monotonic() - self.ticked

    def run[T](self, coro: Coroutine[Any, Any, T]) -> T:
        if self.thread is None:
            return self.loop.run_until_complete(coro)
        soft, hard = _limits()
        future = asyncio.run_coroutine_threadsafe(_within(coro, soft), self.loop)
        try:
            return future.result(None if hard is None else max(hard - time.monotonic(), 0.0))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeLimitExceeded("hard time limit exceeded") from None

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
            await self.loop.shutdown_asyncgens()

        try:
            if self.thread is None:
                self.loop.run_until_complete(close_all())
            else:
                asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(30)
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(10)
        finally:
            if self.thread is None or not self.thread.is_alive():
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


# --- time limits of the threads pool ------------------------------------------------------

_clock = threading.local()


def start_task_clock(soft_seconds: float | None, hard_seconds: float | None) -> None:
    """Start the time limits of the task this thread runs, for every :meth:`TaskRuntime.run`
    in it (threads pool)."""
    now = time.monotonic()
    _clock.limits = (
        None if soft_seconds is None else now + soft_seconds,
        None if hard_seconds is None else now + hard_seconds,
    )


def stop_task_clock() -> None:
    _clock.limits = (None, None)


def _limits() -> tuple[float | None, float | None]:
    limits: tuple[float | None, float | None] = getattr(_clock, "limits", (None, None))
    return limits


async def _within[T](coro: Coroutine[Any, Any, T], soft_deadline: float | None) -> T:
    """Run ``coro`` on the loop; past ``soft_deadline`` (``time.monotonic()``) cancel it where
    it waits and raise ``SoftTimeLimitExceeded``, as Celery's prefork pool does."""
    if soft_deadline is None:
        return await coro
    loop = asyncio.get_running_loop()
    remaining = soft_deadline - time.monotonic()
    if remaining <= 0:
        coro.close()
        raise SoftTimeLimitExceeded("soft time limit exceeded")
    try:
        async with asyncio.timeout_at(loop.time() + remaining):
            return await coro
    except TimeoutError as error:
        if time.monotonic() < soft_deadline:
            raise  # a timeout of the task's own, not the limit
        raise SoftTimeLimitExceeded("soft time limit exceeded") from error


# --- the runtime of this process ----------------------------------------------------------

_runtime: TaskRuntime | None = None
_settings: WorkerSettings | None = None
_lock = threading.Lock()


def configure(settings: WorkerSettings) -> None:
    """Remember the settings the runtime of each process is built from."""
    global _settings  # noqa: PLW0603 - one runtime per process
    _settings = settings


def threaded() -> bool:
    """Whether tasks run in threads of this process (the threads pool)."""
    return _settings is not None and _settings.pool == "threads"


def start_process_runtime() -> TaskRuntime:
    """Build this process's runtime (a forked child never reuses its parent's)."""
    global _runtime  # noqa: PLW0603 - one runtime per process
    with _lock:
        if _settings is None:
            raise RuntimeError("nova_worker.runtime.configure(settings) was not called")
        if _runtime is not None and _runtime.pid == os.getpid():
            return _runtime
        _runtime = TaskRuntime.create(_settings, threaded=threaded())
        logger.debug("task runtime started", extra={"pid": _runtime.pid})
        return _runtime


def stop_process_runtime() -> None:
    global _runtime
    with _lock:
        runtime, _runtime = _runtime, None
    if runtime is not None and runtime.pid == os.getpid():
        runtime.close()


def get_runtime() -> TaskRuntime:
    runtime = _runtime
    if runtime is not None and runtime.pid == os.getpid():
        return runtime
    return start_process_runtime()


def loop_age() -> float | None:
    """Seconds since this process's task loop last turned, if it turns in its own thread."""
    runtime = _runtime
    if runtime is None or runtime.pid != os.getpid():
        return None
    return runtime.loop_age()


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on this process's event loop."""
    return get_runtime().run(coro)


@asynccontextmanager
async def get_task_session() -> AsyncIterator[AsyncSession]:
    """A session of this process's pool (call from a coroutine passed to :func:`run`)."""
    async with get_runtime().require_sessions()() as session:
        yield session
