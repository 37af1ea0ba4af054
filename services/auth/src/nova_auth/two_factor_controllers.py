"""The REST skin of two-factor sign-in (:mod:`nova_auth.services.two_factor`, ADR 0016)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures.response_header import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from nova_auth.controllers import AccountId, AuthStateDep, Claims, client_address
from nova_auth.schemas import (
    ConfirmTwoFactorRequest,
    DisableTwoFactorRequest,
    EnrolTwoFactorRequest,
    LoginTwoFactorRequest,
    RecoveryCodesView,
    TokenResponse,
    TwoFactorEnrolmentView,
    TwoFactorStatusView,
)
from nova_auth.services.two_factor import TwoFactorService
from nova_kit.security import requires_admin, requires_user

TwoFactor = NamedDependency[TwoFactorService]


def provide_two_factor(auth_state: AuthStateDep) -> TwoFactorService:
    return TwoFactorService(auth_state)


TWO_FACTOR_DEPENDENCIES = {"two_factor": Provide(provide_two_factor, sync_to_thread=False)}


class TwoFactorController(Controller):
    """The second sign-in step, and the signed-in user's second factor."""

    path = "/api/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar reads a plain list
    # Answers carry tokens, secrets or recovery codes: never cached.
    response_headers = [ResponseHeader(name="Cache-Control", value="no-store")]  # noqa: RUF012 - Litestar reads a plain list
    dependencies = TWO_FACTOR_DEPENDENCIES

    @post(
        "/login/two-factor",
        status_code=HTTP_200_OK,
        summary="Second sign-in step: the MFA challenge and a code (or a recovery code)",
        description=(
            "`mfa_token` comes from `POST /api/auth/login`; send exactly one of `code` (the "
            "authenticator's 6 digits) and `recovery_code`. A wrong code: 401 `invalid_code` "
            "(the challenge stays usable until it expires); an unknown, expired or used "
            "challenge: 401 `mfa_token_invalid`."
        ),
    )
    async def login_two_factor(
        self,
        data: JSONBody[LoginTwoFactorRequest],
        two_factor: TwoFactor,
        request: Request[Any, Any, Any],
    ) -> TokenResponse:
        sign_in = await two_factor.complete(
            data.mfa_token,
            code=data.code,
            recovery_code=data.recovery_code,
            client_address=client_address(request),
        )
        return TokenResponse.of(sign_in)

    @get("/me/two-factor", guards=[requires_user], summary="Whether two-factor sign-in is on")
    async def status(self, two_factor: TwoFactor, claims: Claims) -> TwoFactorStatusView:
        found = await two_factor.status(claims)
        return TwoFactorStatusView(
            enabled=found.enabled,
            pending=found.pending,
            enabled_at=found.enabled_at,
            recovery_codes_left=found.recovery_codes_left,
        )

    @post(
        "/me/two-factor",
        status_code=HTTP_200_OK,
        guards=[requires_user],
        summary="Start enrolling a TOTP authenticator (password required)",
        description=(
            "Answers the new secret once, as `otpauth_uri` (for a QR code) and as text; it "
            "stays pending until `POST /api/auth/me/two-factor/confirm` with a first code."
        ),
    )
    async def enrol(
        self, data: JSONBody[EnrolTwoFactorRequest], two_factor: TwoFactor, claims: Claims
    ) -> TwoFactorEnrolmentView:
        enrolment = await two_factor.enrol(claims, data.password)
        return TwoFactorEnrolmentView(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)

    @post(
        "/me/two-factor/confirm",
        status_code=HTTP_200_OK,
        guards=[requires_user],
        summary="Confirm the enrolment with a first code: two-factor sign-in is on",
        description="Answers ten single-use recovery codes, shown this once.",
    )
    async def confirm(
        self,
        data: JSONBody[ConfirmTwoFactorRequest],
        two_factor: TwoFactor,
        claims: Claims,
        request: Request[Any, Any, Any],
    ) -> RecoveryCodesView:
        codes = await two_factor.confirm(claims, data.code, client_address=client_address(request))
        return RecoveryCodesView(recovery_codes=codes)

    @delete(
        "/me/two-factor",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_user],
        summary="Turn two-factor sign-in off (a current code or the password)",
    )
    async def disable(
        self,
        data: JSONBody[DisableTwoFactorRequest],
        two_factor: TwoFactor,
        claims: Claims,
        request: Request[Any, Any, Any],
    ) -> None:
        await two_factor.disable(
            claims,
            code=data.code,
            password=data.password,
            client_address=client_address(request),
        )


class TwoFactorAdminController(Controller):
    """Administrators reset the second factor of an account whose owner lost the device."""

    path = "/api/auth/accounts"
    tags = ["auth-admin"]  # noqa: RUF012 - Litestar reads a plain list
    guards = [requires_admin]  # noqa: RUF012
    dependencies = TWO_FACTOR_DEPENDENCIES

    @post(
        "/{account_id:uuid}/two-factor/reset",
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove an account's second factor (its sessions stay)",
    )
    async def reset(self, account_id: AccountId, two_factor: TwoFactor, claims: Claims) -> None:
        await two_factor.reset(account_id, by=claims.subject)
