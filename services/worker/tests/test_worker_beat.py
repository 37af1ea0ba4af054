"""``nova-worker beat``: one leader among several, a heartbeat, and the schedule sent once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import pytest
from redis import Redis
from worker_testing import wait_until

from nova_worker.metrics import BEAT_HEARTBEAT_KEY

pytestmark = pytest.mark.slow

SCRIPTS = Path(sys.executable).parent


def beat_env(redis_url: str, workdir: Path) -> dict[str, str]:
    workdir.mkdir(parents=True, exist_ok=True)
    return {
        "NOVA_ENVIRONMENT": "test",
        "NOVA_WORKER_REDIS_URL": redis_url,
        "NOVA_WORKER_LOG_JSON": "false",
        "NOVA_WORKER_BEAT_SCHEDULE_FILE": str(workdir / "schedule"),
        "NOVA_WORKER_BEAT_HEARTBEAT_FILE": str(workdir / "heartbeat"),
        "NOVA_WORKER_BEAT_MAX_LOOP_SECONDS": "1",
        "NOVA_WORKER_BEAT_HEARTBEAT_MAX_AGE_SECONDS": "3",
        # Every minute, so the test sees a run within one.
        "NOVA_WORKER_DEACTIVATE_SCHEDULE": "* * * * *",
    }


def healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / "nova-worker"), "healthcheck", "--beat"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_two_beats_send_the_schedule_once(
    start_service: Any, redis_url: str, redis_client: object, tmp_path: Path
) -> None:
    first_env = beat_env(redis_url, tmp_path / "first")
    second_env = beat_env(redis_url, tmp_path / "second")
    assert healthcheck(first_env).returncode == 1  # no heartbeat yet

    first = start_service("beat", ["nova-worker", "beat"], env=first_env, wait=None)
    wait_until(lambda: healthcheck(first_env).returncode == 0, timeout=30, what="beat heartbeat")
    second = start_service("beat-2", ["nova-worker", "beat"], env=second_env, wait=None)
    wait_until(lambda: healthcheck(second_env).returncode == 0, timeout=30, what="standby beat")

    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        leader = client.get("nova:worker:beat:leader")
        assert leader is not None
        assert f":{first.pid}:" in leader
        # The leader stamps every tick in Redis, for the workers' /metrics.
        first_stamp = wait_until(lambda: client.get(BEAT_HEARTBEAT_KEY), timeout=10)
        assert first_stamp is not None  # wait_until returns only a truthy value
        first_tick = float(first_stamp)
        assert abs(time.time() - first_tick) < 10
        wait_until(
            lambda: float(client.get(BEAT_HEARTBEAT_KEY) or 0) > first_tick,
            timeout=10,
            what="the next tick's stamp",
        )

        def queued() -> list[str]:
            # decode_responses: the entries are str
            return list(cast("list[str]", client.lrange("nova:celery:default", 0, -1)))

        messages = wait_until(queued, timeout=75, interval=0.5, what="the scheduled run")
        time.sleep(3)  # the standby Beat had its chance to send a duplicate
        messages = queued()
        assert len(messages) == 1
        assert json.loads(messages[0])["headers"]["task"] == "nova.worker.deactivate_inactive_users"
        assert client.hget("nova:worker:beat:runs", "deactivate-inactive-users") == "1"

        # The leader goes away: the standby takes over within the lease.
        first.stop()
        wait_until(
            lambda: f":{second.pid}:" in (client.get("nova:worker:beat:leader") or ""),
            timeout=30,
            what="the standby to lead",
        )
        taken_over = time.time()
        wait_until(
            lambda: float(client.get(BEAT_HEARTBEAT_KEY) or 0) > taken_over,
            timeout=10,
            what="the new leader's tick stamp",
        )
    finally:
        client.close()

    second.stop()
    time.sleep(3.5)
    stale = healthcheck(second_env)
    assert stale.returncode == 1
    assert "unhealthy" in stale.stdout
