"""Settings fail closed, and the Celery configuration is the one that loses no work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from nova_kit.events import BROKER_KEY_PREFIX, EVENT_TASKS, VISIBILITY_TIMEOUT_SECONDS
from nova_worker.celery_app import DEACTIVATE_ENTRY, celery_config, create_celery_app
from nova_worker.config import WorkerSettings

SCRIPTS = Path(sys.executable).parent
PROD: dict[str, Any] = {
    "environment": "prod",
    "database_url": "postgresql://nova@db/nova",
    "redis_url": "redis://redis:6379/0",
}


def test_production_refuses_the_development_client_secret() -> None:
    with pytest.raises(ValidationError, match="NOVA_WORKER_SERVICE_CLIENT_SECRET"):
        WorkerSettings(**PROD)
    settings = WorkerSettings(**PROD, service_client_secret="a-real-secret-of-some-length")
    assert settings.check_production() == []


def test_production_needs_the_broker() -> None:
    with pytest.raises(ValidationError, match="NOVA_WORKER_REDIS_URL"):
        WorkerSettings(**{**PROD, "redis_url": None}, service_client_secret="s3cret-of-length")


def test_time_limits_must_stay_below_the_visibility_timeout() -> None:
    with pytest.raises(ValidationError, match="visibility timeout"):
        WorkerSettings(deactivate_time_limit_seconds=VISIBILITY_TIMEOUT_SECONDS)
    with pytest.raises(ValidationError, match="SOFT_TIME_LIMIT"):
        WorkerSettings(task_soft_time_limit_seconds=90, task_time_limit_seconds=90)


def test_a_bad_schedule_is_refused() -> None:
    with pytest.raises(ValidationError, match="five cron fields"):
        WorkerSettings(deactivate_schedule="daily")


def test_check_config_names_the_bad_setting_in_one_line() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NOVA_")},
        "NOVA_ENVIRONMENT": "prod",
        "NOVA_WORKER_DATABASE_URL": "postgresql://nova@db/nova",
        "NOVA_WORKER_REDIS_URL": "redis://redis:6379/0",
    }
    result = subprocess.run(
        [str(SCRIPTS / "nova-worker"), "check-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "NOVA_WORKER_SERVICE_CLIENT_SECRET" in result.stderr


def test_importing_the_package_reads_no_environment() -> None:
    # Settings that would stop the process are in the environment: importing must not care.
    env = {**os.environ, "NOVA_ENVIRONMENT": "prod", "NOVA_WORKER_REDIS_URL": ""}
    program = (
        "import nova_worker.celery_app as m, nova_worker.tasks, nova_worker.cli;"
        "assert m._app is None; print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_beat_and_the_worker_import_only_what_they_run() -> None:
    # Beat sends tasks by name: no task code, database, HTTP or SMTP client. Neither process
    # serves an HTTP app: no Litestar.
    program = """
import sys
from nova_worker.celery_app import create_beat_app, create_celery_app
from nova_worker.cli import cli
from nova_worker.config import WorkerSettings

settings = WorkerSettings(environment="test", redis_url="redis://127.0.0.1:1/0")
create_beat_app(settings)
print(" ".join(sorted(sys.modules)))
create_celery_app(settings)
print(" ".join(sorted(sys.modules)))
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    beat, worker = (set(line.split()) for line in result.stdout.splitlines())
    tasks = {"nova_worker.tasks", "sqlalchemy", "httpx", "aiosmtplib"}
    assert sorted(beat & (tasks | {"asyncpg", "litestar"})) == []
    assert tasks <= worker
    assert "litestar" not in worker


def test_the_celery_configuration_loses_no_work() -> None:
    settings = WorkerSettings(
        redis_url="redis://127.0.0.1:6379/0", deactivate_schedule="15 4 * * 1"
    )
    config = celery_config(settings)

    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 4
    # A thread cannot be cancelled: the task finishes and recovery requeues its message.
    assert settings.pool == "threads"
    assert config["worker_cancel_long_running_tasks_on_connection_loss"] is False
    prefork = celery_config(settings.model_copy(update={"pool": "prefork"}))
    assert prefork["worker_cancel_long_running_tasks_on_connection_loss"] is True
    assert config["broker_connection_retry_on_startup"] is True
    assert config["broker_connection_retry"] is True
    assert config["broker_connection_max_retries"] is None
    assert config["accept_content"] == ["json"]
    assert config["task_serializer"] == "json"
    transport = config["broker_transport_options"]
    assert transport["global_keyprefix"] == BROKER_KEY_PREFIX
    assert transport["visibility_timeout"] > settings.deactivate_time_limit_seconds
    assert transport["visibility_timeout"] > config["task_time_limit"]
    assert config["task_soft_time_limit"] < config["task_time_limit"]
    assert {q.name for q in config["task_queues"]} == {"events", "default"}
    for task in EVENT_TASKS.values():
        assert config["task_routes"][task] == {"queue": "events"}
    schedule = config["beat_schedule"][DEACTIVATE_ENTRY]
    assert schedule["task"] == "nova.worker.deactivate_inactive_users"
    assert schedule["schedule"].hour == {4}
    assert schedule["schedule"].minute == {15}
    assert schedule["schedule"].day_of_week == {1}


def test_every_event_has_a_task_with_limits_and_retries() -> None:
    app = create_celery_app(WorkerSettings(redis_url="redis://127.0.0.1:6379/0"))
    for name in [*EVENT_TASKS.values(), "nova.worker.send_email"]:
        task = app.tasks[name]
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
        assert task.max_retries == 10
        assert task.retry_backoff is True
        assert task.retry_jitter is True
        assert (task.soft_time_limit, task.time_limit) == (60, 90)
    deactivate = app.tasks["nova.worker.deactivate_inactive_users"]
    assert deactivate.time_limit == 600
