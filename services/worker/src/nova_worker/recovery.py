"""Put back on their queue the messages a dead worker had taken but not acknowledged.

With ``acks_late`` a message stays in Redis' ``unacked`` hash while its task runs. A pool child
that dies has its message requeued at once (``task_reject_on_worker_lost``), and a worker that
shuts down warm requeues what it had reserved. A worker that is *killed* (SIGKILL, OOM, a lost
node) requeues nothing: Redis would only redeliver after the visibility timeout, an hour.

Every worker therefore runs :class:`UnackedRecovery` in its main process:

- it publishes the delivery tags it holds (received, reserved, running, or waiting for an ETA,
  over its current broker connection: after a reconnection Celery cannot acknowledge what the
  old connection delivered, and cancels those tasks) as a Redis set
  ``nova:worker:held:<incarnation>`` that expires unless refreshed, so the set of a dead
  worker vanishes within ``ttl`` seconds;
- it requeues every unacknowledged message older than ``grace`` seconds that no live worker
  holds, through kombu's own ``restore_by_tag`` (an atomic WATCH/MULTI transaction, so two
  workers recovering at once requeue a message only once).

A requeued message may run a second time; the tasks' idempotency keys make that harmless.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from typing import Any

from celery import Celery
from redis import Redis
from redis.exceptions import RedisError

from nova_worker.metrics import RESTORED

logger = logging.getLogger(__name__)

HELD_PREFIX = "nova:worker:held:"
ALIVE_MARKER = "-"


def new_incarnation() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class UnackedRecovery:
    def __init__(
        self,
        app: Celery,
        redis_url: str,
        *,
        interval: float,
        grace: float,
        ttl: int,
        incarnation: str | None = None,
    ) -> None:
        self.app = app
        self.redis = Redis.from_url(
            redis_url, socket_timeout=2.0, socket_connect_timeout=2.0, decode_responses=True
        )
        self.interval = interval
        self.grace = grace
        self.ttl = ttl
        self.incarnation = incarnation or new_incarnation()
        self._held: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None

    @property
    def held_key(self) -> str:
        return f"{HELD_PREFIX}{self.incarnation}"

    def hold(self, delivery_tag: str, request: Any) -> None:
        """Remember a received message for as long as its request object lives."""
        with self._lock:
            self._held[delivery_tag] = request

    def forget_held(self) -> None:
        """A new broker connection: what the old one delivered can't be acknowledged any more."""
        with self._lock:
            self._held.clear()

    def held_tags(self) -> list[str]:
        with self._lock:
            return list(self._held.keys())

    def publish(self) -> None:
        tags = self.held_tags()
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.held_key)
        pipe.sadd(self.held_key, ALIVE_MARKER, *tags)
        pipe.expire(self.held_key, self.ttl)
        pipe.execute()

    def live_tags(self) -> set[str]:
        tags: set[str] = set()
        for key in self.redis.scan_iter(match=f"{HELD_PREFIX}*", count=200):
            tags.update(str(member) for member in self.redis.smembers(key))
        tags.discard(ALIVE_MARKER)
        return tags

    def _channel(self) -> Any:
        if self._connection is None:
            self._connection = self.app.connection_for_write()
        return self._connection.default_channel

    def recover(self, now: float | None = None) -> int:
        """Requeue the orphaned messages; returns how many."""
        channel = self._channel()
        cutoff = (now or time.time()) - self.grace
        candidates = channel.client.zrange(
            channel.unacked_index_key, 0, cutoff, byscore=True, offset=0, num=1000
        )
        if not candidates:
            return 0
        live = self.live_tags() | set(self.held_tags())
        restored = 0
        for raw in candidates:
            tag = raw.decode() if isinstance(raw, bytes) else str(raw)
            if tag in live:
                continue
            channel.qos.restore_by_tag(tag, leftmost=True)
            restored += 1
        if restored:
            RESTORED.inc(restored)
            logger.warning("requeued messages of workers that died", extra={"count": restored})
        return restored

    def tick(self) -> None:
        try:
            self.publish()
            self.recover()
        except (RedisError, OSError) as error:
            logger.warning("message recovery skipped: %s", error)
            self._reset_connection()
        except Exception:
            logger.exception("message recovery failed")
            self._reset_connection()

    def _reset_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                logger.debug("closing the recovery connection failed", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nova-recovery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        # The held set is left to expire: messages this worker still holds are requeued by
        # Celery's warm shutdown, and anything left over by the recovery of the others.
        self._reset_connection()
