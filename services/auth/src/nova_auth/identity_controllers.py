"""The REST skin of sign-in with an OpenID provider and of the caller's linked identities.

``GET /api/auth/oidc/{provider}/authorize`` and ``.../callback`` are browser navigations; the
flow cookie that binds a started flow to its browser is set and cleared here. The callback
answers JSON: the gateway turns a sign-in into its session cookies and a redirect (ADR 0017).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.datastructures.response_header import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT, HTTP_302_FOUND

from nova_auth.controllers import AuthStateDep, Claims, client_address
from nova_auth.schemas import (
    AuthorizationStarted,
    IdentityView,
    LinkIdentityRequest,
    OidcCallbackResponse,
    OidcProvidersResponse,
    OidcProviderView,
)
from nova_auth.services.identity import FLOW_COOKIE, FLOW_COOKIE_PATH, IdentityService
from nova_auth.state import AuthState
from nova_kit.security import requires_user

Identities = NamedDependency[IdentityService]
ProviderName = FromPath[str]
Query = Annotated[str | None, QueryParameter(max_length=2048)]
NO_STORE = [ResponseHeader(name="Cache-Control", value="no-store")]


def provide_identities(auth_state: AuthStateDep) -> IdentityService:
    return IdentityService(auth_state)


IDENTITY_DEPENDENCIES = {"identities": Provide(provide_identities, sync_to_thread=False)}


def flow_cookie(state: AuthState, handle: str) -> Cookie:
    """The httpOnly cookie that proves a callback comes from the browser that started the flow.
    ``SameSite=Lax``: the provider's redirect back is a top-level GET, which Lax lets through."""
    settings = state.settings
    return Cookie(
        key=FLOW_COOKIE,
        value=handle,
        path=FLOW_COOKIE_PATH,
        max_age=0 if not handle else settings.oidc_flow_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=not settings.is_dev,
    )


class OidcController(Controller):
    """Sign in with an OpenID provider: the provider list, the start and the callback."""

    path = "/api/auth/oidc"
    tags = ["auth-oidc"]  # noqa: RUF012 - Litestar reads a plain list
    response_headers = NO_STORE
    dependencies = IDENTITY_DEPENDENCIES

    @get("/providers", summary="The identity providers a user can sign in with")
    async def providers(self, identities: Identities) -> OidcProvidersResponse:
        return OidcProvidersResponse(
            [OidcProviderView(name, label) for name, label in identities.provider_list()]
        )

    @get(
        "/{provider:str}/authorize",
        status_code=HTTP_302_FOUND,
        summary="Start signing in with a provider (redirects the browser to it)",
        description=(
            "`next` is the path on this site to return to afterwards. Sets the httpOnly flow "
            "cookie; the provider sends the browser back to `.../callback`."
        ),
    )
    async def authorize(
        self,
        *,
        provider: ProviderName,
        identities: Identities,
        auth_state: AuthStateDep,
        request: Request[Any, Any, Any],
        next_path: Annotated[str | None, QueryParameter(name="next", max_length=512)] = None,
    ) -> Redirect:
        started = await identities.start(
            provider, next_path, client_address=client_address(request)
        )
        return Redirect(
            started.authorization_url,
            status_code=HTTP_302_FOUND,
            cookies=[flow_cookie(auth_state, started.handle)],
        )

    @get(
        "/{provider:str}/callback",
        summary="Where the provider sends the browser back",
        description=(
            "Validates `state` against the flow cookie (single use), exchanges `code` with the "
            "PKCE verifier and validates the ID token. Answers the session's tokens with the "
            "`outcome` (`signed_in`, `created`, `linked`) and `next`; through the gateway, a "
            "browser gets its session cookies and a redirect to `next` instead. An account with "
            "two-factor sign-in answers `mfa_required` with an `mfa_token` for "
            "`POST /api/auth/login/two-factor` (the gateway keeps it in a short-lived httpOnly "
            "cookie and sends the browser to its login page's second step)."
        ),
    )
    async def callback(
        self,
        *,
        provider: ProviderName,
        identities: Identities,
        auth_state: AuthStateDep,
        request: Request[Any, Any, Any],
        code: Query = None,
        oauth_state: Annotated[str | None, QueryParameter(name="state", max_length=128)] = None,
        error: Annotated[str | None, QueryParameter(max_length=256)] = None,
        iss: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> Response[OidcCallbackResponse]:
        outcome = await identities.finish(
            provider,
            code=code,
            state=oauth_state,
            error=error,
            issuer=iss,
            handle=request.cookies.get(FLOW_COOKIE),
            client_address=client_address(request),
        )
        return Response(
            OidcCallbackResponse.of(outcome),
            status_code=HTTP_200_OK,
            cookies=[flow_cookie(auth_state, "")],
        )


class IdentityController(Controller):
    """The signed-in account's linked identities."""

    path = "/api/auth/me/identities"
    tags = ["auth-oidc"]  # noqa: RUF012 - Litestar reads a plain list
    guards = [requires_user]  # noqa: RUF012
    response_headers = NO_STORE
    dependencies = IDENTITY_DEPENDENCIES

    @get("/", summary="The identities that sign in to this account")
    async def list_identities(self, identities: Identities, claims: Claims) -> list[IdentityView]:
        return [IdentityView.of(row) for row in await identities.identities(claims)]

    @post(
        "/link/{provider:str}",
        status_code=HTTP_200_OK,
        summary="Start linking a provider's identity to this account",
        description=(
            "Answers the provider URL to send the browser to and sets the flow cookie; the "
            "callback links the identity the browser signs in with there."
        ),
    )
    async def link(
        self,
        *,
        provider: ProviderName,
        identities: Identities,
        claims: Claims,
        auth_state: AuthStateDep,
        request: Request[Any, Any, Any],
        data: JSONBody[LinkIdentityRequest | None] = None,
    ) -> Response[AuthorizationStarted]:
        started = await identities.start_link(
            claims,
            provider,
            data.next if data else None,
            client_address=client_address(request),
        )
        return Response(
            AuthorizationStarted(started.authorization_url),
            cookies=[flow_cookie(auth_state, started.handle)],
        )

    @delete(
        "/{identity_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Unlink an identity (refused if it is the only way to sign in)",
    )
    async def unlink(
        self, identity_id: FromPath[UUID], identities: Identities, claims: Claims
    ) -> None:
        await identities.unlink(claims, identity_id)
