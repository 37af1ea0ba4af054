"""The REST skin of nova-auth: ``/api/auth/*``, the JWKS, ``/oauth/token`` and ``/internal/*``."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures.response_header import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
)

from nova_auth.schemas import (
    AccountPageView,
    AccountSessionView,
    AccountView,
    ChangePasswordRequest,
    ConfirmEventsRequest,
    ConfirmEventsResponse,
    DeactivateInactiveRequest,
    DeactivateInactiveResponse,
    DeleteAccountRequest,
    EmailVerified,
    ForgotPasswordRequest,
    LoginRequest,
    LogoutRequest,
    MfaRequiredResponse,
    PasswordResetDone,
    PasswordResetRequested,
    RefreshRequest,
    RegisterRequest,
    RegistrationAccepted,
    ResetPasswordRequest,
    SecurityEventPageView,
    ServiceTokenRequest,
    ServiceTokenResponse,
    SetPasswordRequest,
    SetStatusRequest,
    TokenResponse,
    VerificationSent,
    VerifyEmailRequest,
)
from nova_auth.security_events import RequestContext
from nova_auth.services.activity import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, SecurityActivityService
from nova_auth.services.admin import (
    ACCOUNT_PAGE_DEFAULT,
    SEARCH_MAX,
    AccountAdminService,
    AccountFilter,
)
from nova_auth.services.clients import ServiceClientService
from nova_auth.services.credentials import CredentialService
from nova_auth.services.sessions import MfaChallenge, SessionService
from nova_auth.services.verification import EmailTokenService
from nova_auth.state import AuthState
from nova_kit.errors import AppError
from nova_kit.proxies import client_host
from nova_kit.security import current_claims, requires_admin, requires_service, requires_user
from nova_kit.tokens import AccessClaims

AuthStateDep = NamedDependency[AuthState]
Credentials = NamedDependency[CredentialService]
Sessions = NamedDependency[SessionService]
EmailTokens = NamedDependency[EmailTokenService]
Activity = NamedDependency[SecurityActivityService]
AccountAdmin = NamedDependency[AccountAdminService]
ServiceClients = NamedDependency[ServiceClientService]
Claims = NamedDependency[AccessClaims]
AccountId = FromPath[UUID]
PageSize = Annotated[
    int, QueryParameter(ge=1, le=PAGE_SIZE_MAX, description="page size (1 to 100)")
]
LogCursor = Annotated[
    str | None, QueryParameter(max_length=200, description="cursor of the last entry seen")
]


# Each request gets its services, built over the process-wide state (``auth_state``, an app
# dependency). They hold no database session: every method opens its own unit of work.


def provide_credentials(auth_state: AuthStateDep) -> CredentialService:
    return CredentialService(auth_state)


def provide_sessions(auth_state: AuthStateDep) -> SessionService:
    return SessionService(auth_state)


def provide_email_tokens(auth_state: AuthStateDep) -> EmailTokenService:
    return EmailTokenService(auth_state)


def provide_activity(auth_state: AuthStateDep) -> SecurityActivityService:
    return SecurityActivityService(auth_state)


def provide_account_admin(auth_state: AuthStateDep) -> AccountAdminService:
    return AccountAdminService(auth_state)


def provide_service_clients(auth_state: AuthStateDep) -> ServiceClientService:
    return ServiceClientService(auth_state)


ACCOUNT_ADMIN_DEPENDENCIES = {"accounts": Provide(provide_account_admin, sync_to_thread=False)}


def client_address(request: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address, resolved through the trusted proxies (:mod:`nova_kit.proxies`)."""
    return client_host(request.scope)


