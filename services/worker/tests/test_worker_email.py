"""send_email: SMTP delivery through the sink, logged once per idempotency key."""

from __future__ import annotations

import asyncio
import mailbox
import os
import re
import signal
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from worker_testing import fetch, make_settings

from nova_kit import db, tracing
from nova_kit.embedded import free_port
from nova_worker.clients import PermanentError, TransientError
from nova_worker.config import WorkerSettings
from nova_worker.mail import Mailer
from nova_worker.services import EmailRequest, EmailService, JobInProgressError
from nova_worker.sink import SmtpSink


@pytest.fixture
async def sessions(clean_worker_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    settings = make_settings(clean_worker_db, "redis://127.0.0.1:1/0")
    engine = db.create_engine(db.DatabaseConfig.from_settings(settings), pooled=False)
    yield db.create_session_factory(engine)
    await engine.dispose()


@pytest.fixture(params=["driver", "traced"])
def statements(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The delivery's statements on the driver, and through SQLAlchemy as while traced."""
    if request.param == "traced":
        monkeypatch.setattr(tracing, "sql_traced", lambda engine: True)
    return str(request.param)


def email_service(
    sessions: async_sessionmaker[AsyncSession], settings: WorkerSettings
) -> EmailService:
    return EmailService(
        sessions,
        Mailer(settings),
        sender=settings.mail_from,
        product=settings.product_name,
        lock_timeout_seconds=30,
    )


WELCOME = EmailRequest(
    idempotency_key="welcome:event-1",
    to="ada@example.com",
    template="welcome",
    context={"display_name": "Ada", "email": "ada@example.com"},
)


async def test_a_retried_delivery_sends_one_message(
    sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink,
    clean_worker_db: str,
    statements: str,
) -> None:
    service = email_service(sessions, make_settings(clean_worker_db, "", smtp_sink))

    assert await service.deliver(WELCOME) is True
    assert await service.deliver(WELCOME) is False
    assert await service.deliver(WELCOME) is False

    messages = smtp_sink.messages()
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Welcome to Nova"
    assert message["X-Nova-Idempotency-Key"] == "welcome:event-1"
    assert "Hello Ada" in message.get_content()
    rows = await fetch(clean_worker_db, "SELECT * FROM worker.email_deliveries")
    assert [(r["idempotency_key"], r["status"], r["attempts"]) for r in rows] == [
        ("welcome:event-1", "sent", 1)
    ]
    assert rows[0]["sent_at"] is not None
    assert rows[0]["message_id"] == message["Message-ID"]


async def test_concurrent_duplicates_send_one_message(
    sessions: async_sessionmaker[AsyncSession],
    clean_worker_db: str,
    tmp_path: Path,
    statements: str,
) -> None:
    # A slow SMTP server keeps the first delivery inside its transaction while the
    # duplicates arrive: they must neither send nor wait forever.
    with SmtpSink(tmp_path / "slow", port=free_port(), delay_seconds=1.0) as sink:
        service = email_service(sessions, make_settings(clean_worker_db, "", sink))
        results = await asyncio.gather(
            *(service.deliver(WELCOME) for _ in range(3)), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == [
            "JobInProgressError",
            "JobInProgressError",
            "bool",
        ]
        assert all(isinstance(r, JobInProgressError) for r in results if r is not True)
        assert len(sink.messages()) == 1
        # The retry that follows finds the message sent.
        assert await service.deliver(WELCOME) is False
        assert len(sink.messages()) == 1


async def test_an_unreachable_server_is_transient_and_logged(
    sessions: async_sessionmaker[AsyncSession], clean_worker_db: str, statements: str
) -> None:
    settings = make_settings(clean_worker_db, "")
    settings.smtp_port = free_port()  # nothing listens there
    service = email_service(sessions, settings)

    with pytest.raises(TransientError):
        await service.deliver(WELCOME)

    rows = await fetch(
        clean_worker_db, "SELECT status, attempts, last_error FROM worker.email_deliveries"
    )
    assert [(r["status"], r["attempts"]) for r in rows] == [("failed", 1)]
    assert "TransientError" in rows[0]["last_error"]


async def test_a_transaction_left_idle_by_a_stuck_send_is_ended_by_the_server(
    sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink,
    clean_worker_db: str,
    statements: str,
) -> None:
    # The row lock's transaction carries an idle timeout (the task's hard limit): a send that
    # hangs past it cannot hold the lock for ever. The delivery is then not recorded sent, the
    # failure is, and the next attempt finds the row free.
    settings = make_settings(clean_worker_db, "", smtp_sink)
    mailer = Mailer(settings)

    async def stuck(message: EmailMessage) -> None:
        await asyncio.sleep(2.5)

    mailer.send = stuck  # type: ignore[method-assign]
    service = EmailService(
        sessions, mailer, sender=settings.mail_from, product="Nova", lock_timeout_seconds=1
    )

    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the lost connection raises
        await service.deliver(WELCOME)

    rows = await fetch(
        clean_worker_db, "SELECT status, attempts, sent_at FROM worker.email_deliveries"
    )
    assert [(r["status"], r["attempts"], r["sent_at"]) for r in rows] == [("failed", 1, None)]
    assert await email_service(sessions, settings).deliver(WELCOME) is True
    assert len(smtp_sink.messages()) == 1


async def test_an_unknown_template_is_permanent(
    sessions: async_sessionmaker[AsyncSession], clean_worker_db: str, smtp_sink: SmtpSink
) -> None:
    service = email_service(sessions, make_settings(clean_worker_db, "", smtp_sink))
    with pytest.raises(PermanentError):
        await service.deliver(EmailRequest("k", "a@example.com", "no-such-template", {}))
    assert smtp_sink.messages() == []


class Terminated(BaseException):
    """What the test's SIGTERM handler raises, as a process would die."""


async def test_a_sigterm_after_smtp_accepted_waits_for_the_commit(
    sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink,
    clean_worker_db: str,
    statements: str,
) -> None:
    # Celery terminates a running task with SIGTERM when it loses the broker connection: if
    # that lands between the SMTP server accepting the message and the commit, the message
    # must still be recorded sent, or the redelivered task sends it again.
    settings = make_settings(clean_worker_db, "", smtp_sink)
    mailer = Mailer(settings)
    send = mailer.send

    async def send_then_sigterm(message: EmailMessage) -> None:
        await send(message)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)  # the handler runs here unless the signal is held back

    mailer.send = send_then_sigterm  # type: ignore[method-assign]
    service = EmailService(
        sessions, mailer, sender=settings.mail_from, product="Nova", lock_timeout_seconds=30
    )

    def die(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, die)
    try:
        with pytest.raises(Terminated):
            await service.deliver(WELCOME)
    finally:
        signal.signal(signal.SIGTERM, previous)

    rows = await fetch(clean_worker_db, "SELECT status FROM worker.email_deliveries")
    assert [r["status"] for r in rows] == ["sent"]
    # The redelivered task finds it sent: one message in all.
    assert await email_service(sessions, settings).deliver(WELCOME) is False
    assert len(smtp_sink.messages()) == 1


def _request(index: int) -> EmailRequest:
    return EmailRequest(
        idempotency_key=f"reuse:{index}",
        to=f"user-{index}@example.com",
        template="welcome",
        context={"display_name": f"User {index}"},
    )


async def test_several_mails_travel_over_one_connection(
    sessions: async_sessionmaker[AsyncSession], smtp_sink: SmtpSink, clean_worker_db: str
) -> None:
    settings = make_settings(clean_worker_db, "", smtp_sink)
    mailer = Mailer(settings)
    service = EmailService(
        sessions, mailer, sender=settings.mail_from, product="Nova", lock_timeout_seconds=30
    )
    try:
        for index in range(5):
            assert await service.deliver(_request(index)) is True
    finally:
        await mailer.close()

    assert sorted(m["To"] for m in smtp_sink.messages()) == [
        f"user-{index}@example.com" for index in range(5)
    ]
    # The server saw every message come from the same client address: one connection.
    assert len(smtp_sink.handler.peers) == 5
    assert len(set(smtp_sink.handler.peers)) == 1
    assert mailer.connections_opened == 1


async def test_a_connection_is_replaced_after_its_message_budget(
    smtp_sink: SmtpSink, clean_worker_db: str
) -> None:
    settings = make_settings(clean_worker_db, "", smtp_sink)
    settings.smtp_max_messages_per_connection = 2
    mailer = Mailer(settings)
    try:
        for index in range(5):
            await mailer.send(_plain_message(index))
    finally:
        await mailer.close()

    assert len(smtp_sink.messages()) == 5
    assert mailer.connections_opened == 3
    assert len(set(smtp_sink.handler.peers)) == 3


def _plain_message(index: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Nova <no-reply@nova.localhost>"
    message["To"] = f"user-{index}@example.com"
    message["Subject"] = f"message {index}"
    message.set_content(f"body {index}")
    return message


async def test_a_dropped_connection_is_reopened_and_the_mail_delivered(
    sessions: async_sessionmaker[AsyncSession], clean_worker_db: str, tmp_path: Path
) -> None:
    port = free_port()
    first = SmtpSink(tmp_path / "first", port=port).start()
    settings = make_settings(clean_worker_db, "", first)
    mailer = Mailer(settings)
    service = EmailService(
        sessions, mailer, sender=settings.mail_from, product="Nova", lock_timeout_seconds=30
    )
    try:
        assert await service.deliver(_request(1)) is True
        # The server goes away (a restart): the connection the mailer holds is closed under it.
        first.stop()
        with SmtpSink(tmp_path / "second", port=port) as second:
            assert await service.deliver(_request(2)) is True
            assert [m["To"] for m in second.messages()] == ["user-2@example.com"]
            # The next message reuses the new connection.
            assert await service.deliver(_request(3)) is True
            assert len(set(second.handler.peers)) == 1
    finally:
        await mailer.close()

    assert [m["To"] for m in first.messages()] == ["user-1@example.com"]
    assert mailer.connections_opened == 2
    rows = await fetch(
        clean_worker_db,
        "SELECT idempotency_key, status, attempts FROM worker.email_deliveries ORDER BY 1",
    )
    assert [(r["idempotency_key"], r["status"], r["attempts"]) for r in rows] == [
        ("reuse:1", "sent", 1),
        ("reuse:2", "sent", 1),
        ("reuse:3", "sent", 1),
    ]


async def test_a_server_that_stays_down_is_transient_and_the_next_attempt_delivers(
    sessions: async_sessionmaker[AsyncSession], clean_worker_db: str, tmp_path: Path
) -> None:
    port = free_port()
    sink = SmtpSink(tmp_path / "first", port=port).start()
    settings = make_settings(clean_worker_db, "", sink)
    mailer = Mailer(settings)
    service = EmailService(
        sessions, mailer, sender=settings.mail_from, product="Nova", lock_timeout_seconds=30
    )
    try:
        assert await service.deliver(_request(1)) is True
        sink.stop()
        # Nothing listens now: the reused connection is closed and a new one is refused. The
        # task's retry (Celery's autoretry on TransientError) finds the server back.
        with pytest.raises(TransientError):
            await service.deliver(_request(2))
        with SmtpSink(tmp_path / "second", port=port) as back:
            assert await service.deliver(_request(2)) is True
            assert [m["To"] for m in back.messages()] == ["user-2@example.com"]
    finally:
        await mailer.close()

    rows = await fetch(
        clean_worker_db,
        "SELECT status, attempts FROM worker.email_deliveries WHERE idempotency_key = 'reuse:2'",
    )
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 2)]


async def test_the_sink_writes_a_maildir_as_the_standard_library_does(
    smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    # Its files are those mailbox.Maildir.add writes (name scheme, content), in new/.
    client = aiosmtplib.SMTP(hostname=smtp_sink.host, port=smtp_sink.port)
    await client.connect()
    message = _plain_message(1)
    await client.send_message(message)
    await client.quit()

    stored = mailbox.Maildir(smtp_sink.maildir, create=False)
    (key,) = stored.keys()
    assert re.fullmatch(rf"\d+\.M\d+P{os.getpid()}Q\d+\.[^/:]+", key)
    assert not list((smtp_sink.maildir / "tmp").iterdir())
    raw = stored.get_bytes(key)
    assert raw.startswith(b"X-Nova-Sink-Mail-From: ")
    reference = mailbox.Maildir(tmp_path / "reference", create=True)
    reference_key = reference.add(raw)
    assert reference.get_bytes(reference_key) == raw
    (received,) = smtp_sink.messages()
    assert received["Subject"] == message["Subject"]
    assert received.get_content().replace("\r\n", "\n") == message.get_content()
