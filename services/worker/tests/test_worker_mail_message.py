"""build_message: the bytes sent are those of a message built with ``email.policy.default``."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message

from nova_worker import mail
from nova_worker.mail import RenderedMail, build_message, message_id, render

DATE = "Mon, 07 Dec 2026 12:00:00 +0000"


def reference(*, sender: str, recipient: str, rendered: RenderedMail, key: str) -> EmailMessage:
    """The message as the standard library builds it, header by header."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = DATE
    message["Message-ID"] = message_id(key, sender)
    message["X-Nova-Idempotency-Key"] = key
    message.set_content(rendered.body)
    return message


CONTEXT: dict[str, Any] = {
    "display_name": "Ada Lovelace",
    "email": "ada@example.com",
    "link": "https://nova.localhost/verify?token=abc",
    "expires_at": "2026-12-08T12:00:00+00:00",
    "occurred_at": "2026-12-07T12:00:00+00:00",
    "reason": "inactive",
    "provider": "GitHub",
}

SENDERS = ["Nova <no-reply@nova.localhost>", "no-reply@nova.localhost", '"Nova, Inc." <a@b.c>']
RECIPIENTS = [
    "ada@example.com",
    "Ada Lovelace <ada@example.com>",
    "Zoë Ünïcode <zoe@example.com>",
    '"Last, First" <first.last@example.com>',
]
PLAIN = [
    RenderedMail(subject="Hello", body="plain body\n"),
    RenderedMail(subject="Grüße aus Köln — ✓", body="Körper mit Umlauten\n"),
    RenderedMail(subject="a very long subject " * 8, body="long line " * 40 + "\n"),
    RenderedMail(subject="=?utf-8?q?encoded?= words", body="x" * 2000),
    RenderedMail(subject="  spaced   out  ", body="line\r\nwith CRLF\n\nand more\n"),
]


def renders() -> list[RenderedMail]:
    return [render(name, CONTEXT, "Nova") for name in mail.TEMPLATES if name != "plain"] + PLAIN


@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("recipient", RECIPIENTS)
def test_a_built_message_flattens_to_the_standard_librarys_bytes(
    sender: str, recipient: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "formatdate", lambda **_: DATE)
    for rendered in renders():
        for key in ("welcome:event-1", "reset:" + "k" * 150):
            built = build_message(
                sender=sender,
                recipient=recipient,
                mail=rendered,
                msg_id=message_id(key, sender),
                key=key,
            )
            expected = reference(sender=sender, recipient=recipient, rendered=rendered, key=key)
            assert built.items() == expected.items()
            assert extract_sender(built) == extract_sender(expected)
            assert extract_recipients(built) == extract_recipients(expected)
            for utf8, cte_type in ((False, "8bit"), (False, "7bit"), (True, "8bit")):
                assert flatten_message(built, utf8=utf8, cte_type=cte_type) == flatten_message(
                    expected, utf8=utf8, cte_type=cte_type
                )
            assert built.as_bytes() == expected.as_bytes()
