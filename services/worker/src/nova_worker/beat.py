"""Celery Beat for Nova: the schedule, a heartbeat, run counts and a single-leader guard.

Exactly one Beat must run (two would send every entry twice): deploy it as one replica with
the ``Recreate`` strategy. :class:`NovaScheduler` also guards against an accidental second
Beat (a rolling update, a stray ``make dev``): on every tick it takes or renews a Redis lease
``nova:worker:beat:leader``; a Beat that does not hold it sends nothing and only waits.

On every tick the scheduler touches its heartbeat file (``nova-worker healthcheck --beat``
reads it); the leader also stamps the time of the tick in Redis and, for every entry it sends,
counts the run there (the worker's ``/metrics`` reports ``worker_beat_heartbeat_timestamp_seconds``,
``worker_beat_runs_total`` and ``worker_beat_last_run_timestamp_seconds``: a scheduler that
stopped anywhere shows within minutes, not at the next missed entry).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler
from redis import Redis
from redis.exceptions import RedisError

from nova_worker.metrics import BEAT_HEARTBEAT_KEY, BEAT_LAST_RUN_KEY, BEAT_RUNS_KEY
from nova_worker.probes import Heartbeat

logger = logging.getLogger(__name__)

LEADER_KEY = "nova:worker:beat:leader"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
"""


class NovaScheduler(PersistentScheduler):  # type: ignore[misc]  # celery is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        conf = self.app.conf
        self.heartbeat = Heartbeat(Path(conf.nova_beat_heartbeat_file))
        self.lease_seconds = max(int(conf.beat_max_loop_interval * 3), 10)
        self.leader_token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.is_leader = False
        self.redis = Redis.from_url(
            conf.broker_url, socket_timeout=2.0, socket_connect_timeout=2.0, decode_responses=True
        )

    def _lead(self) -> bool:
        try:
            if self.is_leader:
                renewed = self.redis.eval(
                    _RENEW, 1, LEADER_KEY, self.leader_token, self.lease_seconds
                )
                if renewed:
                    return True
                logger.warning("beat: lost the leader lease")
            self.is_leader = bool(
                self.redis.set(LEADER_KEY, self.leader_token, nx=True, ex=self.lease_seconds)
            )
            if self.is_leader:
                logger.info("beat: leading", extra={"token": self.leader_token})
        except RedisError as error:
            logger.warning("beat: Redis unavailable, not scheduling: %s", error)
            self.is_leader = False
        return self.is_leader

    def tick(self, *args: Any, **kwargs: Any) -> float:
        self.heartbeat.beat()
        if not self._lead():
            return float(min(self.max_interval, 5.0))
        interval = super().tick(*args, **kwargs)
        self.heartbeat.beat()
        try:
            self.redis.set(BEAT_HEARTBEAT_KEY, f"{time.time():.3f}")
        except RedisError as error:
            logger.warning("beat: could not stamp the heartbeat in Redis: %s", error)
        return float(interval)

    def apply_async(
        self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hincrby(BEAT_RUNS_KEY, entry.name, 1)
            pipe.hset(BEAT_LAST_RUN_KEY, entry.name, f"{time.time():.3f}")
            pipe.execute()
        except RedisError:
            logger.warning("beat: could not record a run", extra={"entry": entry.name})
        return result

    def close(self) -> None:
        if self.is_leader:
            try:
                if self.redis.get(LEADER_KEY) == self.leader_token:
                    self.redis.delete(LEADER_KEY)
            except RedisError:
                pass
        super().close()
