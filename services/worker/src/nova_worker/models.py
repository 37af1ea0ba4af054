"""Tables of nova-worker, all in the PostgreSQL schema ``worker``.

- ``job_runs``: one row per idempotency key (an event id, a scheduled run): a redelivered
  message finds its row ``succeeded`` and does nothing.
- ``email_deliveries``: one row per e-mail, keyed by the idempotency key of the message, so a
  retried ``send_email`` never sends twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nova_kit.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("worker")


JOB_PENDING = "pending"
JOB_SUCCEEDED = "succeeded"
JOB_FAILED = "failed"

EMAIL_PENDING = "pending"
EMAIL_SENT = "sent"
EMAIL_FAILED = "failed"


class JobRunModel(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        Index("ix_job_runs_task_status", "task", "status"),
    )

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    task: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=JOB_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_task_id: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailDeliveryModel(Base):
    __tablename__ = "email_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        Index("ix_email_deliveries_recipient", "recipient"),
    )

    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=EMAIL_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
