"""Losing Redis while a channel holds unacknowledged messages (``nova_worker.broker``)."""

from __future__ import annotations

from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from redis import Redis

from nova_kit.embedded import EmbeddedRedis
from nova_worker import broker

PREFIX = "broker-test:"


def test_a_lost_connection_closes_like_celery_does_without_crashing(
    disposable_redis: EmbeddedRedis,
) -> None:
    broker.install()
    # kombu is untyped: its calls below carry ``no-untyped-call`` ignores.
    options = {"global_keyprefix": PREFIX}
    work = Queue("work", Exchange("work", type="direct"), routing_key="work")  # type: ignore[no-untyped-call]
    # An auto-delete fanout queue on the channel, as the worker's remote-control mailbox.
    mailbox = Queue("node.mailbox", Exchange("mailbox", type="fanout"), auto_delete=True)  # type: ignore[no-untyped-call]
    with Connection(disposable_redis.url, transport_options=options) as publisher:  # type: ignore[no-untyped-call]
        publisher.Producer().publish(
            {"n": 1}, exchange=work.exchange, routing_key="work", declare=[work]
        )

    connection = Connection(disposable_redis.url, transport_options=options)  # type: ignore[no-untyped-call]
    channel: Any = connection.default_channel
    received: list[object] = []
    connection.Consumer([mailbox], callbacks=[lambda body, message: None], no_ack=True).consume()  # type: ignore[no-untyped-call]
    connection.Consumer(  # type: ignore[no-untyped-call]
        [work], callbacks=[lambda body, message: received.append(message)], no_ack=False
    ).consume()
    connection.drain_events(timeout=5)  # type: ignore[no-untyped-call]
    assert received, "the message was not delivered"
    channel._brpop_start()  # waiting for the next message, as a consumer does
    channel._subscribe()

    disposable_redis.stop()
    # What Celery's consumer does after losing the broker: collect, then close (a
    # connection error is fine; anything else ends the worker).
    connection.collect(socket_timeout=2)  # type: ignore[no-untyped-call]
    connection.close()  # type: ignore[no-untyped-call]
    assert channel.closed

    # The unacknowledged message was not lost: it waits in Redis for recovery to requeue it.
    disposable_redis.start()
    client = Redis.from_url(disposable_redis.url)
    try:
        assert client.hlen(f"{PREFIX}unacked") == 1
    finally:
        client.close()
