"""Housekeeping: long-dead sessions, old published outbox rows, dead mailed tokens and security
log entries past their retention are purged periodically."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from nova_auth.one_time_tokens import OneTimeTokenRepository
from nova_auth.repositories import SessionRepository
from nova_auth.security_events import SecurityEventRepository
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

    async def purge_dead_records(self, *, limit: int = 5000) -> int:
        """Delete mailed tokens dead for a day, and security-log entries past their retention."""
        now = datetime.now(UTC)
        retention = timedelta(seconds=self.state.settings.security_event_retention_seconds)
        async with self.state.sessions() as session, session.begin():
            tokens = await OneTimeTokenRepository(session).purge_dead_before(
                now - timedelta(days=1), limit=limit
            )
            entries = await SecurityEventRepository(session).purge_before(
                now - retention, limit=limit
            )
        return tokens + entries

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
                records = await self.purge_dead_records()
                if events or sessions or records:
                    logger.info(
                        "housekeeping",
                        extra={"outbox_rows": events, "sessions": sessions, "records": records},
                    )
            except Exception:
                logger.exception("housekeeping failed")
