"""Sign-in with an OpenID provider, and the identities linked to an account (ADR 0017).

A flow starts at ``authorize`` (or at ``link`` for a signed-in account): auth draws ``state``,
``nonce`` and a PKCE verifier, keeps them with the page to return to in Redis under the state
for ``oidc_flow_ttl_seconds``, and binds them to the browser with a random handle the browser
holds in an httpOnly cookie. The callback takes the flow out of Redis (``GETDEL``: single use),
refuses it unless the browser presents the same handle, exchanges the code with the verifier,
validates the ID token against the nonce (:mod:`nova_auth.oidc`), then:

- the identity is linked to an account → that account signs in;
- the flow was a "link" → the identity is linked to the account that started it;
- an account has the e-mail address → it is linked only when the provider says the address is
  verified **and** the account's own address is verified; otherwise 409
  ``oidc_account_exists``: its owner signs in with the password and links from there;
- otherwise a new account is created (no password; e-mail verified as the provider says), when
  the provider has verified the address (or ``oidc_signup_unverified_email`` allows it).

An account with two-factor sign-in on gets no session from the callback: the provider's sign-in
is its first step, and the callback answers the same MFA challenge as a correct password
(``mfa_required``), which ``login/two-factor`` completes.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nova_auth.events import record_event
from nova_auth.identities import IdentityRepository
from nova_auth.mfa_repository import TwoFactorRepository
from nova_auth.models import AccountModel, AccountStatus, IdentityModel, OutboxEventModel
from nova_auth.oidc import IdentityClaims
from nova_auth.repositories import AccountRepository, SessionRepository
from nova_auth.security_events import RequestContext, record_security_event
from nova_auth.services.credentials import CredentialService
from nova_auth.services.operations import counted
from nova_auth.services.sessions import MfaChallenge, NewSession, SessionService, SignIn
from nova_auth.services.two_factor import TwoFactorService
from nova_auth.state import AuthState
from nova_kit.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from nova_kit.ratelimit import Limit
from nova_kit.tokens import AccessClaims

FLOW_KEY_PREFIX = "nova:auth:oidc:flow:"
FLOW_COOKIE = "nova_oidc_flow"
FLOW_COOKIE_PATH = "/api/auth/oidc"
MAX_NEXT_LENGTH = 512
Intent = Literal["sign_in", "link"]


class InvalidStateError(AppError):
    """The callback's ``state`` is unknown, spent, expired, or not this browser's (400)."""

    def __init__(self) -> None:
        super().__init__(
            "this sign-in is not valid any more (expired, already used, or started in another "
            "browser); start again",
            code="oidc_state_invalid",
            status_code=400,
        )


class FlowStoreUnavailableError(AppError):
    """Redis, where flows live, is unreachable (503)."""

    def __init__(self) -> None:
        super().__init__(
            "sign-in is unavailable right now; try again",
            code="oidc_unavailable",
            status_code=503,
        )


def checked_next(value: str | None) -> str:
    """A path on this site to return to (never another origin), or 400 ``invalid_next``."""
    if value is None or value == "":
        return "/"
    if (
        len(value) > MAX_NEXT_LENGTH
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(c) < 0x21 or ord(c) == 0x7F or c == "\\" for c in value)
    ):
        raise AppError("next must be a path on this site, like /settings", code="invalid_next")
    return value


@dataclass(frozen=True, slots=True)
class Flow:
    """A started sign-in, kept in Redis under its ``state`` until the callback takes it."""

    provider: str
    handle: str
    nonce: str
    code_verifier: str
    next: str
    intent: Intent
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class StartedFlow:
    authorization_url: str
    handle: str
    """The browser's proof that it started the flow (the value of the flow cookie)."""


Outcome = Literal["signed_in", "created", "linked", "mfa_required"]


@dataclass(frozen=True, slots=True)
class FlowOutcome:
    """What a callback did: ``signed_in`` (``created`` when the account is new), ``linked``, or
    ``mfa_required`` (the account has a second factor: a challenge, no session yet)."""

    outcome: Outcome
    next: str
    sign_in: SignIn | None = None
    challenge: MfaChallenge | None = None


