"""The GraphQL subgraph of nova-auth (Apollo Federation 2.9, Strawberry).

``User @key(fields: "id")`` is shared with the users subgraph: auth resolves the account fields.
``_entities`` look-ups go through a per-request DataLoader, so a batch of representations costs
one SQL query. Account fields are visible to the account itself, administrators and services;
for anyone else the entity resolves with its ``id`` only.

``Query.me`` belongs to the users subgraph; auth exposes ``Query.account`` (the caller's
account). The mutations call the same service methods (:mod:`nova_auth.services`) as the
REST API, so limits and rules are identical (an aliased batch of ``login`` mutations is charged
one attempt per alias). Mutation results are nullable so one failed alias does not discard the
others' results; each failure is an error with ``extensions.code``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from litestar import Request
from strawberry.dataloader import DataLoader
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.litestar import BaseContext
from strawberry.types import ExecutionContext, Info

from nova_auth.controllers import client_address, request_context
from nova_auth.models import AccountModel, IdentityModel, SecurityEventModel, SessionModel
from nova_auth.security_events import RequestContext, encode_cursor
from nova_auth.services.activity import PAGE_SIZE_DEFAULT, SecurityActivityService
from nova_auth.services.admin import (
    ACCOUNT_PAGE_DEFAULT,
    AccountAdminService,
    AccountFilter,
    account_cursor,
)
from nova_auth.services.credentials import CredentialService
from nova_auth.services.identity import IdentityService
from nova_auth.services.sessions import MfaChallenge, SessionService, SignIn
from nova_auth.services.two_factor import TwoFactorService
from nova_auth.services.verification import EmailTokenService
from nova_auth.state import provide_auth_state
from nova_kit import graphql_http
from nova_kit.errors import AppError
from nova_kit.graphql_cache import OperationCache
from nova_kit.security import current_claims
from nova_kit.tokens import AccessClaims


class GraphQLContext(BaseContext, kw_only=True):
    """Per-request context: the caller and the request's services (the same as REST's)."""

    credentials: CredentialService
    sessions: SessionService
    identities: IdentityService
    claims: AccessClaims | None
    client_address: str | None
    request_context: RequestContext
    email_tokens: EmailTokenService
    activity: SecurityActivityService
    account_loader: DataLoader[str, AccountModel | None]
    accounts: AccountAdminService
    two_factor: TwoFactorService
    two_factor_loader: DataLoader[str, bool]


@strawberry.enum(name="AccountStatus", description="Lifecycle state of an account")
class AccountStatusEnum(Enum):
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


@strawberry.type(description="An entry of an account's security activity")
class SecurityEvent:
    id: strawberry.ID
    kind: str = strawberry.field(
        description=(
            "sign_in, password_changed, password_reset, password_reset_requested, "
            "email_verified, email_verification_requested, two_factor_enabled, "
            "two_factor_disabled, two_factor_reset_by_admin, password_set, sign_in_with_provider, "
            "identity_linked, identity_unlinked, ..."
        )
    )
    occurred_at: datetime
    client_address: str | None
    user_agent: str | None
    actor: str | None = strawberry.field(
        default=None,
        description="The administrator who acted (administrators only; null for the owner)",
    )

    @classmethod
    def of(cls, row: SecurityEventModel, *, with_actor: bool = False) -> SecurityEvent:
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=row.kind,
            occurred_at=row.occurred_at,
            client_address=row.client_address,
            user_agent=row.user_agent,
            actor=row.actor if with_actor else None,
        )


@strawberry.type(description="A sign-in of an account (a refresh-token family)")
class AccountSession:
    id: strawberry.ID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = strawberry.field(description="When it ended; null while live")
    revoked_reason: str | None
    client_address: str | None

    @classmethod
    def of(cls, row: SessionModel) -> AccountSession:
        return cls(
            id=strawberry.ID(str(row.id)),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            revoked_reason=row.revoked_reason,
            client_address=row.client_address,
        )


@strawberry.federation.type(shareable=True)
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class SecurityEventEdge:
    cursor: str
    node: SecurityEvent


@strawberry.type
class SecurityEventConnection:
    edges: list[SecurityEventEdge]
    page_info: PageInfo


async def resolve_security_events(
    root: UserType,
    info: Info[GraphQLContext, None],
    first: int = PAGE_SIZE_DEFAULT,
    after: str | None = None,
) -> SecurityEventConnection | None:
    claims = info.context.claims
    if (
        claims is None
        or claims.is_service
        or not (claims.is_admin or claims.subject == str(root.id))
    ):
        return None
    page = await _run(info.context.activity.page(uuid.UUID(str(root.id)), first=first, after=after))
    return SecurityEventConnection(
        edges=[
            SecurityEventEdge(
                cursor=encode_cursor(row), node=SecurityEvent.of(row, with_actor=claims.is_admin)
            )
            for row in page.events
        ],
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
    )


async def resolve_sessions(
    root: UserType, info: Info[GraphQLContext, None]
) -> list[AccountSession] | None:
    claims = info.context.claims
    if claims is None or claims.is_service or not claims.is_admin:
        return None
    rows = await _run(info.context.accounts.list_sessions(uuid.UUID(str(root.id))))
    return [AccountSession.of(row) for row in rows]


async def resolve_two_factor_enabled(
    root: UserType, info: Info[GraphQLContext, None]
) -> bool | None:
    if not root.visible:
        return None
    return await info.context.two_factor_loader.load(str(root.id))


@strawberry.federation.type(name="User", keys=["id"])
class UserType:
    id: strawberry.ID
    email: str | None = strawberry.field(default=None, description="Sign-in e-mail address")
    email_verified: bool | None = None
    roles: list[str] | None = None
    status: AccountStatusEnum | None = None
    last_login_at: datetime | None = None
    created_at: datetime | None = None
    security_events: SecurityEventConnection | None = strawberry.field(
        resolver=resolve_security_events,
        description=(
            "The account's security activity, newest first, at most 100 per page (the account "
            "itself and administrators; null for anyone else)"
        ),
    )
    sessions: list[AccountSession] | None = strawberry.field(
        resolver=resolve_sessions,
        description=(
            "The account's latest sessions, live and ended, most recent first, at most 50 "
            "(administrators; null for anyone else)"
        ),
    )
    visible: strawberry.Private[bool] = True
    two_factor_enabled: bool | None = strawberry.field(
        resolver=resolve_two_factor_enabled,
        description="Whether sign-in asks for a second factor (TOTP)",
    )
    has_password: bool | None = strawberry.field(
        default=None,
        description="False for an account created through an identity provider with no password",
    )

    @classmethod
    def of(cls, account: AccountModel, *, visible: bool = True) -> UserType:
        if not visible:
            return cls(id=strawberry.ID(str(account.id)), visible=False)
        return cls(
            id=strawberry.ID(str(account.id)),
            email=account.email,
            email_verified=account.email_verified,
            roles=sorted(account.roles),
            status=AccountStatusEnum(account.status),
            last_login_at=account.last_login_at,
            created_at=account.created_at,
            has_password=account.password_hash is not None,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[GraphQLContext, None], id: strawberry.ID
    ) -> UserType | None:
        context = info.context
        account = await context.account_loader.load(str(id))
        if account is None:
            return None
        return cls.of(account, visible=_may_see(context.claims, account))


def _may_see(claims: AccessClaims | None, account: AccountModel) -> bool:
    if claims is None:
        return False
    return claims.is_service or claims.is_admin or claims.subject == str(account.id)


@strawberry.type
class AccountEdge:
    cursor: str
    node: UserType | None = strawberry.field(
        description="The account; null only when another subgraph cannot resolve its fields"
    )


@strawberry.type(description="A page of accounts, newest first")
class AccountConnection:
    edges: list[AccountEdge]
    page_info: PageInfo


@strawberry.type(description="Tokens answered by register, login, refreshToken, changePassword")
class AuthPayload:
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserType

    @classmethod
    def of(cls, sign_in: SignIn) -> AuthPayload:
        return cls(
            access_token=sign_in.access_token,
            token_type="Bearer",  # noqa: S106 - the token type, not a secret
            expires_in=sign_in.expires_in,
            refresh_token=sign_in.refresh_token,
            refresh_expires_in=sign_in.refresh_expires_in,
            user=UserType.of(sign_in.account),
        )


@strawberry.input
class RegisterInput:
    email: str
    password: str
    display_name: str | None = None


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class ResetPasswordInput:
    token: str
    password: str


@strawberry.input
class LoginTwoFactorInput:
    mfa_token: str
    code: str | None = None
    recovery_code: str | None = None


@strawberry.input
class DisableTwoFactorInput:
    code: str | None = None
    password: str | None = None


@strawberry.type(description="A pending TOTP secret, shown once; confirmTwoFactor turns it on")
class TwoFactorEnrolment:
    secret: str
    otpauth_uri: str


@strawberry.type(description="Single-use recovery codes, shown once")
class TwoFactorRecoveryCodes:
    recovery_codes: list[str]


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class SetPasswordInput:
    new_password: str


@strawberry.type(name="IdentityProvider", description="An OpenID provider people can sign in with")
class IdentityProviderType:
    name: str
    display_name: str


@strawberry.type(description="An identity at an OpenID provider that signs in to this account")
class LinkedIdentity:
    id: strawberry.ID
    provider: str
    email: str | None
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, identity: IdentityModel) -> LinkedIdentity:
        return cls(
            id=strawberry.ID(str(identity.id)),
            provider=identity.provider,
            email=identity.email,
            created_at=identity.created_at,
            last_used_at=identity.last_used_at,
        )


def _graphql_error(error: AppError) -> GraphQLError:
    extensions: dict[str, Any] = {"code": error.code, "status": error.status_code}
    retry_after = error.headers.get("Retry-After")
    if retry_after is not None:
        extensions["retryAfter"] = int(retry_after)
    return GraphQLError(error.message, extensions=extensions)


async def _run[T](call: Awaitable[T]) -> T:
    try:
        return await call
    except AppError as error:
        raise _graphql_error(error) from error


def _require_admin(context: GraphQLContext) -> AccessClaims:
    claims = _require_claims(context)
    if not claims.is_admin:
        raise GraphQLError("administrators only", extensions={"code": "forbidden", "status": 403})
    return claims


def _require_claims(context: GraphQLContext) -> AccessClaims:
    if context.claims is None:
        raise GraphQLError(
            "authentication required", extensions={"code": "unauthenticated", "status": 401}
        )
    return context.claims


def _id_or_not_found(id: strawberry.ID, message: str, code: str) -> uuid.UUID:
    """The UUID an ``ID`` argument names; one that is no UUID names nothing (404 ``code``)."""
    try:
        return uuid.UUID(str(id))
    except ValueError:
        raise GraphQLError(message, extensions={"code": code, "status": 404}) from None


async def resolve_account(info: Info[GraphQLContext, None]) -> UserType:
    claims = _require_claims(info.context)
    return UserType.of(await _run(info.context.credentials.current_account(claims)))


async def resolve_register(
    info: Info[GraphQLContext, None],
    input: RegisterInput,
) -> bool:
    context = info.context
    await _run(
        context.credentials.register(
            input.email,
            input.password,
            display_name=input.display_name,
            client_address=context.client_address,
        )
    )
    return True


async def resolve_login(
    info: Info[GraphQLContext, None],
    input: LoginInput,
) -> AuthPayload:
    context = info.context
    sign_in = await _run(
        context.credentials.login(
            input.email,
            input.password,
            client_address=context.client_address,
            user_agent=context.request_context.user_agent,
        )
    )
    if isinstance(sign_in, MfaChallenge):
        # The password was right and a code is due: the challenge rides in the error, and
        # loginTwoFactor finishes the sign-in (REST answers it as a 200 body instead).
        raise GraphQLError(
            "a second factor is required",
            extensions={
                "code": "mfa_required",
                "status": 401,
                "mfaToken": sign_in.token,
                "expiresIn": sign_in.expires_in,
            },
        )
    return AuthPayload.of(sign_in)


async def resolve_login_two_factor(
    info: Info[GraphQLContext, None], input: LoginTwoFactorInput
) -> AuthPayload:
    context = info.context
    return AuthPayload.of(
        await _run(
            context.two_factor.complete(
                input.mfa_token,
                code=input.code,
                recovery_code=input.recovery_code,
                client_address=context.client_address,
            )
        )
    )


async def resolve_enroll_two_factor(
    info: Info[GraphQLContext, None], password: str
) -> TwoFactorEnrolment:
    claims = _require_claims(info.context)
    enrolment = await _run(info.context.two_factor.enrol(claims, password))
    return TwoFactorEnrolment(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


async def resolve_confirm_two_factor(
    info: Info[GraphQLContext, None], code: str
) -> TwoFactorRecoveryCodes:
    context = info.context
    claims = _require_claims(context)
    codes = await _run(
        context.two_factor.confirm(claims, code, client_address=context.client_address)
    )
    return TwoFactorRecoveryCodes(recovery_codes=codes)


async def resolve_disable_two_factor(
    info: Info[GraphQLContext, None], input: DisableTwoFactorInput
) -> bool:
    context = info.context
    claims = _require_claims(context)
    await _run(
        context.two_factor.disable(
            claims,
            code=input.code,
            password=input.password,
            client_address=context.client_address,
        )
    )
    return True


async def resolve_reset_two_factor(info: Info[GraphQLContext, None], id: strawberry.ID) -> bool:
    claims = _require_admin(info.context)
    account_id = _id_or_not_found(id, "no such account", "account_not_found")
    return await _run(info.context.two_factor.reset(account_id, by=claims.subject))


async def resolve_accounts(  # noqa: PLR0917 - the query's arguments
    info: Info[GraphQLContext, None],
    first: int = ACCOUNT_PAGE_DEFAULT,
    after: str | None = None,
    search: str | None = None,
    role: str | None = None,
    status: AccountStatusEnum | None = None,
) -> AccountConnection:
    _require_admin(info.context)
    where = AccountFilter(search=search, role=role, status=status.value if status else None)
    page = await _run(info.context.accounts.list_accounts(first=first, after=after, where=where))
    return AccountConnection(
        edges=[
            AccountEdge(cursor=account_cursor(account), node=UserType.of(account))
            for account in page.accounts
        ],
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
    )


async def resolve_disable_account(
    info: Info[GraphQLContext, None], id: strawberry.ID, reason: str | None = None
) -> UserType:
    claims = _require_admin(info.context)
    account_id = _id_or_not_found(id, "no such account", "account_not_found")
    if reason is not None and len(reason) > 200:
        raise GraphQLError(
            "reason is longer than 200 characters",
            extensions={"code": "validation_error", "status": 422},
        )
    return UserType.of(
        await _run(info.context.accounts.disable(account_id, by=claims.subject, reason=reason))
    )


async def resolve_enable_account(info: Info[GraphQLContext, None], id: strawberry.ID) -> UserType:
    claims = _require_admin(info.context)
    account_id = _id_or_not_found(id, "no such account", "account_not_found")
    return UserType.of(
        await _run(info.context.accounts.set_status(account_id, "active", None, by=claims.subject))
    )


async def resolve_refresh_token(
    info: Info[GraphQLContext, None], refresh_token: str
) -> AuthPayload:
    context = info.context
    return AuthPayload.of(
        await _run(context.sessions.refresh(refresh_token, client_address=context.client_address))
    )


async def resolve_logout(
    info: Info[GraphQLContext, None], refresh_token: str | None = None
) -> bool:
    context = info.context
    await _run(context.sessions.logout(context.claims, refresh_token))
    return True


async def resolve_change_password(
    info: Info[GraphQLContext, None],
    input: ChangePasswordInput,
) -> AuthPayload:
    context = info.context
    claims = _require_claims(context)
    return AuthPayload.of(
        await _run(
            context.credentials.change_password(
                claims,
                input.current_password,
                input.new_password,
                client_address=context.client_address,
                user_agent=context.request_context.user_agent,
            )
        )
    )


async def resolve_verify_email(info: Info[GraphQLContext, None], token: str) -> bool:
    context = info.context
    await _run(context.email_tokens.verify_email(token, context=context.request_context))
    return True


async def resolve_resend_verification_email(info: Info[GraphQLContext, None]) -> bool:
    context = info.context
    account = await _run(context.credentials.current_account(_require_claims(context)))
    await _run(context.email_tokens.resend_verification(account, context=context.request_context))
    return True


async def resolve_forgot_password(info: Info[GraphQLContext, None], email: str) -> bool:
    context = info.context
    await _run(context.email_tokens.forgot_password(email, context=context.request_context))
    return True


async def resolve_reset_password(
    info: Info[GraphQLContext, None], input: ResetPasswordInput
) -> bool:
    context = info.context
    await _run(
        context.email_tokens.reset_password(
            input.token, input.password, context=context.request_context
        )
    )
    return True


def resolve_identity_providers(info: Info[GraphQLContext, None]) -> list[IdentityProviderType]:
    return [
        IdentityProviderType(name=name, display_name=label)
        for name, label in info.context.identities.provider_list()
    ]


async def resolve_linked_identities(info: Info[GraphQLContext, None]) -> list[LinkedIdentity]:
    claims = _require_claims(info.context)
    rows = await _run(info.context.identities.identities(claims))
    return [LinkedIdentity.of(row) for row in rows]


async def resolve_unlink_identity(info: Info[GraphQLContext, None], id: strawberry.ID) -> bool:
    claims = _require_claims(info.context)
    identity_id = _id_or_not_found(id, "no such linked identity", "identity_not_found")
    await _run(info.context.identities.unlink(claims, identity_id))
    return True


async def resolve_set_password(
    info: Info[GraphQLContext, None], input: SetPasswordInput
) -> AuthPayload:
    context = info.context
    claims = _require_claims(context)
    return AuthPayload.of(
        await _run(
            context.credentials.set_password(
                claims, input.new_password, client_address=context.client_address
            )
        )
    )


@strawberry.type
class Query:
    account: UserType = strawberry.field(
        resolver=resolve_account,
        description="The signed-in account (profile fields come from the users subgraph's `me`)",
    )
    identity_providers: list[IdentityProviderType] = strawberry.field(
        resolver=resolve_identity_providers,
        description="OpenID providers to sign in with (start at /api/auth/oidc/{name}/authorize)",
    )
    linked_identities: list[LinkedIdentity] = strawberry.field(
        resolver=resolve_linked_identities,
        description="The identities that sign in to the signed-in account",
    )
    accounts: AccountConnection = strawberry.field(
        resolver=resolve_accounts,
        description=(
            "Accounts newest first, at most 100 per page (administrators): search is part of "
            "the e-mail address or a whole id; role and status filter; the filters combine"
        ),
    )


@strawberry.type
class Mutation:
    register: bool | None = strawberry.mutation(
        resolver=resolve_register,
        description=(
            "Register an e-mail address: true for a new and an existing address alike (an "
            "e-mail tells its owner which); a new account then signs in with login"
        ),
    )
    login: AuthPayload | None = strawberry.mutation(
        resolver=resolve_login, description="Sign in with e-mail and password"
    )
    refresh_token: AuthPayload | None = strawberry.mutation(
        resolver=resolve_refresh_token, description="Rotate a refresh token"
    )
    logout: bool | None = strawberry.mutation(
        resolver=resolve_logout, description="End this session (by access or refresh token)"
    )
    change_password: AuthPayload | None = strawberry.mutation(
        resolver=resolve_change_password,
        description="Change the password; ends every session and starts a new one",
    )
    verify_email: bool | None = strawberry.mutation(
        resolver=resolve_verify_email,
        description=(
            "Verify the account's e-mail address with the token from the verification mail "
            "(invalid_token when unknown, used, expired or superseded)"
        ),
    )
    resend_verification_email: bool | None = strawberry.mutation(
        resolver=resolve_resend_verification_email,
        description="Mail a new verification link to the signed-in account (rate-limited)",
    )
    forgot_password: bool | None = strawberry.mutation(
        resolver=resolve_forgot_password,
        description=(
            "Mail a password-reset link: true for every address, whether or not it has an account"
        ),
    )
    reset_password: bool | None = strawberry.mutation(
        resolver=resolve_reset_password,
        description=(
            "Set a new password with the token from the reset mail; ends every session "
            "(invalid_token when unknown, used, expired or superseded)"
        ),
    )
    login_two_factor: AuthPayload | None = strawberry.mutation(
        resolver=resolve_login_two_factor,
        description=(
            "Second sign-in step: the mfaToken of login's mfa_required error with a code or a "
            "recovery code"
        ),
    )
    enroll_two_factor: TwoFactorEnrolment | None = strawberry.mutation(
        resolver=resolve_enroll_two_factor,
        description=(
            "Start enrolling a TOTP authenticator (password required); pending until confirmed"
        ),
    )
    confirm_two_factor: TwoFactorRecoveryCodes | None = strawberry.mutation(
        resolver=resolve_confirm_two_factor,
        description="Confirm the enrolment with a first code: two-factor sign-in is on",
    )
    disable_two_factor: bool | None = strawberry.mutation(
        resolver=resolve_disable_two_factor,
        description="Turn two-factor sign-in off (a current code or the password)",
    )
    reset_two_factor: bool | None = strawberry.mutation(
        resolver=resolve_reset_two_factor,
        description=(
            "Remove an account's second factor for a lost device (administrators); whether it "
            "had one. Its sessions stay."
        ),
    )
    disable_account: UserType | None = strawberry.mutation(
        resolver=resolve_disable_account,
        description=("Disable an account and end its sessions (administrators; never their own)"),
    )
    enable_account: UserType | None = strawberry.mutation(
        resolver=resolve_enable_account,
        description="Re-enable a disabled account (administrators)",
    )
    set_password: AuthPayload | None = strawberry.mutation(
        resolver=resolve_set_password,
        description="Set a first password (accounts created through an identity provider)",
    )
    unlink_identity: bool | None = strawberry.mutation(
        resolver=resolve_unlink_identity,
        description="Unlink an identity (refused when it is the only way to sign in)",
    )


def _should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions; keep our own errors and GraphQL validation errors."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | AppError)


class AuthSchema(strawberry.federation.Schema):
    """Logs unexpected errors only: expected ones (wrong password, ...) are answers, not faults."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [error for error in errors if _should_mask(error)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def create_schema() -> strawberry.federation.Schema:
    return AuthSchema(
        query=Query,
        mutation=Mutation,
        types=[UserType],
        federation_version="2.9",
        extensions=[
            OperationCache,
            partial(QueryDepthLimiter, max_depth=10),
            partial(MaxAliasesLimiter, max_alias_count=50),
            partial(MaskErrors, should_mask_error=_should_mask, error_message="internal error"),
        ],
    )


