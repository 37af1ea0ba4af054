"""End to end: real ``nova-auth serve``, ``nova-users serve`` and ``nova-worker worker`` processes.

Nothing is mocked: auth publishes its outbox to Redis, the worker calls users' and auth's
internal APIs with a service token from auth, and e-mail goes to the SMTP sink.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from celery import Celery
from worker_testing import fetch, metric_value, metrics_text, wait_until

from nova_kit.events import EVENT_TASKS, AccountEvent, publish_event
from nova_kit.testing.plugin import truncate_schema
from nova_kit.testing.stack import migrate, running_stack
from nova_worker.clients import AuthClient, ServiceTokenProvider
from nova_worker.config import WorkerSettings
from nova_worker.sink import SmtpSink

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
VERIFY_SUBJECT = "Verify your Nova e-mail address"
RESET_SUBJECT = "Reset your Nova password"
PUBLIC_URL = "https://app.nova.test"


@pytest.fixture(scope="session")
def stack_database_url(worker_database_url: str) -> str:
    """The worker's test database with auth's and users' migrations applied too."""
    migrate(worker_database_url, ("auth", "users"))
    return worker_database_url


@dataclass
class Stack:
    auth: str
    users: str
    database_url: str
    sink: SmtpSink
    worker_metrics_port: int

    def service_token(self) -> str:
        response = httpx.post(
            f"{self.auth}/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": "worker",
                "client_secret": "nova-dev-worker-secret",
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def register(self, email: str, display_name: str) -> str:
        response = httpx.post(
            f"{self.auth}/api/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": display_name},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        signed_in = httpx.post(
            f"{self.auth}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        me = httpx.get(
            f"{self.auth}/api/auth/me", headers={"authorization": f"Bearer {token}"}, timeout=10
        )
        assert me.status_code == 200, me.text
        return str(me.json()["id"])

    def profile(self, user_id: str) -> httpx.Response:
        return httpx.get(f"{self.users}/api/users/{user_id}", timeout=10)

    def account(self, user_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.auth}/internal/accounts/{user_id}",
            headers={"authorization": f"Bearer {self.service_token()}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def outbox(self) -> list[Any]:
        return list(
            asyncio.run(
                fetch(
                    self.database_url,
                    "SELECT id, type, user_id, deliveries, confirmed_at, redeliver_at "
                    "FROM auth.outbox "
                    "ORDER BY occurred_at",
                )
            )
        )

    def wait_until_every_event_is_confirmed(self) -> None:
        wait_until(
            lambda: all(r["confirmed_at"] is not None for r in self.outbox()),
            timeout=30,
            what="every event to be confirmed",
        )

    def mail_to(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.sink.messages() if m["To"] == address]


@pytest.fixture
def stack(
    stack_database_url: str,
    clean_worker_db: str,
    redis_client: object,
    redis_url: str,
    start_worker: Any,
    smtp_sink: SmtpSink,
    tmp_path: Path,
) -> Iterator[Stack]:
    for schema in ("auth", "users"):
        asyncio.run(truncate_schema(stack_database_url, schema))
    workdir = tmp_path / "stack"
    workdir.mkdir()
    with running_stack(
        stack_database_url,
        redis_url,
        workdir,
        services=("auth", "users"),
        migrations=False,
        per_service_env={
            "auth": {
                "NOVA_AUTH_LOG_LEVEL": "WARNING",
                "NOVA_AUTH_OUTBOX_SWEEP_INTERVAL_SECONDS": "0.5",
            },
            "users": {"NOVA_USERS_LOG_LEVEL": "WARNING"},
        },
        ready_timeout=60,
    ) as services:
        worker = start_worker(
            database_url=stack_database_url,
            sink=smtp_sink,
            NOVA_WORKER_AUTH_URL=services.urls["auth"],
            NOVA_WORKER_USERS_URL=services.urls["users"],
            NOVA_WORKER_PUBLIC_URL=PUBLIC_URL,
        )
        yield Stack(
            auth=services.urls["auth"],
            users=services.urls["users"],
            database_url=stack_database_url,
            sink=smtp_sink,
            worker_metrics_port=int(worker.base_url.rsplit(":", 1)[1]),
        )


def test_registration_creates_the_profile_and_sends_one_welcome(stack: Stack) -> None:
    user_id = stack.register("ada@example.com", "Ada Lovelace")

    profile = wait_until(
        lambda: (r := stack.profile(user_id)).status_code == 200 and r,
        timeout=30,
        what="the profile to exist in users",
    )
    assert isinstance(profile, httpx.Response)  # wait_until returns only a truthy value
    assert profile.json()["display_name"] == "Ada Lovelace"
    wait_until(
        lambda: len(stack.mail_to("ada@example.com")) == 2,
        timeout=30,
        what="the welcome and verification e-mails",
    )
    time.sleep(1.5)
    assert sorted(stack.mail_to("ada@example.com")) == [VERIFY_SUBJECT, "Welcome to Nova"]
    [welcome] = [m for m in stack.sink.messages() if m["Subject"] == "Welcome to Nova"]
    assert "Hello Ada Lovelace" in welcome.get_content()
    # the e-mail's delivery confirmed the event to auth: its outbox will not deliver it again
    [row] = wait_until(
        lambda: [
            r
            for r in stack.outbox()
            if r["confirmed_at"] is not None and r["type"] == "user.registered"
        ],
        timeout=30,
        what="the event to be confirmed",
    )
    assert row["deliveries"] == 1
    assert row["redeliver_at"] is None


def test_an_event_lost_on_its_way_to_the_worker_is_delivered_again(stack: Stack) -> None:
    """Auth published it, the broker took it, no worker ever handled it (a worker killed as
    Redis handed it over): unconfirmed when due, auth's outbox publishes it again."""
    user_id, event_id = str(uuid.uuid4()), uuid.uuid4()
    data = {"email": "lost@example.com", "display_name": "Lost"}
    asyncio.run(
        fetch(
            stack.database_url,
            "INSERT INTO auth.outbox (id, type, user_id, occurred_at, data, published_at, "
            "attempts, deliveries, redeliver_at) VALUES ($1, 'user.registered', $2, now(), $3, "
            "now() - interval '10 minutes', 1, 1, now())",
            event_id,
            uuid.UUID(user_id),
            json.dumps(data),
        )
    )
    wait_until(lambda: stack.profile(user_id).status_code == 200, timeout=30, what="the profile")
    wait_until(lambda: stack.mail_to("lost@example.com"), timeout=30, what="the welcome e-mail")
    [row] = wait_until(
        lambda: [r for r in stack.outbox() if r["confirmed_at"] is not None],
        timeout=30,
        what="the redelivered event to be confirmed",
    )
    assert row["id"] == event_id
    assert row["deliveries"] == 2
    assert row["redeliver_at"] is None
    time.sleep(1.5)
    assert stack.mail_to("lost@example.com") == ["Welcome to Nova"]
    text = metrics_text(stack.worker_metrics_port)
    assert metric_value(text, "worker_event_confirmations_total", outcome="ok") >= 1


def test_one_event_delivered_three_times_has_one_effect(stack: Stack, producer: Celery) -> None:
    user_id = str(uuid.uuid4())
    event = AccountEvent.new(
        "user.registered", user_id, {"email": "grace@example.com", "display_name": "Grace"}
    )
    for _ in range(3):
        publish_event(producer, event)

    wait_until(lambda: stack.profile(user_id).status_code == 200, timeout=30, what="the profile")
    wait_until(lambda: stack.mail_to("grace@example.com"), timeout=30, what="the welcome e-mail")

    def runs() -> list[Any]:
        return asyncio.run(
            fetch(
                stack.database_url,
                "SELECT status, attempts FROM worker.job_runs WHERE key = $1",
                f"event:{event.id}",
            )
        )

    task = EVENT_TASKS["user.registered"]
    wait_until(
        lambda: (
            metric_value(
                metrics_text(stack.worker_metrics_port),
                "worker_tasks_total",
                task=task,
                outcome="succeeded",
            )
            == 3
        ),
        timeout=30,
        what="the three deliveries",
    )
    time.sleep(1.5)
    assert stack.mail_to("grace@example.com") == ["Welcome to Nova"]
    # one job run, succeeded; on a loaded machine its first attempt may have timed out talking
    # to users and been retried, which is not a second effect
    [(status, attempts)] = [tuple(r) for r in runs()]
    assert status == "succeeded"
    assert 1 <= attempts <= 3
    text = metrics_text(stack.worker_metrics_port)
    assert metric_value(text, "worker_duplicate_deliveries_total", task=task) == 2
    # The profile exists once: users keeps it (200), it does not create another (201).
    kept = httpx.put(
        f"{stack.users}/internal/profiles/{user_id}",
        json={"display_name": "Someone else"},
        headers={"authorization": f"Bearer {stack.service_token()}"},
        timeout=10,
    )
    assert kept.status_code == 200
    assert kept.json()["display_name"] == "Grace"


def test_deleting_an_account_soft_deletes_the_profile(stack: Stack) -> None:
    user_id = stack.register("alan@example.com", "Alan")
    wait_until(lambda: stack.profile(user_id).status_code == 200, timeout=30, what="the profile")
    login = httpx.post(
        f"{stack.auth}/api/auth/login",
        json={"email": "alan@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    deleted = httpx.request(
        "DELETE",
        f"{stack.auth}/api/auth/me",
        json={"password": PASSWORD},
        headers={"authorization": f"Bearer {login.json()['access_token']}"},
        timeout=30,
    )
    assert deleted.status_code == 204, deleted.text
    wait_until(
        lambda: stack.profile(user_id).status_code == 404,
        timeout=30,
        what="the profile to be hidden",
    )
    # soft-deleted: the row is kept, marked deleted (restorable), not removed
    rows = asyncio.run(
        fetch(
            stack.database_url,
            "SELECT deleted_at FROM users.profiles WHERE id = $1",
            uuid.UUID(user_id),
        )
    )
    assert len(rows) == 1, "the profile was hard-deleted"
    assert rows[0]["deleted_at"] is not None
    # an event without an e-mail is confirmed by its own task
    wait_until(
        lambda: any(
            r["type"] == "user.deleted" and r["confirmed_at"] is not None for r in stack.outbox()
        ),
        timeout=30,
        what="user.deleted to be confirmed",
    )


def test_deactivate_inactive_users_disables_exactly_the_accounts_past_the_cutoff(
    stack: Stack, producer: Celery
) -> None:
    old = stack.register("old@example.com", "Old")
    time.sleep(1.1)
    cutoff = datetime.now(UTC)
    time.sleep(1.1)
    recent = stack.register("recent@example.com", "Recent")

    def run(task_id: str) -> dict[str, Any]:
        producer.send_task(
            "nova.worker.deactivate_inactive_users",
            kwargs={"cutoff": cutoff.isoformat()},
            queue="default",
            task_id=task_id,
        )

        def done() -> Any:
            rows = asyncio.run(
                fetch(
                    stack.database_url,
                    "SELECT status, result FROM worker.job_runs WHERE key = $1",
                    f"deactivate-inactive:{task_id}",
                )
            )
            return rows and rows[0]["status"] == "succeeded" and rows[0]

        row = wait_until(done, timeout=30, what="the scheduled run to finish")

        result: dict[str, Any] = json.loads(row["result"])
        return result

    first = run(str(uuid.uuid4()))
    assert first["disabled"] == 1
    assert stack.account(old)["status"] == "disabled"
    assert stack.account(recent)["status"] == "active"

    second = run(str(uuid.uuid4()))
    assert second["disabled"] == 0
    assert stack.account(old)["status"] == "disabled"
    assert stack.account(recent)["status"] == "active"

    # auth emits user.disabled; the worker tells the owner.
    wait_until(
        lambda: "Your Nova account was disabled" in stack.mail_to("old@example.com"),
        timeout=30,
        what="the account-disabled notice",
    )
    assert "Your Nova account was disabled" not in stack.mail_to("recent@example.com")


def test_a_password_change_sends_a_security_notice(stack: Stack) -> None:
    stack.register("joan@example.com", "Joan")
    login = httpx.post(
        f"{stack.auth}/api/auth/login",
        json={"email": "joan@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    changed = httpx.post(
        f"{stack.auth}/api/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers={"authorization": f"Bearer {login.json()['access_token']}"},
        timeout=30,
    )
    assert changed.status_code == 200, changed.text
    wait_until(
        lambda: "Your Nova password was changed" in stack.mail_to("joan@example.com"),
        timeout=30,
        what="the security notice",
    )
    time.sleep(1)
    assert sorted(stack.mail_to("joan@example.com")) == [
        VERIFY_SUBJECT,
        "Welcome to Nova",
        "Your Nova password was changed",
    ]
    stack.wait_until_every_event_is_confirmed()
    assert sorted(r["type"] for r in stack.outbox()) == [
        "user.password_changed",
        "user.registered",
        "user.verification_requested",
    ]


def test_two_factor_changes_send_security_notices(stack: Stack) -> None:
    stack.register("kofi@example.com", "Kofi")
    login = httpx.post(
        f"{stack.auth}/api/auth/login",
        json={"email": "kofi@example.com", "password": PASSWORD},
        timeout=30,
    )
    bearer = {"authorization": f"Bearer {login.json()['access_token']}"}

    def call(method: str, path: str, body: dict[str, str], status: int) -> httpx.Response:
        response = httpx.request(
            method, f"{stack.auth}/api/auth/me/{path}", json=body, headers=bearer, timeout=30
        )
        assert response.status_code == status, response.text
        return response

    enrolment = call("POST", "two-factor", {"password": PASSWORD}, 200)
    code = pyotp.TOTP(enrolment.json()["secret"]).now()
    call("POST", "two-factor/confirm", {"code": code}, 200)
    call("DELETE", "two-factor", {"password": PASSWORD}, 204)
    wait_until(
        lambda: len(stack.mail_to("kofi@example.com")) >= 4,
        timeout=30,
        what="both two-factor notices",
    )
    stack.wait_until_every_event_is_confirmed()
    time.sleep(1)
    assert sorted(stack.mail_to("kofi@example.com")) == [
        "Two-factor sign-in is off for your Nova account",
        "Two-factor sign-in is on for your Nova account",
        VERIFY_SUBJECT,
        "Welcome to Nova",
    ]


def test_linking_an_identity_provider_sends_a_security_notice(
    stack: Stack, producer: Celery
) -> None:
    user_id = stack.register("lena@example.com", "Lena")
    wait_until(lambda: stack.mail_to("lena@example.com"), timeout=30, what="the welcome e-mail")
    linked = AccountEvent.new(
        "user.identity_linked",
        user_id,
        {"provider": "corp", "provider_name": "Corp SSO", "email": "lena@example.com"},
    )
    unlinked = AccountEvent.new("user.identity_unlinked", user_id, {"provider": "corp"})
    for event in (linked, linked, unlinked):
        publish_event(producer, event)
    wait_until(
        lambda: (
            "Corp SSO can now sign in to your Nova account" in stack.mail_to("lena@example.com")
        ),
        timeout=30,
        what="the identity-linked notice",
    )
    time.sleep(1.5)
    # One notice however often the event is delivered; unlinking (done signed in) mails nothing.
    assert sorted(stack.mail_to("lena@example.com")) == [
        "Corp SSO can now sign in to your Nova account",
        VERIFY_SUBJECT,
        "Welcome to Nova",
    ]


def test_registering_a_taken_address_mails_its_owner_and_changes_nothing(stack: Stack) -> None:
    user_id = stack.register("ines@example.com", "Ines")
    again = httpx.post(
        f"{stack.auth}/api/auth/register",
        json={"email": "ines@example.com", "password": "an attacker's guess", "display_name": "X"},
        timeout=30,
    )
    assert again.status_code == 202, again.text
    wait_until(
        lambda: "You already have a Nova account" in stack.mail_to("ines@example.com"),
        timeout=30,
        what="the already-registered notice",
    )
    time.sleep(1)
    assert sorted(stack.mail_to("ines@example.com")) == [
        VERIFY_SUBJECT,
        "Welcome to Nova",
        "You already have a Nova account",
    ]
    wait_until(
        lambda: all(r["confirmed_at"] is not None for r in stack.outbox()),
        timeout=30,
        what="both events to be confirmed",
    )
    attempted = [r for r in stack.outbox() if r["type"] == "user.registration_attempted"]
    assert [str(r["user_id"]) for r in attempted] == [user_id]
    assert stack.profile(user_id).json()["display_name"] == "Ines"


def test_the_service_token_is_cached_and_replaced_after_a_401(stack: Stack) -> None:
    user_id = stack.register("kay@example.com", "Kay")
    settings = WorkerSettings(environment="test", auth_url=stack.auth)

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            tokens = ServiceTokenProvider(http, settings)
            auth = AuthClient(http, settings, tokens)
            assert await tokens.token() == await tokens.token()
            assert tokens.fetches == 1
            account = await auth.get_account(user_id)
            assert account is not None
            assert account["email"] == "kay@example.com"
            assert tokens.fetches == 1
            # A token auth no longer accepts (a rotated key, a revoked client): one new token.
            tokens._token = "not-a-valid-token"
            account = await auth.get_account(user_id)
            assert account is not None
            assert account["status"] == "active"
            assert tokens.fetches == 2
            assert await auth.get_account(str(uuid.uuid4())) is None

    asyncio.run(scenario())


def mailed_link(stack: Stack, address: str, subject: str, page: str) -> str:
    """The token of the link in the one mail with this subject (waiting for it)."""
    wait_until(lambda: subject in stack.mail_to(address), timeout=30, what=subject)
    [mail] = [m for m in stack.sink.messages() if m["To"] == address and m["Subject"] == subject]
    body = mail.get_content()
    found = re.search(rf"{re.escape(PUBLIC_URL)}/{page}\?token=(\S+)", body)
    assert found is not None, body
    return found.group(1)


def test_verification_and_reset_mails_carry_working_links(stack: Stack) -> None:
    user_id = stack.register("eve@example.com", "Eve")
    token = mailed_link(stack, "eve@example.com", VERIFY_SUBJECT, "verify-email")
    verified = httpx.post(f"{stack.auth}/api/auth/verify-email", json={"token": token}, timeout=30)
    assert verified.status_code == 200, verified.text
    assert stack.account(user_id)["email_verified"] is True

    login = httpx.post(
        f"{stack.auth}/api/auth/login",
        json={"email": "eve@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    asked = httpx.post(
        f"{stack.auth}/api/auth/forgot-password", json={"email": "eve@example.com"}, timeout=30
    )
    assert asked.status_code == 202, asked.text
    reset_token = mailed_link(stack, "eve@example.com", RESET_SUBJECT, "reset-password")
    reset = httpx.post(
        f"{stack.auth}/api/auth/reset-password",
        json={"token": reset_token, "password": "a fresh long passphrase"},
        timeout=30,
    )
    assert reset.status_code == 200, reset.text
    wait_until(
        lambda: "Your Nova password was changed" in stack.mail_to("eve@example.com"),
        timeout=30,
        what="the password-changed notice",
    )
    me = httpx.get(
        f"{stack.auth}/api/auth/me",
        headers={"authorization": f"Bearer {login.json()['access_token']}"},
        timeout=10,
    )
    assert me.status_code == 401  # the reset ended the session
    time.sleep(1)
    assert sorted(stack.mail_to("eve@example.com")) == [
        RESET_SUBJECT,
        VERIFY_SUBJECT,
        "Welcome to Nova",
        "Your Nova password was changed",
    ]
    # once delivered and confirmed, the outbox keeps no usable token
    stack.wait_until_every_event_is_confirmed()
    rows = asyncio.run(fetch(stack.database_url, "SELECT data::text AS data FROM auth.outbox"))
    assert all(token not in r["data"] and reset_token not in r["data"] for r in rows)