def request_context(request: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    """Where the request came from, for the security log."""
    return RequestContext(client_address(request), request.headers.get("user-agent"))


class AuthController(Controller):
    """Sign-up, sign-in, token refresh, sign-out and the caller's own account."""

    path = "/api/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar reads a plain list
    # Responses carry tokens: never cached by a browser or a proxy (RFC 6749 §5.1).
    response_headers = [ResponseHeader(name="Cache-Control", value="no-store")]  # noqa: RUF012 - Litestar reads a plain list
    dependencies = {  # noqa: RUF012 - Litestar reads a plain dict
        "credentials": Provide(provide_credentials, sync_to_thread=False),
        "sessions": Provide(provide_sessions, sync_to_thread=False),
        "email_tokens": Provide(provide_email_tokens, sync_to_thread=False),
        "activity": Provide(provide_activity, sync_to_thread=False),
    }

    @post(
        "/register",
        status_code=HTTP_202_ACCEPTED,
        summary="Register an e-mail address",
        description=(
            "Always 202 for valid input, whether or not the address has an account: the "
            "address gets an e-mail either way (a welcome, or 'you already have an account'). "
            "A new account can sign in at once with the password it registered."
        ),
    )
    async def register(
        self,
        data: JSONBody[RegisterRequest],
        credentials: Credentials,
        request: Request[Any, Any, Any],
    ) -> RegistrationAccepted:
        await credentials.register(
            data.email,
            data.password,
            display_name=data.display_name,
            client_address=client_address(request),
        )
        return RegistrationAccepted()

    @post(
        "/login",
        status_code=HTTP_200_OK,
        summary="Sign in with e-mail and password",
        description=(
            "Answers the tokens, or — for an account with two-factor sign-in — "
            "`{mfa_required: true, mfa_token, expires_in, methods}`: send the token with a code "
            "to `POST /api/auth/login/two-factor`."
        ),
    )
    async def login(
        self,
        data: JSONBody[LoginRequest],
        credentials: Credentials,
        request: Request[Any, Any, Any],
    ) -> TokenResponse | MfaRequiredResponse:
        sign_in = await credentials.login(
            data.email,
            data.password,
            client_address=client_address(request),
            user_agent=request.headers.get("user-agent"),
        )
        if isinstance(sign_in, MfaChallenge):
            return MfaRequiredResponse.of(sign_in)
        return TokenResponse.of(sign_in)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        summary="Rotate a refresh token",
        description=(
            "Answers a new access token and a new refresh token; the presented one is spent. "
            "A spent token presented again within the grace window (10 s by default) while its "
            "successor is unused gets 409 `refresh_token_rotated` and the session survives; "
            "any other reuse ends the whole session (401 `refresh_token_reused`)."
        ),
    )
    async def refresh(
        self, data: JSONBody[RefreshRequest], sessions: Sessions, request: Request[Any, Any, Any]
    ) -> TokenResponse:
        sign_in = await sessions.refresh(data.refresh_token, client_address=client_address(request))
        return TokenResponse.of(sign_in)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        summary="End this session",
        description="Ends the session of the Bearer access token, or of the refresh token sent.",
    )
    async def logout(
        self,
        sessions: Sessions,
        request: Request[Any, Any, Any],
        data: JSONBody[LogoutRequest | None] = None,
    ) -> None:
        await sessions.logout(current_claims(request), data.refresh_token if data else None)

    @post(
        "/logout-all",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_user],
        summary="End every session of this account",
    )
    async def logout_all(
        self, credentials: Credentials, sessions: Sessions, claims: Claims
    ) -> None:
        account = await credentials.current_account(claims)
        await sessions.logout_all(account.id)

    @post(
        "/change-password",
        status_code=HTTP_200_OK,
        guards=[requires_user],
        summary="Change the password; ends every session and starts a new one",
    )
    async def change_password(
        self,
        data: JSONBody[ChangePasswordRequest],
        credentials: Credentials,
        claims: Claims,
        request: Request[Any, Any, Any],
    ) -> TokenResponse:
        sign_in = await credentials.change_password(
            claims,
            data.current_password,
            data.new_password,
            client_address=client_address(request),
            user_agent=request.headers.get("user-agent"),
        )
        return TokenResponse.of(sign_in)

    @post(
        "/verify-email",
        status_code=HTTP_200_OK,
        summary="Verify the account's e-mail address with the token from the mail",
        description="Unknown, used, expired and superseded tokens: 400 `invalid_token`.",
    )
    async def verify_email(
        self,
        data: JSONBody[VerifyEmailRequest],
        email_tokens: EmailTokens,
        request: Request[Any, Any, Any],
    ) -> EmailVerified:
        await email_tokens.verify_email(data.token, context=request_context(request))
        return EmailVerified()

    @post(
        "/verify-email/resend",
        status_code=HTTP_202_ACCEPTED,
        guards=[requires_user],
        summary="Mail a new verification link (earlier links stop working)",
        description=(
            "Rate-limited per account and per client (429); "
            "409 `email_already_verified` once the address is verified."
        ),
    )
    async def resend_verification(
        self,
        credentials: Credentials,
        email_tokens: EmailTokens,
        claims: Claims,
        request: Request[Any, Any, Any],
    ) -> VerificationSent:
        account = await credentials.current_account(claims)
        await email_tokens.resend_verification(account, context=request_context(request))
        return VerificationSent()

    @post(
        "/forgot-password",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail a password-reset link",
        description=(
            "Always the same 202 answer, whether or not the address has an account; the link "
            "works once, for a short time, and a later request replaces it. Rate-limited per "
            "client and per address."
        ),
    )
    async def forgot_password(
        self,
        data: JSONBody[ForgotPasswordRequest],
        email_tokens: EmailTokens,
        request: Request[Any, Any, Any],
    ) -> PasswordResetRequested:
        await email_tokens.forgot_password(data.email, context=request_context(request))
        return PasswordResetRequested()

    @post(
        "/reset-password",
        status_code=HTTP_200_OK,
        summary="Set a new password with the token from the reset mail; ends every session",
        description=(
            "The password follows the registration's rules (422 `weak_password`: too short, "
            "too common, or like the address); unknown, used, expired or superseded tokens: "
            "400 `invalid_token`."
        ),
    )
    async def reset_password(
        self,
        data: JSONBody[ResetPasswordRequest],
        email_tokens: EmailTokens,
        request: Request[Any, Any, Any],
    ) -> PasswordResetDone:
        await email_tokens.reset_password(
            data.token, data.password, context=request_context(request)
        )
        return PasswordResetDone()

    @get(
        "/me/security-events",
        guards=[requires_user],
        summary="The signed-in account's security activity, newest first",
    )
    async def security_events(
        self,
        credentials: Credentials,
        activity: Activity,
        claims: Claims,
        first: PageSize = PAGE_SIZE_DEFAULT,
        after: LogCursor = None,
    ) -> SecurityEventPageView:
        account = await credentials.current_account(claims)
        return SecurityEventPageView.of(await activity.page(account.id, first=first, after=after))

    @post(
        "/me/password",
        status_code=HTTP_200_OK,
        guards=[requires_user],
        summary="Set a first password (accounts created through an identity provider)",
        description=(
            "409 `password_already_set` when the account has one (use change-password). Ends "
            "every session and starts a new one, like a password change."
        ),
    )
    async def set_password(
        self,
        data: JSONBody[SetPasswordRequest],
        credentials: Credentials,
        claims: Claims,
        request: Request[Any, Any, Any],
    ) -> TokenResponse:
        sign_in = await credentials.set_password(
            claims, data.new_password, client_address=client_address(request)
        )
        return TokenResponse.of(sign_in)

    @get("/me", guards=[requires_user], summary="The signed-in account")
    async def me(self, credentials: Credentials, claims: Claims) -> AccountView:
        return AccountView.of(await credentials.current_account(claims))

    @delete(
        "/me",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_user],
        summary="Delete the signed-in account (password required)",
    )
    async def delete_me(
        self, data: JSONBody[DeleteAccountRequest], credentials: Credentials, claims: Claims
    ) -> None:
        await credentials.delete_account(claims, data.password)


