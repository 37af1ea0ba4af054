"""A local SMTP sink: accepts every message and keeps it, for ``make dev`` and the tests.

``nova-worker smtp-sink --port 1025 --maildir .nova/mail`` stores each message it receives as
a file in a Maildir (``new/``), readable with any mail client or :meth:`SmtpSink.messages`.
Never expose it beyond loopback: it accepts mail from anyone for anyone.

A message is written as ``mailbox.Maildir.add`` writes one (a uniquely named file in ``tmp/``,
then moved into ``new/``, with the same name scheme and content), but without its ``fsync``:
a development sink need not survive a power cut, and the flush cost more CPU than the SMTP
conversation itself.
"""

from __future__ import annotations

import asyncio
import itertools
import mailbox
import os
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MaildirHandler:
    """aiosmtpd handler: each accepted message becomes one file of the Maildir."""

    def __init__(self, maildir: Path, delay_seconds: float = 0.0) -> None:
        for folder in ("tmp", "new", "cur"):
            (maildir / folder).mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(maildir, create=False)
        self._path = Path(maildir)
        host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
        self._host = host
        self._serial = itertools.count()
        self.delay_seconds = delay_seconds
        self._lock = threading.Lock()
        self.received = 0
        self.peers: list[Any] = []
        """The client address each message came from, in order (one per connection)."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        header = (
            f"X-Nova-Sink-Mail-From: {envelope.mail_from}\r\n"
            f"X-Nova-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        with self._lock:
            self._store(header + content)
            self.received += 1
            self.peers.append(session.peer)
        return "250 Message accepted for delivery"

    def _store(self, message: bytes) -> str:
        """Write ``message`` into ``new/`` by way of ``tmp/``; answer its key (the name)."""
        now = time.time()
        key = f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(self._serial)}.{self._host}"
        staged = self._path / "tmp" / key
        fd = os.open(staged, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(message.replace(b"\n", os.linesep.encode()))
            os.rename(staged, self._path / "new" / key)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return key


def read_maildir(maildir: Path) -> list[EmailMessage]:
    """Every message of ``maildir``, oldest first."""
    paths: list[Path] = []
    for folder in ("new", "cur"):
        directory = maildir / folder
        if directory.is_dir():
            paths.extend(p for p in directory.iterdir() if p.is_file())
    paths.sort(key=lambda p: (p.stat().st_mtime, p.name))
    messages: list[EmailMessage] = []
    for path in paths:
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


class SmtpSink:
    """The sink on ``host:port``, served from a thread (in-process use and the CLI)."""

    def __init__(
        self,
        maildir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 1025,
        delay_seconds: float = 0.0,
    ) -> None:
        self.maildir = Path(maildir)
        self.handler = MaildirHandler(self.maildir, delay_seconds)
        self.controller = Controller(
            self.handler, hostname=host, port=port, server_hostname="nova-sink", ready_timeout=10
        )
        self.host = host
        self.port = port

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[EmailMessage]:
        return read_maildir(self.maildir)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """Poll until at least ``count`` messages are stored (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            time.sleep(0.1)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