class IdentityService:
    def __init__(self, state: AuthState) -> None:
        self.state = state
        self.settings = state.settings
        self.providers = state.oidc
        self.session_service = SessionService(state)

    def provider_list(self) -> list[tuple[str, str]]:
        return [(p.name, p.label) for p in self.providers.providers.values()]

    async def _limit(self, client_address: str | None) -> None:
        await self.state.limiter.hit(
            [Limit("oidc:ip", client_address or "-", self.settings.oidc_limit_per_client)]
        )

    # --- starting a flow ---------------------------------------------------------------------

    @counted("oidc_authorize")
    async def start(
        self,
        provider_name: str,
        next_path: str | None,
        *,
        intent: Intent = "sign_in",
        account_id: uuid.UUID | None = None,
        client_address: str | None = None,
    ) -> StartedFlow:
        provider = self.providers.get(provider_name)
        target = checked_next(next_path)
        await self._limit(client_address)
        state = secrets.token_urlsafe(32)
        flow = Flow(
            provider=provider.name,
            handle=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),
            next=target,
            intent=intent,
            account_id=str(account_id) if account_id else None,
        )
        url = await self.providers.authorization_url(
            provider, state=state, nonce=flow.nonce, code_verifier=flow.code_verifier
        )
        try:
            await self.state.redis.set(
                FLOW_KEY_PREFIX + state,
                json.dumps(asdict(flow)),
                ex=self.settings.oidc_flow_ttl_seconds,
            )
        except RedisError:
            raise FlowStoreUnavailableError from None
        return StartedFlow(url, flow.handle)

    async def start_link(
        self,
        claims: AccessClaims,
        provider_name: str,
        next_path: str | None,
        *,
        client_address: str | None = None,
    ) -> StartedFlow:
        """A signed-in account starts linking an identity (its explicit confirmation)."""
        account = await CredentialService(self.state).current_account(claims)
        return await self.start(
            provider_name,
            next_path,
            intent="link",
            account_id=account.id,
            client_address=client_address,
        )

    # --- the callback ------------------------------------------------------------------------

    async def _take_flow(self, state: str | None, handle: str | None, provider: str) -> Flow:
        if not state or not handle or len(state) > 128:
            raise InvalidStateError
        try:
            raw = await self.state.redis.getdel(FLOW_KEY_PREFIX + state)
        except RedisError:
            raise FlowStoreUnavailableError from None
        if raw is None:
            raise InvalidStateError
        flow = Flow(**json.loads(raw))
        if not hmac.compare_digest(flow.handle.encode(), handle.encode()):
            raise InvalidStateError
        if flow.provider != provider:
            raise InvalidStateError
        return flow

    @counted("oidc_callback")
    async def finish(
        self,
        provider_name: str,
        *,
        code: str | None,
        state: str | None,
        error: str | None,
        handle: str | None,
        issuer: str | None = None,
        client_address: str | None = None,
    ) -> FlowOutcome:
        provider = self.providers.get(provider_name)
        await self._limit(client_address)
        flow = await self._take_flow(state, handle, provider.name)
        if issuer is not None and issuer != provider.issuer:
            # RFC 9207: the answer comes from another provider than the one asked (mix-up).
            raise AppError(
                "the answer comes from another identity provider", code="oidc_issuer_mismatch"
            )
        if error is not None:
            raise UnauthorizedError(
                "the sign-in was cancelled at the identity provider", code="oidc_denied"
            )
        if not code or len(code) > 2048:
            raise AppError("the callback carries no authorization code", code="oidc_code_missing")
        identity = await self.providers.exchange_code(
            provider, code=code, code_verifier=flow.code_verifier, nonce=flow.nonce
        )
        if flow.intent == "link":
            assert flow.account_id is not None
            await self.link(uuid.UUID(flow.account_id), provider.name, identity)
            return FlowOutcome("linked", flow.next)
        outcome, signed = await self._sign_in(provider.name, identity, client_address)
        if isinstance(signed, MfaChallenge):
            return FlowOutcome(outcome, flow.next, challenge=signed)
        return FlowOutcome(outcome, flow.next, sign_in=signed)

    async def _sign_in(
        self, provider: str, identity: IdentityClaims, client_address: str | None
    ) -> tuple[Outcome, SignIn | MfaChallenge]:
        # Two attempts: a concurrent first sign-in of the same identity (or e-mail) makes the
        # loser's insert fail; the second attempt finds what the winner stored.
        for attempt in (1, 2):
            try:
                return await self._sign_in_once(provider, identity, client_address)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _sign_in_once(
        self, provider: str, identity: IdentityClaims, client_address: str | None
    ) -> tuple[Outcome, SignIn | MfaChallenge]:
        now = datetime.now(UTC)
        events: list[OutboxEventModel] = []
        outcome: Outcome = "signed_in"
        second_factor: AccountModel | None = None
        opened_for: tuple[AccountModel, NewSession] | None = None
        async with self.state.sessions() as session, session.begin():
            identities = IdentityRepository(session)
            accounts = AccountRepository(session)
            linked = await identities.by_subject(provider, identity.subject)
            created = False
            if linked is not None:
                account_id = linked.account_id
                await identities.touch(linked.id, now)
            else:
                account, created = await self._account_for(identities, accounts, identity)
                account_id = account.id
                await identities.add(account.id, provider, identity.subject, identity.email, now)
                if created:
                    outcome = "created"
                    events.append(
                        record_event(
                            session,
                            "user.registered",
                            account.id,
                            {
                                "email": account.email,
                                "display_name": identity.name or account.email.split("@")[0],
                                "provider": provider,
                            },
                        )
                    )
                else:
                    events.append(self._linked_event(session, account.id, provider, identity))
            if linked is None and not created:
                record_security_event(
                    session, account_id, "identity_linked", RequestContext(client_address), at=now
                )
            if not created and await self._has_second_factor(session, account_id):
                # The account's own factor protects it whoever vouched for the address: the
                # provider's sign-in is the first step only, like a password (ADR 0017).
                second_factor = await accounts.get(account_id)
                if second_factor is None or second_factor.status != AccountStatus.ACTIVE:
                    raise UnauthorizedError("this account is not active", code="account_inactive")
            else:
                stored = await accounts.update(account_id, only_active=True, last_login_at=now)
                if stored is None:
                    raise UnauthorizedError("this account is not active", code="account_inactive")
                opened = await self.session_service.open(
                    SessionRepository(session), stored, now, client_address
                )
                opened_for = (stored, opened)
                record_security_event(
                    session,
                    account_id,
                    "sign_in_with_provider",
                    RequestContext(client_address),
                    at=now,
                )
        await self.state.outbox.publish_after_commit(events)
        if opened_for is not None:
            return outcome, await self.session_service.sign_in(*opened_for, now)
        assert second_factor is not None  # no session was opened: the account has a factor
        challenge = await TwoFactorService(self.state).issue_challenge(
            second_factor, first_step="provider"
        )
        return "mfa_required", challenge

    @staticmethod
    async def _has_second_factor(session: AsyncSession, account_id: uuid.UUID) -> bool:
        return account_id in await TwoFactorRepository(session).enabled_among([account_id])

    async def _account_for(
        self, identities: IdentityRepository, accounts: AccountRepository, identity: IdentityClaims
    ) -> tuple[AccountModel, bool]:
        """The account a new identity signs in to, and whether it was created for it."""
        if identity.email is None:
            raise AppError(
                "the identity provider did not share an e-mail address; allow it to, or "
                "register with a password",
                code="oidc_email_missing",
                status_code=400,
            )
        existing = await accounts.by_email(identity.email)
        if existing is None:
            if not identity.email_verified and not self.settings.oidc_signup_unverified_email:
                raise ForbiddenError(
                    "the identity provider has not verified this e-mail address; verify it "
                    "there, or register with a password",
                    code="oidc_email_unverified",
                )
            account = await identities.create_account(
                identity.email, email_verified=identity.email_verified
            )
            return account, True
        # Both sides must vouch for the address: the provider (email_verified) and this
        # service (the account proved it owns it). Anything less could hand the account to
        # whoever registered its address at some provider.
        if (
            identity.email_verified
            and existing.email_verified
            and existing.status == AccountStatus.ACTIVE
        ):
            return existing, False
        raise ConflictError(
            "an account with this e-mail address exists: sign in with its password, then link "
            "this provider from your security settings",
            code="oidc_account_exists",
        )

    def _linked_event(
        self,
        session: AsyncSession,
        account_id: uuid.UUID,
        provider: str,
        identity: IdentityClaims,
    ) -> OutboxEventModel:
        label = self.providers.get(provider).label
        return record_event(
            session,
            "user.identity_linked",
            account_id,
            {"provider": provider, "provider_name": label, "email": identity.email},
        )

    async def link(self, account_id: uuid.UUID, provider: str, identity: IdentityClaims) -> None:
        """Link an identity to the account that asked for it (idempotent for the same one)."""
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            account = await AccountRepository(session).get(account_id, for_update=True)
            if account is None or account.status != AccountStatus.ACTIVE:
                raise UnauthorizedError("this account is not active", code="account_inactive")
            identities = IdentityRepository(session)
            linked = await identities.by_subject(provider, identity.subject)
            if linked is not None:
                if linked.account_id != account_id:
                    raise ConflictError(
                        "this identity already signs in to another account",
                        code="identity_in_use",
                    )
                return
            await identities.add(account_id, provider, identity.subject, identity.email, now)
            event = self._linked_event(session, account_id, provider, identity)
            record_security_event(session, account_id, "identity_linked", at=now)
        await self.state.outbox.publish_after_commit([event])

    # --- the caller's identities -------------------------------------------------------------

    async def identities(self, claims: AccessClaims) -> Sequence[IdentityModel]:
        account = await CredentialService(self.state).current_account(claims)
        async with self.state.sessions() as session:
            return await IdentityRepository(session).of_account(account.id)

    @counted("oidc_unlink")
    async def unlink(self, claims: AccessClaims, identity_id: uuid.UUID) -> None:
        """Unlink one of the caller's identities, unless it is their only way to sign in."""
        account = await CredentialService(self.state).current_account(claims)
        async with self.state.sessions() as session, session.begin():
            # The account row is locked so two unlinks cannot each leave the other as the last.
            locked = await AccountRepository(session).get(account.id, for_update=True)
            if locked is None:
                raise UnauthorizedError("this account is not active", code="account_inactive")
            identities = IdentityRepository(session)
            if locked.password_hash is None and await identities.count_of_account(account.id) <= 1:
                owned = {row.id for row in await identities.of_account(account.id)}
                if identity_id in owned:
                    raise ConflictError(
                        "this identity is the only way to sign in to the account: set a "
                        "password or link another provider first",
                        code="last_sign_in_method",
                    )
            removed = await identities.remove(account.id, identity_id)
            if removed is None:
                raise NotFoundError("no such linked identity", code="identity_not_found")
            event = record_event(
                session, "user.identity_unlinked", account.id, {"provider": removed.provider}
            )
            record_security_event(session, account.id, "identity_unlinked")
        await self.state.outbox.publish_after_commit([event])
