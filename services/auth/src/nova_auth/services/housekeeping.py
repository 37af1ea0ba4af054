"""Housekeeping: long-dead sessions and old published outbox rows are purged periodically."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from nova_auth.repositories import SessionRepository
from nova_auth.state import AuthState

logger = logging.getLogger(__name__)


class Housekeeping:
    def __init__(self, state: AuthState) -> None:
        self.state = state

    async def purge_expired_sessions(self, *, keep_seconds: int = 86_400, limit: int = 5000) -> int:
        """Delete sessions (and their tokens) expired or revoked more than ``keep_seconds`` ago."""
        horizon = datetime.now(UTC) - timedelta(seconds=keep_seconds)
        async with self.state.sessions() as session, session.begin():
            return await SessionRepository(session).purge_ended_before(horizon, limit=limit)

    async def run(self, stop: asyncio.Event) -> None:
        """Purge old published outbox rows and long-dead sessions, every maintenance interval."""
        settings = self.state.settings
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.maintenance_interval_seconds)
            if stop.is_set():
                return
            try:
                events = await self.state.outbox.purge_published(
                    keep_seconds=settings.outbox_retention_seconds
                )
                sessions = await self.purge_expired_sessions(
                    keep_seconds=settings.session_retention_seconds
                )
                if events or sessions:
                    logger.info("housekeeping", extra={"outbox_rows": events, "sessions": sessions})
            except Exception:
                logger.exception("housekeeping failed")
