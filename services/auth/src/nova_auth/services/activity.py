"""The security activity of the caller's account, newest first, a page at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from nova_auth.models import SecurityEventModel
from nova_auth.security_events import SecurityEventRepository, encode_cursor
from nova_auth.state import AuthState

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100


@dataclass(frozen=True, slots=True)
class SecurityEventPage:
    events: list[SecurityEventModel]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return encode_cursor(self.events[-1]) if self.events else None


class SecurityActivityService:
    def __init__(self, state: AuthState) -> None:
        self.state = state

    async def page(
        self, account_id: uuid.UUID, *, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> SecurityEventPage:
        first = max(1, min(first, PAGE_SIZE_MAX))
        async with self.state.sessions() as session:
            rows = list(
                await SecurityEventRepository(session).page(account_id, first=first, after=after)
            )
        return SecurityEventPage(rows[:first], has_next_page=len(rows) > first)
