"""GraphQL subgraph of nova-users (Apollo Federation 2.9 with Strawberry).

``User @key(fields: "id")`` carries the profile fields; auth's subgraph adds the account fields
to the same entity, ``createdAt`` (when the account was created) among them — so the profile's
own creation time stays out of this subgraph (a non-shareable field cannot be resolved by two
subgraphs) and is served by REST and the admin pages.

Resolvers are a thin skin over :class:`ProfileService`: the same guards as the REST routes
(``nova_kit.security``), the same validation models, the same visibility rule. ``_entities``
lookups go through a per-request DataLoader, one SQL query per batch.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from litestar import Request
from strawberry.dataloader import DataLoader
from strawberry.extensions import QueryDepthLimiter, SchemaExtension
from strawberry.litestar import BaseContext
from strawberry.types import Info
from strawberry.types.execution import ExecutionContext as StrawberryExecutionContext
from strawberry.types.execution import ExecutionResult

from nova_kit import graphql_http
from nova_kit.errors import AppError, NotFoundError
from nova_kit.graphql_cache import OperationCache
from nova_kit.security import check_admin, check_user, current_claims
from nova_kit.tokens import AccessClaims
from nova_users.models import ProfileModel
from nova_users.schemas import (
    PAGE_SIZE_DEFAULT,
    ProfileRead,
    ProfileUpdate,
    parse_model,
    validation_error,
)
from nova_users.services import ProfileFilter, ProfileService, Viewer, present
from nova_users.state import provide_users_state

logger = logging.getLogger(__name__)

MAX_QUERY_DEPTH = 10
_GRAPHQL_FIELDS = {
    "display_name": "displayName",
    "avatar_url": "avatarUrl",
}


class UsersContext(BaseContext, kw_only=True):
    """Per-request context: the caller, the service and the entity loader."""

    profiles: ProfileService
    claims: AccessClaims | None
    loader: DataLoader[uuid.UUID, ProfileModel | None]

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.claims)

    def http_request(self) -> Request[Any, Any, Any]:
        if self.request is None:
            raise RuntimeError("GraphQL over websockets is not served")
        return self.request


UsersInfo = Info[UsersContext, None]


@strawberry.federation.type(name="User", keys=["id"], description="A Nova user's profile.")
class UserType:
    id: strawberry.ID
    display_name: str
    bio: str | None
    avatar_url: str | None
    locale: str | None = strawberry.field(
        description="BCP 47 locale; visible to the user and administrators only."
    )
    timezone: str | None = strawberry.field(
        description="IANA time zone; visible to the user and administrators only."
    )
    updated_at: datetime = strawberry.field(description="When the profile last changed.")
    deleted_at: datetime | None = strawberry.field(
        description="When the profile was soft-deleted; administrators only."
    )

    @classmethod
    def from_read(cls, profile: ProfileRead) -> UserType:
        return cls(
            id=strawberry.ID(str(profile.id)),
            display_name=profile.display_name,
            bio=profile.bio,
            avatar_url=profile.avatar_url,
            locale=profile.locale,
            timezone=profile.timezone,
            updated_at=profile.updated_at,
            deleted_at=profile.deleted_at,
        )

    @classmethod
    def of(cls, profile: ProfileModel, info: UsersInfo) -> UserType:
        return cls.from_read(present(profile, info.context.viewer))

    @classmethod
    async def resolve_reference(cls, info: UsersInfo, id: strawberry.ID) -> UserType | None:
        try:
            user_id = uuid.UUID(str(id))
        except ValueError:
            return None
        profile = await info.context.loader.load(user_id)
        return cls.of(profile, info) if profile is not None else None


@strawberry.federation.type(shareable=True)
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class UserEdge:
    cursor: str
    node: UserType


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo


@strawberry.input(description="Fields to change; an omitted field is kept, null clears it.")
class UpdateProfileInput:
    display_name: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    avatar_url: str | None = strawberry.UNSET
    locale: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET

    def to_update(self) -> ProfileUpdate:
        sent = {
            name: value
            for name, value in vars(self).items()
            if value is not strawberry.UNSET and not name.startswith("_")
        }
        try:
            return parse_model(ProfileUpdate, sent)
        except AppError as error:
            raise _with_graphql_field_names(error) from None


def _with_graphql_field_names(error: AppError) -> AppError:
    details = error.details if isinstance(error.details, list) else []
    problems = [
        (_GRAPHQL_FIELDS.get(entry["field"], entry["field"]), entry["message"]) for entry in details
    ]
    return validation_error(problems) if problems else error


def _parse_id(value: strawberry.ID) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise validation_error([("id", "is not a user id")]) from None


def _require_user(info: UsersInfo) -> AccessClaims:
    return check_user(info.context.http_request())


def _require_admin(info: UsersInfo) -> AccessClaims:
    return check_admin(info.context.http_request())


async def resolve_me(info: UsersInfo) -> UserType:
    claims = _require_user(info)
    return UserType.of(await info.context.profiles.get_own(claims), info)


async def resolve_user(
    info: UsersInfo, id: strawberry.ID, include_deleted: bool = False
) -> UserType | None:
    user_id = _parse_id(id)
    profile: ProfileModel | None
    if include_deleted:
        _require_admin(info)
        try:
            profile = await info.context.profiles.get(user_id, include_deleted=True)
        except NotFoundError:
            profile = None
    else:
        profile = await info.context.loader.load(user_id)
    return UserType.of(profile, info) if profile is not None else None


async def resolve_users(
    info: UsersInfo,
    first: int = PAGE_SIZE_DEFAULT,
    after: str | None = None,
    search: str | None = None,
    include_deleted: bool = False,
) -> UserConnection:
    _require_admin(info)
    status = ProfileFilter.ALL if include_deleted else ProfileFilter.ACTIVE
    page = await info.context.profiles.list(first=first, after=after, search=search, status=status)
    rendered = page.present(info.context.viewer)
    return UserConnection(
        edges=[
            UserEdge(cursor=edge.cursor, node=UserType.from_read(edge.node))
            for edge in rendered.edges
        ],
        page_info=PageInfo(
            has_next_page=rendered.page_info.has_next_page,
            end_cursor=rendered.page_info.end_cursor,
        ),
    )


async def update_profile(info: UsersInfo, input: UpdateProfileInput) -> UserType:
    claims = _require_user(info)
    changes = input.to_update()
    return UserType.of(await info.context.profiles.update_own(claims, changes), info)


async def delete_account(info: UsersInfo) -> bool:
    claims = _require_user(info)
    await info.context.profiles.delete_own(claims)
    return True


async def restore_user(info: UsersInfo, id: strawberry.ID) -> UserType:
    _require_admin(info)
    return UserType.of(await info.context.profiles.restore(_parse_id(id)), info)


@strawberry.type
class Query:
    me: UserType = strawberry.field(
        resolver=resolve_me, description="The caller's profile (created on first read)."
    )
    user: UserType | None = strawberry.field(
        resolver=resolve_user,
        description="A user's public profile; null if there is none (or it was deleted, "
        "unless an administrator asks with includeDeleted).",
    )
    users: UserConnection = strawberry.field(
        resolver=resolve_users,
        description="Profiles, newest first, at most 100 per page (administrators).",
    )


@strawberry.type
class Mutation:
    update_profile: UserType = strawberry.mutation(
        resolver=update_profile, description="Change the caller's profile."
    )
    delete_account: bool = strawberry.mutation(
        resolver=delete_account, description="Delete the caller's profile (soft delete)."
    )
    restore_user: UserType = strawberry.mutation(
        resolver=restore_user, description="Restore a soft-deleted profile (administrators)."
    )


class ErrorCodes(SchemaExtension):
    """Every error carries ``extensions.code``; unexpected ones are logged and masked."""

    shapes_result_only = True  # nova_kit.graphql_cache.RESULT_ONLY: no other hook

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, ExecutionResult | GraphQLExecutionResult) and result.errors:
            result.errors = [self._coded(error) for error in result.errors]

    @staticmethod
    def _coded(error: GraphQLError) -> GraphQLError:
        original = error.original_error
        extensions = dict(error.extensions or {})
        if isinstance(original, AppError):
            extensions["code"] = original.code
            if original.details is not None:
                extensions["details"] = original.details
            message = original.message
        elif original is None or isinstance(original, GraphQLError):
            extensions.setdefault("code", "graphql_validation_failed")
            message = error.message
        else:
            extensions["code"] = "internal_error"
            message = "internal error; quote the request id to support"
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=original,
            extensions=extensions,
        )


class UsersSchema(strawberry.federation.Schema):
    """Logs only unexpected errors: a bad input or a missing token is the client's business."""

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: StrawberryExecutionContext | None = None,
    ) -> None:
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, AppError | GraphQLError):
                continue
            logger.error("unhandled error in GraphQL resolver", exc_info=original)


def build_schema() -> UsersSchema:
    return UsersSchema(
        query=Query,
        mutation=Mutation,
        types=[UserType],
        extensions=[
            OperationCache,
            partial(QueryDepthLimiter, max_depth=MAX_QUERY_DEPTH),
            ErrorCodes,
        ],
        federation_version="2.9",
    )


def export_sdl() -> str:
    return build_schema().as_str()


async def users_context(request: Request[Any, Any, Any]) -> UsersContext:
    """The request's context. It holds no session: :class:`ProfileService` opens one per call,
    so root fields resolved concurrently (and the entity loader's batches) never share one."""
    profiles = ProfileService(provide_users_state(request.app.state))

    async def load(user_ids: Sequence[uuid.UUID]) -> list[ProfileModel | None]:
        return await profiles.get_many(user_ids)

    return UsersContext(
        request=request,
        profiles=profiles,
        claims=current_claims(request),
        loader=DataLoader(load_fn=load),
    )


def graphql_controller() -> type:
    return graphql_http.graphql_controller(build_schema(), users_context)
