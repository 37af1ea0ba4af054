"""The :9808 endpoint: liveness follows the consumer heartbeat, readiness the broker, answered
as every service's ``/ready`` answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.datastructures import State
from litestar.testing import TestClient
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from nova_kit.embedded import free_port
from nova_kit.health import READINESS_STATE_KEY, NotReadyError, Readiness, ready
from nova_kit.testing.raw_http import raw_request
from nova_worker.metrics import BEAT_HEARTBEAT_KEY, build_registry
from nova_worker.probes import Heartbeat, ProbeServer, ProbeState


@contextmanager
def serve(state: ProbeState) -> Iterator[str]:
    server = ProbeServer(state, "127.0.0.1", free_port())
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


@pytest.fixture
def heartbeat(tmp_path: Path) -> Heartbeat:
    return Heartbeat(tmp_path / "heartbeat")


def test_liveness_follows_the_consumer_heartbeat(heartbeat: Heartbeat, redis_url: str) -> None:
    state = ProbeState(
        heartbeat=heartbeat,
        max_age=0.5,
        startup_grace=0.5,
        broker_url=redis_url,
        registry=build_registry(redis_url, ["events", "default"], heartbeat.age),
    )
    with serve(state) as base:
        starting = httpx.get(f"{base}/health", timeout=5)
        assert (starting.status_code, starting.json()["status"]) == (200, "starting")
        time.sleep(0.6)
        never = httpx.get(f"{base}/health", timeout=5)
        assert (never.status_code, never.json()["code"]) == (503, "consumer_stalled")

        heartbeat.beat()
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
        assert heartbeat.path.exists()
        time.sleep(0.6)
        stalled = httpx.get(f"{base}/health", timeout=5)
        assert stalled.status_code == 503
        assert "heartbeat" in stalled.json()["message"]

        head = raw_request(f"{base}/health", "HEAD")
        assert head.status == 503
        assert head.body == b""
        assert head.header("content-length") == [str(len(stalled.content))]

        metrics = httpx.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200
        assert "worker_consumer_heartbeat_age_seconds" in metrics.text
        assert httpx.get(f"{base}/nope", timeout=5).status_code == 404


def consuming_state(heartbeat: Heartbeat, broker_url: str) -> ProbeState:
    """Probes whose liveness stays green for a minute, and without broker gauges."""
    return ProbeState(
        heartbeat=heartbeat,
        max_age=60,
        startup_grace=60,
        broker_url=broker_url,
        registry=build_registry(None, [], heartbeat.age),
    )


def test_readiness_needs_a_ready_consumer_and_a_reachable_broker(
    heartbeat: Heartbeat, redis_url: str
) -> None:
    up = consuming_state(heartbeat, redis_url)
    with serve(up) as base:
        assert httpx.get(f"{base}/ready", timeout=5).status_code == 503  # not consuming yet
        up.ready = True
        ready = httpx.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["checks"]["broker"]["ok"] is True
        up.draining = True
        draining = httpx.get(f"{base}/ready", timeout=5)
        assert draining.status_code == 503
        assert draining.json()["checks"]["consumer"]["detail"] == "draining"

    down = consuming_state(heartbeat, f"redis://127.0.0.1:{free_port()}/0")
    down.ready = True
    with serve(down) as base:
        answer = httpx.get(f"{base}/ready", timeout=5)
        assert answer.status_code == 503
        assert answer.json()["failing"] == ["broker"]
        # Liveness never looks at the broker.
        heartbeat.beat()
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200


def test_metrics_name_the_build_and_the_leading_beats_last_tick(
    heartbeat: Heartbeat, redis_url: str
) -> None:
    registry = build_registry(redis_url, ["events", "default"], heartbeat.age)
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        client.delete(BEAT_HEARTBEAT_KEY)
        families = {family.name: family for family in registry.collect()}
        # No Beat has ticked: the family is there, without a sample.
        assert families["worker_beat_heartbeat_timestamp_seconds"].samples == []
        build = [(sample.labels, sample.value) for sample in families["nova_build_info"].samples]
        assert build == [({"service": "worker", "version": metadata.version("nova-worker")}, 1.0)]

        client.set(BEAT_HEARTBEAT_KEY, "1764171234.500")
        families = {family.name: family for family in registry.collect()}
        ticks = families["worker_beat_heartbeat_timestamp_seconds"].samples
        assert [sample.value for sample in ticks] == [1764171234.5]
    finally:
        client.delete(BEAT_HEARTBEAT_KEY)
        client.close()


def without_timings(body: dict[str, Any]) -> dict[str, Any]:
    checks = {
        name: {k: v for k, v in check.items() if k != "ms"}
        for name, check in body["checks"].items()
    }
    return {**body, "checks": checks}


def test_readiness_answers_like_every_services_ready(heartbeat: Heartbeat, redis_url: str) -> None:
    """The same status codes, headers and body as ``/ready`` of a service built by the kit,
    given the same checks (a broker ping, and the consumer's state)."""
    state = consuming_state(heartbeat, redis_url)
    consumer_detail = {"now": "starting"}

    async def broker() -> None:
        async with AsyncRedis.from_url(redis_url) as client:
            await client.ping()

    async def consumer() -> None:
        if consumer_detail["now"] != "ok":
            raise NotReadyError(consumer_detail["now"])

    readiness = Readiness(checks={"broker": broker, "consumer": consumer})
    service = Litestar(route_handlers=[ready], state=State({READINESS_STATE_KEY: readiness}))
    with serve(state) as base, TestClient(service) as client:
        for ready_now, draining, detail in [
            (False, False, "starting"),
            (True, False, "ok"),
            (True, True, "draining"),
        ]:
            consumer_detail["now"] = detail
            state.ready, state.draining = ready_now, draining
            worker = httpx.get(f"{base}/ready", timeout=5)
            kit = client.get("/ready")
            assert worker.status_code == kit.status_code
            assert worker.headers["content-type"] == kit.headers["content-type"]
            assert worker.headers["cache-control"] == kit.headers["cache-control"]
            assert without_timings(worker.json()) == without_timings(kit.json())
