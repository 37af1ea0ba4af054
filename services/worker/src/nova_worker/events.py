"""What the worker does for each account event auth publishes (docs/contracts.md).

Each handler is a coroutine run inside :meth:`JobService.run_once`, keyed by the event id, so
its effects happen once however often the event is delivered. E-mails are queued as
``send_email`` tasks with an idempotency key derived from the event id: a handler that runs
again after a crash queues the same key, and ``send_email`` sends it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nova_kit.events import AccountEvent
from nova_worker.clients import AuthClient, UsersClient

logger = logging.getLogger(__name__)

QueueEmail = Callable[[str, str, str, dict[str, Any]], None]
"""``queue_email(idempotency_key, to, template, context)``"""


def _display_name(event: AccountEvent) -> str:
    name = str(event.data.get("display_name") or "").strip()
    if name:
        return name[:100]
    email = str(event.data.get("email") or "")
    return email.split("@", 1)[0][:100] or "user"


async def handle_user_registered(
    event: AccountEvent, users: UsersClient, queue_email: QueueEmail
) -> dict[str, Any]:
    """Create the profile, then queue the welcome e-mail."""
    created = await users.ensure_profile(
        event.user_id, _display_name(event), locale=event.data.get("locale")
    )
    email = event.data.get("email")
    if email:
        queue_email(
            f"welcome:{event.id}",
            str(email),
            "welcome",
            {"display_name": _display_name(event), "email": str(email)},
        )
    else:
        logger.warning("user.registered without e-mail", extra={"event_id": event.id})
    return {"profile_created": created, "welcome_queued": bool(email)}


async def handle_user_deleted(event: AccountEvent, users: UsersClient) -> dict[str, Any]:
    """Soft-delete the profile (idempotent on the users side too)."""
    await users.delete_profile(event.user_id)
    return {"profile_deleted": True}


async def _notify_account_owner(
    event: AccountEvent,
    auth: AuthClient,
    queue_email: QueueEmail,
    template: str,
    context: dict[str, Any],
) -> dict[str, Any]:
    account = await auth.get_account(event.user_id)
    email = account.get("email") if account else None
    if not email:
        logger.info("no account e-mail to notify", extra={"event_id": event.id})
        return {"notified": False}
    queue_email(f"{template}:{event.id}", str(email), template, {"email": email, **context})
    return {"notified": True}


async def handle_user_password_changed(
    event: AccountEvent, auth: AuthClient, queue_email: QueueEmail
) -> dict[str, Any]:
    """Tell the owner their password changed (a security notice: it may not have been them)."""
    return await _notify_account_owner(
        event, auth, queue_email, "password_changed", {"occurred_at": event.occurred_at}
    )


async def handle_user_disabled(
    event: AccountEvent, auth: AuthClient, queue_email: QueueEmail
) -> dict[str, Any]:
    """Tell the owner their account was disabled, and why."""
    return await _notify_account_owner(
        event, auth, queue_email, "account_disabled", {"reason": event.data.get("reason")}
    )