class AccountAdminController(Controller):
    """Administrators find accounts, read their sessions and security log, disable and
    re-enable them."""

    path = "/api/auth/accounts"
    tags = ["auth-admin"]  # noqa: RUF012 - Litestar reads a plain list
    guards = [requires_admin]  # noqa: RUF012
    dependencies = {  # noqa: RUF012 - Litestar reads a plain dict
        **ACCOUNT_ADMIN_DEPENDENCIES,
        "activity": Provide(provide_activity, sync_to_thread=False),
    }

    @get(
        "/",
        summary="Find accounts, newest first",
        description=(
            "Filters combine: `search` (part of the e-mail address, or a whole account id), "
            "`role` (`user`, `admin`), `status` (`active`, `disabled`, `deleted`). Keyset pages: "
            "pass the last `end_cursor` as `after`. Unknown roles or states: 422 "
            "`validation_error`."
        ),
    )
    async def list_accounts(  # noqa: PLR0917 - query parameters
        self,
        accounts: AccountAdmin,
        first: PageSize = ACCOUNT_PAGE_DEFAULT,
        after: Annotated[
            str | None, QueryParameter(max_length=200, description="cursor of the last row seen")
        ] = None,
        search: Annotated[
            str | None,
            QueryParameter(max_length=SEARCH_MAX, description="part of an e-mail, or an id"),
        ] = None,
        role: Annotated[
            str | None, QueryParameter(max_length=32, description="user or admin")
        ] = None,
        status: Annotated[
            str | None, QueryParameter(max_length=16, description="active, disabled or deleted")
        ] = None,
    ) -> AccountPageView:
        where = AccountFilter(search=search, role=role, status=status)
        return AccountPageView.of(
            await accounts.list_accounts(first=first, after=after, where=where)
        )

    @get("/{account_id:uuid}/sessions", summary="An account's latest sessions (at most 50)")
    async def sessions(
        self, account_id: AccountId, accounts: AccountAdmin
    ) -> list[AccountSessionView]:
        return [AccountSessionView.of(row) for row in await accounts.list_sessions(account_id)]

    @get(
        "/{account_id:uuid}/security-events",
        summary="An account's security activity, newest first, with the acting administrator",
    )
    async def security_events(
        self,
        account_id: AccountId,
        accounts: AccountAdmin,
        activity: Activity,
        first: PageSize = PAGE_SIZE_DEFAULT,
        after: LogCursor = None,
    ) -> SecurityEventPageView:
        account = await accounts.get_account(account_id)
        page = await activity.page(account.id, first=first, after=after)
        return SecurityEventPageView.of(page, with_actor=True)

    @get("/{account_id:uuid}", summary="An account")
    async def read(self, account_id: AccountId, accounts: AccountAdmin) -> AccountView:
        return AccountView.of(await accounts.get_account(account_id))

    @post("/{account_id:uuid}/disable", status_code=HTTP_200_OK, summary="Disable an account")
    async def disable(
        self,
        account_id: AccountId,
        accounts: AccountAdmin,
        claims: Claims,
        data: JSONBody[SetStatusRequest | None] = None,
    ) -> AccountView:
        reason = data.reason if data else None
        return AccountView.of(await accounts.disable(account_id, by=claims.subject, reason=reason))

    @post("/{account_id:uuid}/enable", status_code=HTTP_200_OK, summary="Re-enable an account")
    async def enable(
        self, account_id: AccountId, accounts: AccountAdmin, claims: Claims
    ) -> AccountView:
        return AccountView.of(
            await accounts.set_status(account_id, "active", None, by=claims.subject)
        )


