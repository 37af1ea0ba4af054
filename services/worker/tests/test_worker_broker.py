"""Losing Redis while a channel holds unacknowledged messages (``nova_worker.broker``)."""

from __future__ import annotations

from typing import Any

from kombu import Connection, Exchange, Queue
from redis import Redis

from nova_kit.embedded import EmbeddedRedis
from nova_worker import broker

PREFIX = "broker-test:"


def test_a_lost_connection_closes_like_celery_does_without_crashing(
    disposable_redis: EmbeddedRedis,
) -> None:
    broker.install()
    options = {"global_keyprefix": PREFIX}
    work = Queue("work", Exchange("work", type="direct"), routing_key="work")
    # An auto-delete fanout queue on the channel, as the worker's remote-control mailbox.
    mailbox = Queue("node.mailbox", Exchange("mailbox", type="fanout"), auto_delete=True)
    with Connection(disposable_redis.url, transport_options=options) as publisher:
        publisher.Producer().publish(
            {"n": 1}, exchange=work.exchange, routing_key="work", declare=[work]
        )

    connection = Connection(disposable_redis.url, transport_options=options)
    channel: Any = connection.default_channel
    received: list[object] = []
    connection.Consumer([mailbox], callbacks=[lambda body, message: None], no_ack=True).consume()
    connection.Consumer(
        [work], callbacks=[lambda body, message: received.append(message)], no_ack=False
    ).consume()
    connection.drain_events(timeout=5)
    assert received, "the message was not delivered"
    channel._brpop_start()  # waiting for the next message, as a consumer does
    channel._subscribe()

    disposable_redis.stop()
    # What Celery's consumer does after losing the broker: collect, then close (a
    # connection error is fine; anything else ends the worker).
    connection.collect(socket_timeout=2)
    connection.close()
    assert channel.closed

    # The unacknowledged message was not lost: it waits in Redis for recovery to requeue it.
    disposable_redis.start()
    client = Redis.from_url(disposable_redis.url)
    try:
        assert client.hlen(f"{PREFIX}unacked") == 1
    finally:
        client.close()
