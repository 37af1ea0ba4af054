"""Helpers the worker's tests share (polling with deadlines, metrics parsing, queries)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from nova_worker.config import WorkerSettings
from nova_worker.sink import SmtpSink


async def fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def make_settings(
    database_url: str, redis_url: str, sink: SmtpSink | None = None
) -> WorkerSettings:
    return WorkerSettings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        smtp_host=sink.host if sink else "127.0.0.1",
        smtp_port=sink.port if sink else 1025,
    )


def wait_until[T](
    probe: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.2, what: str = ""
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what or probe}: {last!r}")
        time.sleep(interval)
        last = probe()
    return last


def metrics_text(port: int) -> str:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    return response.text


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 if absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        base, _, rest = metric.partition("{")
        if base != name:
            continue
        found = ",".join(sorted(part for part in rest.rstrip("}").split(",") if part))
        if found == wanted:
            return float(value)
    return 0.0
