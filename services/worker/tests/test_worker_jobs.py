"""Idempotency records: a job's database effect commits once with its ``succeeded`` row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from worker_testing import fetch, make_settings

from nova_kit import db
from nova_worker.services import JobInProgressError, JobService


@pytest.fixture
async def jobs(clean_worker_db: str) -> AsyncIterator[JobService]:
    settings = make_settings(clean_worker_db, "")
    engine = db.create_engine(db.DatabaseConfig.from_settings(settings), pooled=False)
    sessions: async_sessionmaker[AsyncSession] = db.create_session_factory(engine)
    yield JobService(sessions, lock_timeout_seconds=30)
    await engine.dispose()


def record(key: str, seconds: float = 0.0) -> Any:
    async def work(session: AsyncSession) -> dict[str, Any]:
        await asyncio.sleep(seconds)
        await session.execute(
            text("INSERT INTO public.worker_effects (key, pid) VALUES (:key, 0)"), {"key": key}
        )
        return {"recorded": key}

    return work


async def effects(url: str) -> list[str]:
    return [r["key"] for r in await fetch(url, "SELECT key FROM public.worker_effects ORDER BY id")]


async def test_a_key_runs_once(jobs: JobService, clean_worker_db: str) -> None:
    first = await jobs.run_once("k1", "t", "task-1", record("k1"))
    second = await jobs.run_once("k1", "t", "task-2", record("k1"))

    assert (first.ran, first.result) == (True, {"recorded": "k1"})
    assert (second.ran, second.result) == (False, {"recorded": "k1"})
    assert await effects(clean_worker_db) == ["k1"]
    rows = await fetch(
        clean_worker_db, "SELECT status, attempts, last_task_id FROM worker.job_runs"
    )
    assert [tuple(r) for r in rows] == [("succeeded", 1, "task-1")]


async def test_a_failed_attempt_leaves_no_effect_and_is_retried(
    jobs: JobService, clean_worker_db: str
) -> None:
    async def failing(session: AsyncSession) -> dict[str, Any]:
        await record("k2")(session)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await jobs.run_once("k2", "t", "a", failing)
    rows = await fetch(clean_worker_db, "SELECT status, attempts, last_error FROM worker.job_runs")
    assert (rows[0]["status"], rows[0]["attempts"]) == ("failed", 1)
    assert "boom" in rows[0]["last_error"]
    assert await effects(clean_worker_db) == []

    outcome = await jobs.run_once("k2", "t", "b", record("k2"))
    assert outcome.ran
    assert await effects(clean_worker_db) == ["k2"]
    rows = await fetch(clean_worker_db, "SELECT status, attempts FROM worker.job_runs")
    assert [tuple(r) for r in rows] == [("succeeded", 2)]


async def test_a_concurrent_duplicate_is_told_to_retry(
    jobs: JobService, clean_worker_db: str
) -> None:
    results = await asyncio.gather(
        jobs.run_once("k3", "t", "a", record("k3", seconds=0.5)),
        jobs.run_once("k3", "t", "b", record("k3", seconds=0.5)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, JobInProgressError) for r in results) == 1
    assert await effects(clean_worker_db) == ["k3"]
