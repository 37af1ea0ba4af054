"""Tasks the worker's tests load through ``NOVA_WORKER_TASK_MODULES``.

``nova.test.record_effect`` is idempotent like every real task and its side effect is a
database row (``public.worker_effects``), so a test can count exactly how often the effect
happened while it kills, stops and restarts real worker processes.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from celery import Celery, Task
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from nova_worker.config import WorkerSettings
from nova_worker.tasks import TRANSIENT_ERRORS, run_idempotent

RECORD_EFFECT = "nova.test.record_effect"

EFFECTS_TABLE = """
CREATE TABLE IF NOT EXISTS public.worker_effects (
    id bigserial PRIMARY KEY,
    key text NOT NULL,
    pid integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


def record_effect(task: Task, key: str, seconds: float = 0.0) -> dict[str, Any]:
    async def work(session: AsyncSession) -> dict[str, Any]:
        await asyncio.sleep(seconds)
        await session.execute(
            text("INSERT INTO public.worker_effects (key, pid) VALUES (:key, :pid)"),
            {"key": key, "pid": os.getpid()},
        )
        return {"pid": os.getpid()}

    return run_idempotent(task, f"test:{key}", work)


def register_tasks(app: Celery, settings: WorkerSettings) -> None:
    app.task(
        name=RECORD_EFFECT,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=TRANSIENT_ERRORS,
        retry_backoff=1,
        retry_backoff_max=2,
        retry_jitter=False,
        max_retries=20,
        soft_time_limit=settings.task_soft_time_limit_seconds,
        time_limit=settings.task_time_limit_seconds,
    )(record_effect)