class InternalAccountController(Controller):
    """Service-to-service API (service tokens only; not routed by the gateway)."""

    path = "/internal/accounts"
    tags = ["internal"]  # noqa: RUF012 - Litestar reads a plain list
    guards = [requires_service]  # noqa: RUF012
    dependencies = ACCOUNT_ADMIN_DEPENDENCIES

    @get("/{account_id:uuid}", summary="An account")
    async def read(self, account_id: AccountId, accounts: AccountAdmin) -> AccountView:
        return AccountView.of(await accounts.get_account(account_id))

    @post(
        "/deactivate-inactive",
        status_code=HTTP_200_OK,
        summary="Disable active accounts not seen since the cut-off (idempotent)",
    )
    async def deactivate_inactive(
        self, data: JSONBody[DeactivateInactiveRequest], accounts: AccountAdmin
    ) -> DeactivateInactiveResponse:
        return DeactivateInactiveResponse(disabled=await accounts.deactivate_inactive(data.cutoff))


class InternalEventController(Controller):
    """Consumers confirm the account events they have handled (service tokens only)."""

    path = "/internal/events"
    tags = ["internal"]  # noqa: RUF012 - Litestar reads a plain list
    guards = [requires_service]  # noqa: RUF012

    @post(
        "/confirmations",
        status_code=HTTP_200_OK,
        summary="Confirm handled account events, so they are not redelivered (idempotent)",
    )
    async def confirm(
        self, data: JSONBody[ConfirmEventsRequest], auth_state: AuthStateDep
    ) -> ConfirmEventsResponse:
        return ConfirmEventsResponse(confirmed=await auth_state.outbox.confirm(data.ids))


class ServiceTokenController(Controller):
    """OAuth 2.0 client-credentials grant for service accounts."""

    path = "/oauth"
    tags = ["internal"]  # noqa: RUF012 - Litestar reads a plain list
    dependencies = {"clients": Provide(provide_service_clients, sync_to_thread=False)}  # noqa: RUF012 - Litestar reads a plain dict

    @post("/token", status_code=HTTP_200_OK, summary="Issue a service access token")
    async def token(
        self,
        data: JSONBody[ServiceTokenRequest],
        clients: ServiceClients,
        request: Request[Any, Any, Any],
    ) -> Response[ServiceTokenResponse]:
        if data.grant_type != "client_credentials":
            raise AppError(
                "only the client_credentials grant is supported", code="unsupported_grant_type"
            )
        issued = await clients.issue_service_token(
            data.client_id, data.client_secret, client_address=client_address(request)
        )
        return Response(
            ServiceTokenResponse.of(issued),
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


@get(
    "/.well-known/jwks.json",
    summary="Public keys that verify access tokens",
    tags=["auth"],
    sync_to_thread=False,
)
def jwks(auth_state: AuthStateDep) -> Response[dict[str, Any]]:
    return Response(auth_state.key_ring.jwks(), headers={"Cache-Control": "public, max-age=300"})
