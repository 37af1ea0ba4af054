"""Real ``nova-worker worker`` processes: duplicates, kills, shutdowns, probes and metrics."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from celery import Celery
from opentelemetry import context as otel_context
from opentelemetry import propagate
from redis import Redis
from worker_probe_tasks import RECORD_EFFECT
from worker_testing import fetch, metric_value, metrics_text, wait_until

from nova_kit.embedded import EmbeddedRedis
from nova_kit.events import create_celery_producer
from nova_kit.testing.plugin import StartService
from nova_kit.testing.processes import ServiceProcess
from nova_kit.tracing import configure_tracing
from nova_worker.sink import SmtpSink

if TYPE_CHECKING:
    from conftest import StartWorker

pytestmark = pytest.mark.slow

SCRIPTS = Path(sys.executable).parent


def effects(url: str, key: str | None = None) -> list[str]:
    query = "SELECT key FROM public.worker_effects ORDER BY id"
    return [r["key"] for r in asyncio.run(fetch(url, query)) if key is None or r["key"] == key]


def job(url: str, key: str) -> dict[str, object] | None:
    rows = asyncio.run(fetch(url, "SELECT * FROM worker.job_runs WHERE key = $1", key))
    return dict(rows[0]) if rows else None


def metrics_port(worker: ServiceProcess) -> int:
    """The port of a started worker's ``/metrics`` and probes (its base URL's)."""
    assert worker.base_url is not None
    return int(worker.base_url.rsplit(":", 1)[1])


def record_effect(producer: Celery, key: str, seconds: float = 0.0) -> None:
    producer.send_task(RECORD_EFFECT, kwargs={"key": key, "seconds": seconds}, queue="default")


def test_duplicates_have_one_effect_and_children_metrics_reach_the_endpoint(
    start_worker: StartWorker,
    producer: Celery,
    clean_worker_db: str,
    smtp_sink: SmtpSink,
    tmp_path: Path,
) -> None:
    worker = start_worker(database_url=clean_worker_db, sink=smtp_sink, concurrency=2)
    port = metrics_port(worker)

    for _ in range(3):
        record_effect(producer, "dup")
        producer.send_task(
            "nova.worker.send_email",
            kwargs={
                "to": "grace@example.com",
                "template": "welcome",
                "context": {"display_name": "Grace", "email": "grace@example.com"},
                "idempotency_key": "welcome:dup",
            },
            queue="default",
        )
    for _ in range(5):
        producer.send_task("nova.worker.ping", queue="default")

    def settled() -> bool:
        text = metrics_text(port)
        return (
            metric_value(text, "worker_tasks_total", task=RECORD_EFFECT, outcome="succeeded") == 3
            and metric_value(
                text, "worker_tasks_total", task="nova.worker.send_email", outcome="succeeded"
            )
            == 3
            and metric_value(
                text, "worker_tasks_total", task="nova.worker.ping", outcome="succeeded"
            )
            == 5
        )

    try:
        wait_until(settled, timeout=60, what="every task to succeed")
    except BaseException:
        print(metrics_text(port), worker.tail(80))
        raise
    assert effects(clean_worker_db) == ["dup"]
    assert [(m["To"], m["Subject"]) for m in smtp_sink.messages()] == [
        ("grace@example.com", "Welcome to Nova")
    ]
    text = metrics_text(port)
    assert metric_value(text, "worker_duplicate_deliveries_total", task=RECORD_EFFECT) == 2
    assert (
        metric_value(text, "worker_duplicate_deliveries_total", task="nova.worker.send_email") == 2
    )
    assert (
        metric_value(text, "worker_tasks_total", task="nova.worker.ping", outcome="received") == 5
    )
    assert metric_value(text, "worker_task_duration_seconds_count", task="nova.worker.ping") == 5
    assert 'worker_queue_depth{queue="events"} 0.0' in text
    assert 'worker_queue_depth{queue="default"} 0.0' in text
    assert metric_value(text, "worker_broker_up") == 1

    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"]["broker"]["ok"] is True

    env = {
        **os.environ,
        "NOVA_ENVIRONMENT": "test",
        "NOVA_WORKER_HEARTBEAT_FILE": str(tmp_path / "worker" / "worker-heartbeat"),
        "NOVA_WORKER_HEARTBEAT_MAX_AGE_SECONDS": "3",
    }
    check = [str(SCRIPTS / "nova-worker"), "healthcheck"]
    assert subprocess.run(check, env=env, capture_output=True, check=False).returncode == 0
    worker.stop()
    time.sleep(3.5)
    stale = subprocess.run(check, env=env, capture_output=True, text=True, check=False)
    assert stale.returncode == 1
    assert "unhealthy" in stale.stdout


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_a_killed_worker_task_runs_again_with_one_effect(
    start_worker: StartWorker, producer: Celery, clean_worker_db: str, pool: str
) -> None:
    key = f"kill-{uuid.uuid4().hex[:6]}"
    worker = start_worker(database_url=clean_worker_db, concurrency=1, NOVA_WORKER_POOL=pool)
    record_effect(producer, key, seconds=5)
    wait_until(lambda: job(clean_worker_db, f"test:{key}"), timeout=30, what="the task to start")
    time.sleep(0.5)
    worker.signal(signal.SIGKILL)
    assert worker.process is not None
    worker.process.wait(10)
    assert effects(clean_worker_db, key) == []

    start_worker(
        database_url=clean_worker_db, concurrency=1, name="worker-restarted", NOVA_WORKER_POOL=pool
    )
    wait_until(lambda: effects(clean_worker_db, key), timeout=60, what="the task to run again")
    time.sleep(1)
    assert effects(clean_worker_db, key) == [key]
    record = job(clean_worker_db, f"test:{key}")
    assert record is not None
    assert (record["status"], record["attempts"]) == ("succeeded", 2)


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_sigterm_lets_the_running_task_finish(
    start_worker: StartWorker, producer: Celery, clean_worker_db: str, redis_url: str, pool: str
) -> None:
    key = f"term-{uuid.uuid4().hex[:6]}"
    worker = start_worker(database_url=clean_worker_db, concurrency=1, NOVA_WORKER_POOL=pool)
    record_effect(producer, key, seconds=3)
    wait_until(lambda: job(clean_worker_db, f"test:{key}"), timeout=30, what="the task to start")
    # What Kubernetes does: SIGTERM to the main process only.
    os.kill(worker.pid, signal.SIGTERM)
    assert worker.process is not None
    assert worker.process.wait(30) == 0

    assert effects(clean_worker_db, key) == [key]
    record = job(clean_worker_db, f"test:{key}")
    assert record is not None
    assert (record["status"], record["attempts"]) == ("succeeded", 1)
    client = Redis.from_url(redis_url)
    try:
        assert client.hlen("nova:celery:unacked") == 0
        assert client.llen("nova:celery:default") == 0
    finally:
        client.close()


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_the_worker_consumes_again_after_redis_restarts(
    start_worker: StartWorker, clean_worker_db: str, disposable_redis: EmbeddedRedis, pool: str
) -> None:
    worker = start_worker(
        database_url=clean_worker_db,
        broker_url=disposable_redis.url,
        concurrency=1,
        NOVA_WORKER_POOL=pool,
    )
    port = metrics_port(worker)
    producer = create_celery_producer(disposable_redis.url)
    keys = [f"redis-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    try:
        for key in keys:
            record_effect(producer, key, seconds=1.5)
        wait_until(lambda: job(clean_worker_db, f"test:{keys[0]}"), timeout=30, what="a start")
        disposable_redis.stop()
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 503,
            timeout=15,
            what="/ready to notice Redis is gone",
        )
        time.sleep(2)
        disposable_redis.start()

        # Everything published before the outage is processed, each effect once.
        wait_until(
            lambda: all(effects(clean_worker_db, key) for key in keys),
            timeout=60,
            what="the queued tasks after the restart",
        )
        after = f"redis-after-{uuid.uuid4().hex[:6]}"
        record_effect(producer, after)
        wait_until(lambda: effects(clean_worker_db, after), timeout=30, what="a new task")
        time.sleep(1)
        for key in [*keys, after]:
            assert effects(clean_worker_db, key) == [key]
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
    finally:
        producer.close()


def test_the_smtp_sink_command_stores_messages(
    start_service: StartService, unused_port: int, tmp_path: Path
) -> None:
    import smtplib
    from email.message import EmailMessage

    from nova_worker.sink import read_maildir

    maildir = tmp_path / "mail"
    start_service(
        "smtp-sink",
        ["nova-worker", "smtp-sink", "--port", str(unused_port), "--maildir", str(maildir)],
        wait=None,
    )

    def send() -> bool:
        message = EmailMessage()
        message["From"] = "a@example.com"
        message["To"] = "b@example.com"
        message["Subject"] = "hello"
        message.set_content("body")
        try:
            with smtplib.SMTP("127.0.0.1", unused_port, timeout=5) as client:
                client.send_message(message)
        except OSError:
            return False
        return True

    wait_until(send, timeout=20, what="the sink to accept a message")
    stored = read_maildir(maildir)
    assert [(m["Subject"], m["To"]) for m in stored] == [("hello", "b@example.com")]


def test_a_task_continues_the_publishers_trace(
    start_worker: StartWorker, producer: Celery, clean_worker_db: str, smtp_sink: SmtpSink
) -> None:
    worker = start_worker(database_url=clean_worker_db, sink=smtp_sink, NOVA_WORKER_LOG_JSON="true")
    trace_id = uuid.uuid4().hex
    # The publisher is inside a request's trace, as a service is: the Celery instrumentation's
    # PRODUCER span continues it and the message carries that span's context.
    configure_tracing("worker-test")
    parent = propagate.extract({"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"})
    token = otel_context.attach(parent)
    try:
        producer.send_task(
            "nova.worker.send_email",
            kwargs={
                "to": "trace@example.com",
                "template": "plain",
                "context": {"subject": "traced", "body": "hello"},
                "idempotency_key": "trace-1",
            },
            queue="default",
        )
    finally:
        otel_context.detach(token)
    wait_until(smtp_sink.messages, timeout=30, what="the e-mail")

    def sent_log() -> list[dict[str, object]]:
        records = []
        for line in worker.log_path.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("message") == "e-mail sent":
                    records.append(record)
        return records

    records = wait_until(sent_log, timeout=10, what="the 'e-mail sent' log line")
    assert [r["trace_id"] for r in records] == [trace_id]


def test_the_threads_pool_stops_a_task_at_its_soft_time_limit(
    start_worker: StartWorker, producer: Celery, clean_worker_db: str
) -> None:
    # Celery's threads pool times nothing: the task runtime cancels the task's coroutine where
    # it waits and the task fails with SoftTimeLimitExceeded, as prefork's signal makes it.
    worker = start_worker(
        database_url=clean_worker_db,
        NOVA_WORKER_POOL="threads",
        NOVA_WORKER_TASK_SOFT_TIME_LIMIT_SECONDS="1",
        NOVA_WORKER_TASK_TIME_LIMIT_SECONDS="3",
    )
    port = metrics_port(worker)
    slow, quick = f"slow-{uuid.uuid4().hex[:6]}", f"quick-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    record_effect(producer, slow, seconds=30)
    wait_until(
        lambda: (
            metric_value(
                metrics_text(port), "worker_tasks_total", task=RECORD_EFFECT, outcome="failed"
            )
            == 1
        ),
        timeout=30,
        what="the slow task to fail",
    )
    assert time.monotonic() - started < 15
    assert "SoftTimeLimitExceeded" in worker.tail(200)
    record_effect(producer, quick)
    wait_until(lambda: effects(clean_worker_db, quick), timeout=30, what="the next task")
    assert effects(clean_worker_db, slow) == []
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200


def test_recovery_never_takes_a_running_task_from_a_live_worker(
    start_worker: StartWorker, producer: Celery, clean_worker_db: str
) -> None:
    first = start_worker(database_url=clean_worker_db, concurrency=1, name="worker-a")
    second = start_worker(database_url=clean_worker_db, concurrency=1, name="worker-b")
    key = f"long-{uuid.uuid4().hex[:6]}"
    # Longer than recovery's grace and incarnation TTL together, several recovery rounds.
    record_effect(producer, key, seconds=8)
    wait_until(lambda: effects(clean_worker_db, key), timeout=40, what="the long task")
    time.sleep(2)
    assert effects(clean_worker_db, key) == [key]
    record = job(clean_worker_db, f"test:{key}")
    assert record is not None
    assert (record["status"], record["attempts"]) == ("succeeded", 1)
    for worker in (first, second):
        port = metrics_port(worker)
        assert metric_value(metrics_text(port), "worker_restored_messages_total") == 0
