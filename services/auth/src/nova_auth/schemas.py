"""Request and response bodies of the REST API (validated by Litestar through msgspec).

Lengths are capped here so oversized input is refused (422) before any password is hashed; the
app's body limit (``NOVA_AUTH_MAX_BODY_BYTES``, 413) stops bigger payloads before parsing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from nova_auth.keys import IssuedToken
from nova_auth.models import AccountModel, IdentityModel, SecurityEventModel, SessionModel
from nova_auth.security_events import encode_cursor
from nova_auth.services.activity import SecurityEventPage
from nova_auth.services.admin import AccountPage, account_cursor
from nova_auth.services.identity import FlowOutcome
from nova_auth.services.sessions import MfaChallenge, SignIn

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, examples=["ada@example.com"])]
# Longer than any acceptable password (128 characters after NFKC), short enough to never hash.
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    display_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken | None = None


class ChangePasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class VerifyEmailRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: OpaqueToken


class ForgotPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class ResetPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: OpaqueToken
    password: Password


class DeleteAccountRequest(msgspec.Struct, forbid_unknown_fields=True):
    password: Password


class SetStatusRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class ServiceTokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    grant_type: Annotated[str, msgspec.Meta(max_length=64)]
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    client_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class DeactivateInactiveRequest(msgspec.Struct, forbid_unknown_fields=True):
    cutoff: datetime


class AccountView(msgspec.Struct):
    id: uuid.UUID
    email: str
    email_verified: bool
    roles: list[str]
    status: Literal["active", "disabled", "deleted"]
    created_at: datetime
    last_login_at: datetime | None
    password_changed_at: datetime
    has_password: bool = True
    """False for an account created through an identity provider that has set none yet."""

    @classmethod
    def of(cls, account: AccountModel) -> AccountView:
        return cls(
            id=account.id,
            email=account.email,
            email_verified=account.email_verified,
            roles=sorted(account.roles),
            status=account.status,  # type: ignore[arg-type]
            created_at=account.created_at,
            last_login_at=account.last_login_at,
            password_changed_at=account.password_changed_at,
            has_password=account.password_hash is not None,
        )


class RegistrationAccepted(msgspec.Struct):
    """The same answer for a new and an existing address (no account enumeration)."""

    status: str = "accepted"
    message: str = "Check your inbox: we sent an e-mail to this address."


class EmailVerified(msgspec.Struct):
    status: str = "verified"
    email_verified: bool = True


class VerificationSent(msgspec.Struct):
    status: str = "accepted"
    message: str = "We sent a new verification link; earlier links no longer work."


class PasswordResetRequested(msgspec.Struct):
    """The same answer, byte for byte, whether or not the address has an account."""

    status: str = "accepted"
    message: str = (
        "If this address has an account, we sent it a link to reset the password. "
        "The link works once, for a short time."
    )


class PasswordResetDone(msgspec.Struct):
    status: str = "password_reset"
    message: str = "Your password was changed and every session was signed out; sign in again."


class SecurityEventView(msgspec.Struct, omit_defaults=True):
    id: uuid.UUID
    kind: str
    occurred_at: datetime
    client_address: str | None
    user_agent: str | None
    actor: str | None = None
    """The administrator who acted (administrators' view only; never in the owner's own log)."""

    @classmethod
    def of(cls, row: SecurityEventModel, *, with_actor: bool = False) -> SecurityEventView:
        return cls(
            id=row.id,
            kind=row.kind,
            occurred_at=row.occurred_at,
            client_address=row.client_address,
            user_agent=row.user_agent,
            actor=row.actor if with_actor else None,
        )


class PageInfo(msgspec.Struct, kw_only=True):
    has_next_page: bool
    end_cursor: str | None


class SecurityEventEdge(msgspec.Struct, kw_only=True):
    cursor: str
    node: SecurityEventView


class SecurityEventPageView(msgspec.Struct, kw_only=True):
    """``GET /api/auth/me/security-events``: one page, newest first, and where the next starts."""

    edges: list[SecurityEventEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: SecurityEventPage, *, with_actor: bool = False) -> SecurityEventPageView:
        return cls(
            edges=[
                SecurityEventEdge(
                    cursor=encode_cursor(row), node=SecurityEventView.of(row, with_actor=with_actor)
                )
                for row in page.events
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


class AccountEdge(msgspec.Struct, kw_only=True):
    cursor: str
    node: AccountView


class AccountPageView(msgspec.Struct, kw_only=True):
    """``GET /api/auth/accounts``: one page of accounts, newest first."""

    edges: list[AccountEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: AccountPage) -> AccountPageView:
        return cls(
            edges=[
                AccountEdge(cursor=account_cursor(account), node=AccountView.of(account))
                for account in page.accounts
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


class AccountSessionView(msgspec.Struct, kw_only=True):
    """A sign-in of an account as administrators see it; ``revoked_at`` set once it ended."""

    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    client_address: str | None

    @classmethod
    def of(cls, row: SessionModel) -> AccountSessionView:
        return cls(
            id=row.id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            revoked_reason=row.revoked_reason,
            client_address=row.client_address,
        )


class TokenResponse(msgspec.Struct):
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    account: AccountView
    token_type: str = "Bearer"  # noqa: S105 - the token type, not a secret

    @classmethod
    def of(cls, sign_in: SignIn) -> TokenResponse:
        return cls(
            access_token=sign_in.access_token,
            expires_in=sign_in.expires_in,
            refresh_token=sign_in.refresh_token,
            refresh_expires_in=sign_in.refresh_expires_in,
            account=AccountView.of(sign_in.account),
        )


class ServiceTokenResponse(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the token type, not a secret

    @classmethod
    def of(cls, issued: IssuedToken) -> ServiceTokenResponse:
        return cls(access_token=issued.token, expires_in=issued.expires_in)


class DeactivateInactiveResponse(msgspec.Struct):
    disabled: int


MAX_CONFIRMATIONS = 200
"""Ids per confirmation request: 200 fit well inside the default body limit."""


class ConfirmEventsRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Ids of outbox events whose effects are complete."""

    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_CONFIRMATIONS)]


