"""Losing Redis while a channel holds unacknowledged messages (``nova_worker.broker``)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from celery import Celery
from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.transport import redis as kombu_redis
from packaging.specifiers import SpecifierSet
from redis import Redis

from nova_kit.embedded import EmbeddedRedis
from nova_worker import broker
from nova_worker.celery_app import celery_config
from nova_worker.config import WorkerSettings

PREFIX = "broker-test:"


def test_a_lost_connection_closes_like_celery_does_without_crashing(
    disposable_redis: EmbeddedRedis,
) -> None:
    # kombu is untyped: its calls below carry ``no-untyped-call`` ignores.
    options = {"global_keyprefix": PREFIX}
    work = Queue("work", Exchange("work", type="direct"), routing_key="work")  # type: ignore[no-untyped-call]
    # An auto-delete fanout queue on the channel, as the worker's remote-control mailbox.
    mailbox = Queue("node.mailbox", Exchange("mailbox", type="fanout"), auto_delete=True)  # type: ignore[no-untyped-call]
    with Connection(disposable_redis.url, transport_options=options) as publisher:  # type: ignore[no-untyped-call]  # kombu's own transport
        publisher.Producer().publish(
            {"n": 1}, exchange=work.exchange, routing_key="work", declare=[work]
        )

    connection = Connection(  # type: ignore[no-untyped-call]
        disposable_redis.url, transport=broker.Transport, transport_options=options
    )
    assert isinstance(connection.default_channel, broker.Channel)
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


def test_the_worker_app_selects_the_transport_through_celery_settings(redis_url: str) -> None:
    """The worker's own connections use :class:`broker.Channel`; kombu's class is untouched."""
    app = Celery("broker-test", set_as_current=False)
    app.conf.update(celery_config(WorkerSettings(environment="test", redis_url=redis_url)))
    with app.connection_for_write() as connection:
        assert isinstance(connection.default_channel, broker.Channel)
    assert kombu_redis.Transport.Channel is not broker.Channel


def test_kombu_is_a_version_the_channel_was_checked_against() -> None:
    """``broker.Channel`` calls private methods of kombu's Redis channel: a kombu outside the
    checked range must be read against it (and ADR 0014) before the range is widened."""
    for name, checked in broker.CHECKED_VERSIONS.items():
        installed = version(name)
        assert installed in SpecifierSet(checked), (
            f"{name} {installed} is outside {checked}: re-check nova_worker.broker"
        )
    assert callable(getattr(kombu_redis.Channel, "_disconnect_pools", None))
    assert callable(getattr(kombu_redis.Channel, "_close_clients", None))
