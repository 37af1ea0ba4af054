"""Prometheus metrics of the worker, gathered from every process of the prefork pool.

Tasks run in pool children, but ``/metrics`` is served by the main process. The worker runs
``prometheus_client`` in multiprocess mode: :func:`enable_multiprocess` (called by
``nova-worker worker`` before any metric exists) points every process at one directory of
memory-mapped files, and the main process sums them at scrape time. Gauges that describe the
broker (queue depth, unacknowledged messages) and Beat (runs per schedule entry, last run, the
leading Beat's last tick) are read from Redis at scrape time by :class:`BrokerCollector`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError

from nova_kit.events import BROKER_KEY_PREFIX

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
)
# Celery's Redis transport keeps one list per queue and priority step.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)

BEAT_RUNS_KEY = "nova:worker:beat:runs"
BEAT_LAST_RUN_KEY = "nova:worker:beat:last-run"
BEAT_HEARTBEAT_KEY = "nova:worker:beat:heartbeat"


def enable_multiprocess(directory: Path) -> Path:
    """Collect metrics of this process and its children in ``directory`` (emptied first)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    # A metric without labels takes its value holder when it is created, i.e. when this module
    # was imported, before the switch: give those the multiprocess holder too, or their samples
    # never reach /metrics. (Labelled metrics create theirs on first use, after the switch.)
    for metric in UNLABELLED:
        metric._metric_init()
    return directory


def multiprocess_dir() -> Path | None:
    raw = os.environ.get(MULTIPROC_ENV)
    return Path(raw) if raw else None


TASKS = Counter(
    "worker_tasks",
    "Tasks by task name and outcome (received, succeeded, failed, retried, rejected, revoked).",
    ["task", "outcome"],
)
TASK_DURATION = Histogram(
    "worker_task_duration_seconds",
    "Run time of tasks in the pool, by task name.",
    ["task"],
    buckets=DURATION_BUCKETS,
)
DUPLICATES = Counter(
    "worker_duplicate_deliveries",
    "Messages whose idempotency key had already succeeded (their effect was not repeated).",
    ["task"],
)
RESTORED = Counter(
    "worker_restored_messages",
    "Unacknowledged messages of dead workers put back on their queue.",
)
CONFIRMATIONS = Counter(
    "worker_event_confirmations",
    "Account events confirmed to auth as handled (ok), or whose confirmation failed (failed: "
    "auth redelivers them later, and the duplicate confirms).",
    ["outcome"],
)
UNLABELLED = (RESTORED,)


def queue_depth(client: Redis, queue: str) -> int:
    total = 0
    for step in PRIORITY_STEPS:
        suffix = f"{PRIORITY_SEPARATOR}{step}" if step else ""
        total += int(client.llen(f"{BROKER_KEY_PREFIX}{queue}{suffix}"))
    return total


class BrokerCollector(Collector):
    """Queue depth, unacknowledged messages and Beat runs, read from Redis at scrape time."""

    def __init__(self, redis_url: str, queues: list[str]) -> None:
        self.queues = queues
        self.client = Redis.from_url(
            redis_url, socket_timeout=1.0, socket_connect_timeout=1.0, decode_responses=True
        )

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "worker_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        unacked = GaugeMetricFamily(
            "worker_unacked_messages",
            "Messages delivered to a worker and not yet acknowledged.",
        )
        runs = CounterMetricFamily(
            "worker_beat_runs",
            "Schedule entries Beat has sent, by entry.",
            labels=["entry"],
        )
        last_run = GaugeMetricFamily(
            "worker_beat_last_run_timestamp_seconds",
            "When Beat last sent each schedule entry (Unix time).",
            labels=["entry"],
        )
        heartbeat = GaugeMetricFamily(
            "worker_beat_heartbeat_timestamp_seconds",
            "When the leading Beat last ticked (Unix time).",
        )
        up = GaugeMetricFamily("worker_broker_up", "1 if Redis answered the last scrape.")
        try:
            for queue in self.queues:
                depth.add_metric([queue], queue_depth(self.client, queue))
            unacked.add_metric([], int(self.client.hlen(f"{BROKER_KEY_PREFIX}unacked")))
            for entry, count in sorted(self.client.hgetall(BEAT_RUNS_KEY).items()):
                runs.add_metric([str(entry)], float(count))
            for entry, stamp in sorted(self.client.hgetall(BEAT_LAST_RUN_KEY).items()):
                last_run.add_metric([str(entry)], float(stamp))
            ticked = self.client.get(BEAT_HEARTBEAT_KEY)
            if ticked is not None:
                heartbeat.add_metric([], float(ticked))
        except RedisError as error:
            logger.warning("metrics: Redis unavailable", extra={"error": str(error)})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (depth, unacked, runs, last_run, heartbeat, up)


class HeartbeatCollector(Collector):
    def __init__(self, age: object) -> None:
        self.age = age

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "worker_consumer_heartbeat_age_seconds",
            "Seconds since the consumer last touched its heartbeat (-1 before the first).",
        )
        age = self.age() if callable(self.age) else None
        gauge.add_metric([], -1.0 if age is None else float(age))
        yield gauge


class BuildInfoCollector(Collector):
    """``nova_build_info{service="worker", version}``, as every Nova service exports it."""

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "nova_build_info",
            "Always 1; labels carry the service name and version.",
            labels=["service", "version"],
        )
        info.add_metric(["worker", metadata.version("nova-worker")], 1)
        yield info


def build_registry(
    redis_url: str | None, queues: list[str], heartbeat_age: object
) -> CollectorRegistry:
    """The registry ``/metrics`` renders: every process's task metrics plus broker gauges."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    else:
        for collector in (TASKS, TASK_DURATION, DUPLICATES, RESTORED):
            registry.register(collector)
    if redis_url:
        registry.register(BrokerCollector(redis_url, queues))
    registry.register(HeartbeatCollector(heartbeat_age))
    registry.register(BuildInfoCollector())
    return registry


class TaskTimer:
    """Start times of the tasks running in this process, for the duration histogram."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def start(self, task_id: str) -> None:
        self._started[task_id] = time.perf_counter()

    def stop(self, task_id: str) -> float | None:
        started = self._started.pop(task_id, None)
        return None if started is None else time.perf_counter() - started
