"""HTTP clients of the services the worker calls: auth (tokens, accounts) and users (profiles).

Internal endpoints take a service token from auth's client-credentials endpoint; the token is
cached until shortly before it expires and fetched again after a 401. Network errors, timeouts,
429 and 5xx answers raise :class:`TransientError` (the task retries with backoff); other 4xx
answers raise :class:`PermanentError` (retrying cannot help).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx

from nova_worker.config import WorkerSettings


class TransientError(Exception):
    """A failure worth retrying: the other side may answer later."""


class PermanentError(Exception):
    """A failure retrying cannot fix (a rejected request, a misconfiguration)."""


def _raise_for_status(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    detail = f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientError(detail)
    raise PermanentError(detail)


async def _send(http: httpx.AsyncClient, request: httpx.Request, what: str) -> httpx.Response:
    try:
        return await http.send(request)
    except httpx.HTTPError as error:
        raise TransientError(f"{what}: {type(error).__name__}: {error}") from error


class ServiceTokenProvider:
    """The worker's service token, cached until ``refresh_margin`` seconds before expiry."""

    def __init__(self, http: httpx.AsyncClient, settings: WorkerSettings) -> None:
        self.http = http
        self.url = f"{settings.auth_url.rstrip('/')}/oauth/token"
        self.client_id = settings.service_client_id
        self.client_secret = settings.service_client_secret
        self.refresh_margin = settings.service_token_refresh_margin_seconds
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = 0.0

    async def token(self) -> str:
        async with self._lock:
            if self._token is not None and time.monotonic() < self._expires_at:
                return self._token
            request = self.http.build_request(
                "POST",
                self.url,
                json={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret.get_secret_value(),
                },
            )
            response = await _send(self.http, request, "service token")
            _raise_for_status(response, "service token")
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 300))
            # Keep a margin, but never less than half the lifetime of a short-lived token.
            margin = min(self.refresh_margin, lifetime / 2)
            self._token = token
            self._expires_at = time.monotonic() + lifetime - margin
            self.fetches += 1
            return token


class _InternalClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        tokens: ServiceTokenProvider,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens

    async def request(self, method: str, path: str, what: str, json: Any = None) -> httpx.Response:
        """Send with the service token; after a 401, fetch a new token and try once more."""
        for attempt in (1, 2):
            token = await self.tokens.token()
            request = self.http.build_request(
                method,
                f"{self.base_url}{path}",
                json=json,
                headers={"authorization": f"Bearer {token}"},
            )
            response = await _send(self.http, request, what)
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate()
                continue
            return response
        raise AssertionError("unreachable")


class UsersClient(_InternalClient):
    def __init__(
        self, http: httpx.AsyncClient, settings: WorkerSettings, tokens: ServiceTokenProvider
    ) -> None:
        super().__init__(http, settings.users_url, tokens)

    async def ensure_profile(
        self, user_id: str, display_name: str, locale: str | None = None
    ) -> bool:
        """Create the profile if missing; ``True`` if this call created it."""
        body: dict[str, Any] = {"display_name": display_name}
        if locale:
            body["locale"] = locale
        response = await self.request(
            "PUT", f"/internal/profiles/{user_id}", "create profile", json=body
        )
        _raise_for_status(response, "create profile")
        return response.status_code == 201

    async def delete_profile(self, user_id: str) -> None:
        response = await self.request("DELETE", f"/internal/profiles/{user_id}", "delete profile")
        if response.status_code == 404:
            return  # nothing to delete is what we wanted
        _raise_for_status(response, "delete profile")


class AuthClient(_InternalClient):
    def __init__(
        self, http: httpx.AsyncClient, settings: WorkerSettings, tokens: ServiceTokenProvider
    ) -> None:
        super().__init__(http, settings.auth_url, tokens)

    async def get_account(self, user_id: str) -> dict[str, Any] | None:
        response = await self.request("GET", f"/internal/accounts/{user_id}", "read account")
        if response.status_code == 404:
            return None
        _raise_for_status(response, "read account")
        body: dict[str, Any] = response.json()
        return body

    async def confirm_events(self, event_ids: list[str]) -> int:
        """Tell auth these events' effects are complete, so its outbox stops redelivering them."""
        response = await self.request(
            "POST",
            "/internal/events/confirmations",
            "confirm events",
            json={"ids": event_ids},
        )
        _raise_for_status(response, "confirm events")
        return int(response.json()["confirmed"])

    async def deactivate_inactive(self, cutoff: datetime) -> int:
        response = await self.request(
            "POST",
            "/internal/accounts/deactivate-inactive",
            "deactivate inactive accounts",
            json={"cutoff": cutoff.isoformat()},
        )
        _raise_for_status(response, "deactivate inactive accounts")
        return int(response.json()["disabled"])
