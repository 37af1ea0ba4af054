"""The verification and password-reset mails: their links, and nothing sent twice."""

from __future__ import annotations

import httpx

from nova_kit.events import AccountEvent
from nova_worker import events
from nova_worker.clients import AuthClient, ServiceTokenProvider
from nova_worker.config import WorkerSettings
from nova_worker.mail import render


def test_links_point_to_the_frontend_with_the_token_encoded() -> None:
    mail = render(
        "verify_email",
        {
            "email": "ada@example.com",
            "link": events._link("https://app.example.com/", "verify-email", "a+b/c=="),
            "expires_at": "2026-12-08T10:00:00+00:00",
        },
    )
    assert mail.subject == "Verify your Nova e-mail address"
    assert "https://app.example.com/verify-email?token=a%2Bb%2Fc%3D%3D" in mail.body
    assert "until 2026-12-08T10:00:00+00:00" in mail.body
    reset = render(
        "reset_password",
        {"email": "ada@example.com", "link": "https://app.example.com/reset-password?token=t"},
        product="Acme",
    )
    assert reset.subject == "Reset your Acme password"
    assert "https://app.example.com/reset-password?token=t" in reset.body
    assert "signs out every session" in reset.body


async def test_an_event_whose_token_was_dropped_mails_nothing() -> None:
    """Confirmed before (the outbox drops the token then): the mail went out already."""
    settings = WorkerSettings(environment="test", auth_url="http://127.0.0.1:9")  # never called
    async with httpx.AsyncClient() as http:
        auth = AuthClient(http, settings, ServiceTokenProvider(http, settings))
        user = "00000000-0000-0000-0000-000000000001"
        verification = AccountEvent.new("user.verification_requested", user, {})
        assert await events.verification_email(verification, auth, "https://x.test") is None
        reset = AccountEvent.new("user.password_reset_requested", user, {})
        assert await events.password_reset_email(reset, auth, "https://x.test") is None
