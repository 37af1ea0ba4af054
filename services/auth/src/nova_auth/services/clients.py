"""Service accounts: the OAuth 2.0 client-credentials grant (``NOVA_AUTH_SERVICE_CLIENTS``)."""

from __future__ import annotations

import hmac

from nova_auth.keys import IssuedToken
from nova_auth.services.operations import counted
from nova_auth.state import AuthState
from nova_kit.errors import UnauthorizedError
from nova_kit.ratelimit import Limit


class ServiceClientService:
    def __init__(self, state: AuthState) -> None:
        self.state = state

    @counted("service_token")
    async def issue_service_token(
        self, client_id: str, client_secret: str, *, client_address: str | None = None
    ) -> IssuedToken:
        """Client-credentials grant for the service accounts of ``NOVA_AUTH_SERVICE_CLIENTS``."""
        settings = self.state.settings
        await self.state.limiter.hit(
            [Limit("token:ip", client_address or "-", settings.token_limit_per_client)]
        )
        expected = self.state.service_clients.get(client_id)
        matches = hmac.compare_digest(
            client_secret.encode(), (expected or self.state.dummy_client_secret).encode()
        )
        if expected is None or not matches:
            raise UnauthorizedError("invalid client credentials", code="invalid_client")
        return self.state.issuer.service_token(client_id, settings.service_token_ttl_seconds)