def export_sdl() -> str:
    """The subgraph SDL the gateway composes (what ``_service { sdl }`` answers)."""
    return create_schema().as_str()


def _loader(accounts: AccountAdminService) -> DataLoader[str, AccountModel | None]:
    async def load(keys: Sequence[str]) -> list[AccountModel | None]:
        ids: list[uuid.UUID | None] = []
        for key in keys:
            try:
                ids.append(uuid.UUID(key))
            except ValueError:
                ids.append(None)
        found = await accounts.get_accounts([i for i in ids if i is not None])
        return [found.get(i) if i is not None else None for i in ids]

    return DataLoader(load_fn=load)


def _two_factor_loader(two_factor: TwoFactorService) -> DataLoader[str, bool]:
    async def load(keys: Sequence[str]) -> list[bool]:
        enabled = await two_factor.enabled_for([uuid.UUID(key) for key in keys])
        return [uuid.UUID(key) in enabled for key in keys]

    return DataLoader(load_fn=load)


async def graphql_context(request: Request[Any, Any, Any]) -> GraphQLContext:
    """The request's context. It holds no database session: each service call opens its own,
    so root fields resolved concurrently (and the loader's batches) never share one."""
    state = provide_auth_state(request.app.state)
    two_factor = TwoFactorService(state)
    accounts = AccountAdminService(state)
    return GraphQLContext(
        request=request,
        credentials=CredentialService(state),
        sessions=SessionService(state),
        identities=IdentityService(state),
        claims=current_claims(request),
        client_address=client_address(request),
        request_context=request_context(request),
        email_tokens=EmailTokenService(state),
        activity=SecurityActivityService(state),
        account_loader=_loader(accounts),
        accounts=accounts,
        two_factor=two_factor,
        two_factor_loader=_two_factor_loader(two_factor),
    )


def graphql_controller() -> type:
    return graphql_http.graphql_controller(create_schema(), graphql_context)