class ConfirmEventsResponse(msgspec.Struct):
    confirmed: int
    """How many of the ids were confirmed by this request (not before, and still kept)."""


# --- two-factor sign-in (nova_auth.services.two_factor) ----------------------------------------

TotpCode = Annotated[str, msgspec.Meta(min_length=1, max_length=16, examples=["123456"])]
RecoveryCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["3f9a1-c07be"])]


class MfaRequiredResponse(msgspec.Struct):
    """A correct password on an account with two-factor sign-in: no tokens yet. Send
    ``mfa_token`` with a code to ``POST /api/auth/login/two-factor`` within ``expires_in``."""

    mfa_token: str
    expires_in: int
    mfa_required: bool = True
    methods: list[str] = msgspec.field(default_factory=lambda: ["totp", "recovery_code"])

    @classmethod
    def of(cls, challenge: MfaChallenge) -> MfaRequiredResponse:
        return cls(mfa_token=challenge.token, expires_in=challenge.expires_in)


class LoginTwoFactorRequest(msgspec.Struct, forbid_unknown_fields=True):
    mfa_token: OpaqueToken
    code: TotpCode | None = None
    recovery_code: RecoveryCode | None = None


class EnrolTwoFactorRequest(msgspec.Struct, forbid_unknown_fields=True):
    password: Password


class ConfirmTwoFactorRequest(msgspec.Struct, forbid_unknown_fields=True):
    code: TotpCode


class DisableTwoFactorRequest(msgspec.Struct, forbid_unknown_fields=True):
    code: TotpCode | None = None
    password: Password | None = None


class TwoFactorEnrolmentView(msgspec.Struct):
    """Shown once: the secret, and the ``otpauth://`` URI an authenticator app scans."""

    secret: str
    otpauth_uri: str
    status: str = "pending"


class RecoveryCodesView(msgspec.Struct):
    """Shown once: each code signs in once in place of a TOTP code."""

    recovery_codes: list[str]
    enabled: bool = True


class TwoFactorStatusView(msgspec.Struct):
    enabled: bool
    pending: bool
    enabled_at: datetime | None
    recovery_codes_left: int


# --- sign-in with OpenID providers -------------------------------------------------------------

NextPath = Annotated[str, msgspec.Meta(max_length=512, examples=["/settings/security"])]


class SetPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    new_password: Password


class OidcProviderView(msgspec.Struct):
    name: str
    display_name: str


class OidcProvidersResponse(msgspec.Struct):
    providers: list[OidcProviderView]


class LinkIdentityRequest(msgspec.Struct, forbid_unknown_fields=True):
    next: NextPath | None = None


class AuthorizationStarted(msgspec.Struct):
    """Where to send the browser to confirm at the provider (it holds the flow cookie now)."""

    authorization_url: str


class OidcCallbackResponse(msgspec.Struct, omit_defaults=True):
    """A finished provider sign-in: ``signed_in``/``created`` carry the session's tokens (the
    gateway turns them into its cookies and a redirect to ``next``); ``linked`` carries none;
    ``mfa_required`` (an account with two-factor sign-in) carries the challenge of
    ``POST /api/auth/login/two-factor`` instead, as a correct password does."""

    outcome: Literal["signed_in", "created", "linked", "mfa_required"]
    next: str
    mfa_required: bool | None = None
    mfa_token: str | None = None
    methods: list[str] | None = None
    access_token: str | None = None
    expires_in: int | None = None
    refresh_token: str | None = None
    refresh_expires_in: int | None = None
    account: AccountView | None = None
    token_type: str | None = None

    @classmethod
    def of(cls, outcome: FlowOutcome) -> OidcCallbackResponse:
        signed = outcome.sign_in
        if outcome.challenge is not None:
            challenge = MfaRequiredResponse.of(outcome.challenge)
            return cls(
                outcome=outcome.outcome,
                next=outcome.next,
                mfa_required=True,
                mfa_token=challenge.mfa_token,
                expires_in=challenge.expires_in,
                methods=challenge.methods,
            )
        if signed is None:
            return cls(outcome=outcome.outcome, next=outcome.next)
        return cls(
            outcome=outcome.outcome,
            next=outcome.next,
            access_token=signed.access_token,
            expires_in=signed.expires_in,
            refresh_token=signed.refresh_token,
            refresh_expires_in=signed.refresh_expires_in,
            account=AccountView.of(signed.account),
            token_type="Bearer",  # noqa: S106 - the token type, not a secret
        )


class IdentityView(msgspec.Struct):
    id: uuid.UUID
    provider: str
    email: str | None
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, identity: IdentityModel) -> IdentityView:
        return cls(
            id=identity.id,
            provider=identity.provider,
            email=identity.email,
            created_at=identity.created_at,
            last_used_at=identity.last_used_at,
        )
