"""A worker that survives losing Redis while it holds unacknowledged messages.

When the broker connection drops, Celery's consumer first ``collect()``\\ s the connection
(closing its channels, then dropping the transport) and then ``close()``\\ s it. kombu's Redis
channel (5.7) does network work before it marks itself closed: it finishes a pending ``BRPOP``
read and deletes its auto-delete fanout queues (the worker's remote-control mailbox). With Redis
gone that work raises, the channel stays open, and the second close then tries to put the
unacknowledged messages back through a transport that no longer has its connection settings:
``AttributeError: 'NoneType' object has no attribute 'hostname'``, which Celery treats as
unrecoverable, and the worker process exits.

:class:`Channel` finishes closing when that network work fails (while the transport still has
its settings) and then raises the connection error as before, which the callers ignore. The
messages it could not restore stay in Redis' unacknowledged set, where
:mod:`nova_worker.recovery` requeues them once Redis is back.

The worker selects :class:`Transport` through Celery's public ``broker_transport`` setting
(:data:`TRANSPORT`); nothing of kombu's is replaced for the rest of the process. Closing the
half-closed channel calls two private methods of kombu's Redis channel: this is the one module of
the worker that does (ADR 0014), checked against the kombu versions in :data:`CHECKED_VERSIONS`
by ``services/worker/tests/test_worker_broker.py``.
"""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

logger = logging.getLogger(__name__)

CHECKED_VERSIONS = {"kombu": ">=5.7,<5.8"}
TRANSPORT = "nova_worker.broker:Transport"
"""Celery's ``broker_transport`` for the worker's Redis broker."""


class Channel(kombu_redis.Channel):
    def close(self) -> None:
        try:
            super().close()  # type: ignore[no-untyped-call]  # kombu is untyped
        except self.connection_errors:
            if not self.closed:
                logger.warning("broker connection lost while closing a channel; closing it anyway")
                self._disconnect_pools()  # type: ignore[no-untyped-call]
                self._close_clients()  # type: ignore[no-untyped-call]
                virtual.Channel.close(self)  # type: ignore[no-untyped-call]
            raise


class Transport(kombu_redis.Transport):
    """kombu's Redis transport (``redis://`` and ``rediss://`` URLs) with :class:`Channel`."""

    Channel = Channel
