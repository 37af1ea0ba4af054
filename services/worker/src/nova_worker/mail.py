"""E-mail: the messages Nova sends, and delivery over SMTP with aiosmtplib.

Each message carries a ``Message-ID`` derived from its idempotency key, so even in the one
window where a delivery may be repeated (the process dies after the SMTP server accepted the
message and before the delivery row was marked sent) the copies are recognisably the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
from dataclasses import dataclass
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import aiosmtplib

from nova_worker.clients import PermanentError, TransientError
from nova_worker.config import WorkerSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    body: str


def _name(context: dict[str, Any]) -> str:
    return str(context.get("display_name") or "there")


def _welcome(context: dict[str, Any], product: str) -> RenderedMail:
    return RenderedMail(
        subject=f"Welcome to {product}",
        body=(
            f"Hello {_name(context)},\n\n"
            f"your {product} account is ready. You can sign in with {context.get('email', '')}.\n\n"
            f"— The {product} team\n"
        ),
    )


def _password_changed(context: dict[str, Any], product: str) -> RenderedMail:
    return RenderedMail(
        subject=f"Your {product} password was changed",
        body=(
            f"Hello {_name(context)},\n\n"
            f"the password of your {product} account was changed"
            f"{' at ' + str(context['occurred_at']) if context.get('occurred_at') else ''}. "
            "All your sessions have been signed out.\n\n"
            "If you did not do this, reset your password now and contact support.\n\n"
            f"— The {product} team\n"
        ),
    )


def _account_disabled(context: dict[str, Any], product: str) -> RenderedMail:
    reason = str(context.get("reason") or "")
    why = {
        "inactive": "it has not been used for a long time",
        "admin": "an administrator disabled it",
    }.get(reason, reason or "of a change to its status")
    return RenderedMail(
        subject=f"Your {product} account was disabled",
        body=(
            f"Hello {_name(context)},\n\n"
            f"your {product} account was disabled because {why}. "
            "Contact support to enable it again.\n\n"
            f"— The {product} team\n"
        ),
    )


def _already_registered(context: dict[str, Any], product: str) -> RenderedMail:
    return RenderedMail(
        subject=f"You already have a {product} account",
        body=(
            "Hello,\n\n"
            f"someone asked to register {context.get('email', 'this address')} with {product}, "
            "but it already has an account. Sign in with it, or reset your password if you "
            "have forgotten it.\n\n"
            "If this was not you, you can ignore this e-mail: nothing has changed.\n\n"
            f"— The {product} team\n"
        ),
    )


def _until(context: dict[str, Any]) -> str:
    return f" It works once, until {context['expires_at']}." if context.get("expires_at") else ""


def _verify_email(context: dict[str, Any], product: str) -> RenderedMail:
    return RenderedMail(
        subject=f"Verify your {product} e-mail address",
        body=(
            f"Hello {_name(context)},\n\n"
            f"please confirm that {context.get('email', 'this address')} is yours by opening "
            f"this link:\n\n{context['link']}\n\n"
            f"{_until(context).strip()}\n\n"
            "If you did not create an account, you can ignore this e-mail.\n\n"
            f"— The {product} team\n"
        ),
    )


def _reset_password(context: dict[str, Any], product: str) -> RenderedMail:
    return RenderedMail(
        subject=f"Reset your {product} password",
        body=(
            f"Hello {_name(context)},\n\n"
            f"someone asked to reset the password of the {product} account of "
            f"{context.get('email', 'this address')}. To choose a new password, open this "
            f"link:\n\n{context['link']}\n\n"
            f"{_until(context).strip()} Setting a new password signs out every session.\n\n"
            "If this was not you, ignore this e-mail: your password stays as it is.\n\n"
            f"— The {product} team\n"
        ),
    )


def _at(context: dict[str, Any]) -> str:
    return f" at {context['occurred_at']}" if context.get("occurred_at") else ""


def _two_factor_enabled(context: dict[str, Any], product: str) -> RenderedMail:
    return RenderedMail(
        subject=f"Two-factor sign-in is on for your {product} account",
        body=(
            f"Hello {_name(context)},\n\n"
            f"two-factor sign-in was turned on for your {product} account{_at(context)}: "
            "signing in now asks for a code from your authenticator app. Keep your recovery "
            "codes somewhere safe.\n\n"
            "If you did not do this, change your password now and contact support.\n\n"
            f"— The {product} team\n"
        ),
    )


def _two_factor_disabled(context: dict[str, Any], product: str) -> RenderedMail:
    who = "an administrator" if context.get("by") == "admin" else "you (or someone signed in)"
    return RenderedMail(
        subject=f"Two-factor sign-in is off for your {product} account",
        body=(
            f"Hello {_name(context)},\n\n"
            f"two-factor sign-in was turned off for your {product} account{_at(context)} "
            f"by {who}: signing in now needs only your password.\n\n"
            "If you did not ask for this, change your password, turn two-factor sign-in on "
            "again and contact support.\n\n"
            f"— The {product} team\n"
        ),
    )


def _identity_linked(context: dict[str, Any], product: str) -> RenderedMail:
    provider = str(context.get("provider") or "an identity provider")
    return RenderedMail(
        subject=f"{provider} can now sign in to your {product} account",
        body=(
            f"Hello {_name(context)},\n\n"
            f"your {product} account can now be signed in to with your {provider} identity.\n\n"
            "If you did not do this, sign in, unlink it in your security settings, change your "
            "password and contact support.\n\n"
            f"— The {product} team\n"
        ),
    )


def _plain(context: dict[str, Any], product: str) -> RenderedMail:
    return RenderedMail(subject=str(context["subject"]), body=str(context["body"]))


TEMPLATES = {
    "welcome": _welcome,
    "password_changed": _password_changed,
    "account_disabled": _account_disabled,
    "already_registered": _already_registered,
    "verify_email": _verify_email,
    "reset_password": _reset_password,
    "two_factor_enabled": _two_factor_enabled,
    "two_factor_disabled": _two_factor_disabled,
    "identity_linked": _identity_linked,
    "plain": _plain,
}


def render(template: str, context: dict[str, Any], product: str = "Nova") -> RenderedMail:
    try:
        renderer = TEMPLATES[template]
    except KeyError:
        raise PermanentError(f"unknown e-mail template {template!r}") from None
    try:
        return renderer(context, product)
    except KeyError as error:
        raise PermanentError(f"e-mail template {template!r} needs {error}") from None


@functools.lru_cache(maxsize=16)
def _domain(sender: str) -> str:
    """The domain of the sender's address (its ``Message-ID``s'), parsed once per sender."""
    return parseaddr(sender)[1].rpartition("@")[2] or "nova.localhost"


def message_id(idempotency_key: str, sender: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{_domain(sender)}>"


class _HeaderFactory(HeaderRegistry):
    """The standard header registry (``email.policy.default``'s), remembering what it built.

    ``HeaderRegistry`` builds a new header class on every lookup, and every header of every
    message is parsed again: most of the CPU of building and sending a message. The class is
    kept per header name, and the parsed header per value for the headers whose values repeat
    from message to message (the sender, a template's subject, the MIME headers). A header is
    an immutable string carrying its parse, so the messages and their bytes are the same as
    with ``email.policy.default``.
    """

    REPEATING = frozenset(
        {"from", "subject", "content-type", "content-transfer-encoding", "mime-version"}
    )
    KEEP = 256

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._values: dict[tuple[str, str], BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found

    def __call__(self, name: str, value: str) -> BaseHeader:
        if name.lower() not in self.REPEATING or not isinstance(value, str):
            return super().__call__(name, value)
        key = (name, value)
        found = self._values.get(key)
        if found is None:
            if len(self._values) >= self.KEEP:
                self._values.clear()
            found = self._values[key] = super().__call__(name, value)
        return found


MESSAGE_POLICY = policy.default.clone(header_factory=_HeaderFactory())
"""``email.policy.default``, with a header factory that remembers (:class:`_HeaderFactory`)."""


def build_message(
    *, sender: str, recipient: str, mail: RenderedMail, msg_id: str, key: str
) -> EmailMessage:
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = msg_id
    message["X-Nova-Idempotency-Key"] = key
    message.set_content(mail.body)
    return message


# A reused connection that fails with one of these was closed under us (an idle timeout, a
# restarted server, 421 "closing"), or the server never saw the message: the message goes out
# again over a new connection. If the reply to a message's DATA was what got lost, the copy
# carries the same Message-ID, as a Celery retry of the task would.
_STALE_CONNECTION = (aiosmtplib.SMTPServerDisconnected, ConnectionError)
SERVICE_CLOSING = 421


class Mailer:
    """Sends messages over one SMTP connection per process, opened on first use (connect, EHLO,
    STARTTLS/TLS and login from settings) and reused from message to message.

    A connection is replaced after ``smtp_max_messages_per_connection`` messages or
    ``smtp_idle_seconds`` without use. A reused connection found closed is reopened and the
    message sent over the new one; a failure on a fresh connection raises (the task retries), and
    the connection is dropped unless the server merely refused the message. One message at a
    time per process (the lock), on the loop the connection was opened on.
    """

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.connections_opened = 0
        self._client: aiosmtplib.SMTP | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._messages = 0
        self._last_used = 0.0

    async def send(self, message: EmailMessage) -> None:
        async with self._loop_lock():
            try:
                await self._send(message)
            except aiosmtplib.SMTPRecipientsRefused as error:
                raise PermanentError(f"SMTP refused the recipient: {error}") from error
            except aiosmtplib.SMTPResponseException as error:
                if 500 <= error.code < 600:
                    raise PermanentError(f"SMTP {error.code}: {error.message}") from error
                raise TransientError(f"SMTP {error.code}: {error.message}") from error
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                raise TransientError(f"SMTP: {type(error).__name__}: {error}") from error

    async def close(self) -> None:
        """Say QUIT on the open connection, if any (process shutdown)."""
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit(timeout=min(self.settings.smtp_timeout_seconds, 5.0))
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A connection (and a lock) belongs to the loop it was made on.
            self._drop()
            self._loop = loop
            self._lock = asyncio.Lock()
        assert self._lock is not None
        return self._lock

    async def _send(self, message: EmailMessage) -> None:
        client = await self._reusable()
        if client is not None:
            try:
                await self._deliver(client, message)
            except _STALE_CONNECTION:
                logger.info("SMTP connection closed by the server; reconnecting")
                self._drop()
            except aiosmtplib.SMTPResponseException as error:
                if error.code != SERVICE_CLOSING:
                    raise
                logger.info("SMTP server closing the connection; reconnecting")
                self._drop()
            else:
                return
        await self._deliver(await self._connect(), message)

    async def _deliver(self, client: aiosmtplib.SMTP, message: EmailMessage) -> None:
        try:
            await client.send_message(message)
        except aiosmtplib.SMTPResponseException as error:
            # The server refused this message; the connection stays usable (aiosmtplib sent
            # RSET), unless the server said it is closing it.
            if error.code == SERVICE_CLOSING:
                self._drop()
            raise
        except BaseException:
            self._drop()
            raise
        self._messages += 1
        self._last_used = time.monotonic()

    async def _reusable(self) -> aiosmtplib.SMTP | None:
        client = self._client
        if client is None:
            return None
        settings = self.settings
        worn = self._messages >= settings.smtp_max_messages_per_connection
        idle = time.monotonic() - self._last_used > settings.smtp_idle_seconds
        if client.is_connected and not worn and not idle:
            return client
        await self.close()
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self.settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            use_tls=settings.smtp_tls,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        self._client = client
        self._messages = 0
        self._last_used = time.monotonic()
        self.connections_opened += 1
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            # RuntimeError: its loop is closed already, and the transport went with it
            with contextlib.suppress(RuntimeError):
                client.close()
