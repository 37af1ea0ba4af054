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

from nova_auth.controllers import client_address
from nova_auth.models import AccountModel, IdentityModel
from nova_auth.services.admin import AccountAdminService
from nova_auth.services.credentials import CredentialService
from nova_auth.services.identity import IdentityService
from nova_auth.services.sessions import SessionService, SignIn
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
    account_loader: DataLoader[str, AccountModel | None]


@strawberry.enum(name="AccountStatus", description="Lifecycle state of an account")
class AccountStatusEnum(Enum):
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


@strawberry.federation.type(name="User", keys=["id"])
class UserType:
    id: strawberry.ID
    email: str | None = strawberry.field(default=None, description="Sign-in e-mail address")
    email_verified: bool | None = None
    roles: list[str] | None = None
    status: AccountStatusEnum | None = None
    last_login_at: datetime | None = None
    created_at: datetime | None = None
    has_password: bool | None = strawberry.field(
        default=None,
        description="False for an account created through an identity provider with no password",
    )

    @classmethod
    def of(cls, account: AccountModel, *, visible: bool = True) -> UserType:
        if not visible:
            return cls(id=strawberry.ID(str(account.id)))
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


def _require_claims(context: GraphQLContext) -> AccessClaims:
    if context.claims is None:
        raise GraphQLError(
            "authentication required", extensions={"code": "unauthenticated", "status": 401}
        )
    return context.claims


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
    return AuthPayload.of(
        await _run(
            context.credentials.login(
                input.email, input.password, client_address=context.client_address
            )
        )
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
            )
        )
    )


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
    try:
        identity_id = uuid.UUID(str(id))
    except ValueError:
        raise GraphQLError(
            "no such linked identity", extensions={"code": "identity_not_found", "status": 404}
        ) from None
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


async def graphql_context(request: Request[Any, Any, Any]) -> GraphQLContext:
    """The request's context. It holds no database session: each service call opens its own,
    so root fields resolved concurrently (and the loader's batches) never share one."""
    state = provide_auth_state(request.app.state)
    return GraphQLContext(
        request=request,
        credentials=CredentialService(state),
        sessions=SessionService(state),
        identities=IdentityService(state),
        claims=current_claims(request),
        client_address=client_address(request),
        account_loader=_loader(AccountAdminService(state)),
    )


def graphql_controller() -> type:
    return graphql_http.graphql_controller(create_schema(), graphql_context)
