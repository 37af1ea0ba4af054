"""What the worker does for each account event auth publishes (docs/contracts.md).

An event has effects of its own (a profile created or soft-deleted), run inside
:meth:`JobService.run_once` keyed by the event id so they happen once however often the event
is delivered, and maybe an e-mail, planned here as an :class:`Email` and sent by the
``send_email`` task under an idempotency key derived from the event id. The e-mail is planned
and queued again on every delivery of the event (its key makes it one e-mail), so a redelivered
event completes an event whose e-mail task was lost.

When the event's effects are complete (its e-mail delivered, or it has none) the worker
confirms it to auth, whose outbox redelivers unconfirmed events (see ``nova_worker.tasks``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from nova_kit.events import AccountEvent
from nova_worker.clients import AuthClient, UsersClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Email:
    """An e-mail an event asks for; ``key`` makes it one e-mail however often it is queued."""

    key: str
    to: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


def _display_name(event: AccountEvent) -> str:
    name = str(event.data.get("display_name") or "").strip()
    if name:
        return name[:100]
    email = str(event.data.get("email") or "")
    return email.split("@", 1)[0][:100] or "user"


async def create_profile(event: AccountEvent, users: UsersClient) -> dict[str, Any]:
    """``user.registered``: create the profile (idempotent on the users side too)."""
    created = await users.ensure_profile(
        event.user_id, _display_name(event), locale=event.data.get("locale")
    )
    return {"profile_created": created}


def welcome_email(event: AccountEvent) -> Email | None:
    """``user.registered``: the welcome e-mail, to the address the account registered with."""
    email = event.data.get("email")
    if not email:
        logger.warning("user.registered without e-mail", extra={"event_id": event.id})
        return None
    return Email(
        f"welcome:{event.id}",
        str(email),
        "welcome",
        {"display_name": _display_name(event), "email": str(email)},
    )


async def delete_profile(event: AccountEvent, users: UsersClient) -> dict[str, Any]:
    """``user.deleted``: soft-delete the profile (idempotent on the users side too)."""
    await users.delete_profile(event.user_id)
    return {"profile_deleted": True}


async def _owner_notice(
    event: AccountEvent, auth: AuthClient, template: str, context: dict[str, Any]
) -> Email | None:
    account = await auth.get_account(event.user_id)
    if not account or account.get("status") == "deleted" or not account.get("email"):
        logger.info("no account e-mail to notify", extra={"event_id": event.id})
        return None
    email = str(account["email"])
    return Email(f"{template}:{event.id}", email, template, {"email": email, **context})


async def password_changed_notice(event: AccountEvent, auth: AuthClient) -> Email | None:
    """``user.password_changed``: tell the owner (a security notice: it may not have been them)."""
    return await _owner_notice(event, auth, "password_changed", {"occurred_at": event.occurred_at})


def _link(public_url: str, page: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/{page}?{urlencode({'token': token})}"


def _mailed_token(event: AccountEvent) -> str | None:
    token = event.data.get("token")
    if not token:
        # Confirmed before (the outbox drops the token then): it was mailed already.
        logger.info("account event without its token", extra={"event_id": event.id})
        return None
    return str(token)


async def _link_email(
    event: AccountEvent, auth: AuthClient, public_url: str, page: str, template: str
) -> Email | None:
    token = _mailed_token(event)
    if token is None:
        return None
    context = {"link": _link(public_url, page, token), "expires_at": event.data.get("expires_at")}
    return await _owner_notice(event, auth, template, context)


async def verification_email(
    event: AccountEvent, auth: AuthClient, public_url: str
) -> Email | None:
    """``user.verification_requested``: the link that verifies the account's address."""
    return await _link_email(event, auth, public_url, "verify-email", "verify_email")


async def password_reset_email(
    event: AccountEvent, auth: AuthClient, public_url: str
) -> Email | None:
    """``user.password_reset_requested``: the single-use link that sets a new password."""
    return await _link_email(event, auth, public_url, "reset-password", "reset_password")


async def two_factor_enabled_notice(event: AccountEvent, auth: AuthClient) -> Email | None:
    """``user.two_factor_enabled``: tell the owner sign-in now asks for a code."""
    return await _owner_notice(
        event, auth, "two_factor_enabled", {"occurred_at": event.occurred_at}
    )


async def two_factor_disabled_notice(event: AccountEvent, auth: AuthClient) -> Email | None:
    """``user.two_factor_disabled``: tell the owner, by the owner or by an administrator."""
    return await _owner_notice(
        event,
        auth,
        "two_factor_disabled",
        {"occurred_at": event.occurred_at, "by": event.data.get("by")},
    )


async def already_registered_notice(event: AccountEvent, auth: AuthClient) -> Email | None:
    """``user.registration_attempted``: someone registered an address that has an account;
    tell its owner (registration answers the same either way, so only the inbox knows)."""
    return await _owner_notice(event, auth, "already_registered", {})


async def account_disabled_notice(event: AccountEvent, auth: AuthClient) -> Email | None:
    """``user.disabled``: tell the owner their account was disabled, and why."""
    reason = event.data.get("reason")
    return await _owner_notice(event, auth, "account_disabled", {"reason": reason})


async def identity_linked_notice(event: AccountEvent, auth: AuthClient) -> Email | None:
    """``user.identity_linked``: tell the owner an identity provider now signs in to their
    account (a security notice: if it was not them, the account is no longer theirs alone)."""
    return await _owner_notice(
        event,
        auth,
        "identity_linked",
        {
            "provider": str(
                event.data.get("provider_name")
                or event.data.get("provider")
                or "an identity provider"
            )
        },
    )
