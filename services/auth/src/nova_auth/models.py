"""Tables of nova-auth, all in the PostgreSQL schema ``auth``."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nova_kit.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("auth")


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class AccountModel(Base):
    """A credential: e-mail, password hash, status and roles."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled', 'deleted')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    email_verified_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)
    """None for an account created through an identity provider until it sets a password."""
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=lambda: [Role.USER])
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class SessionModel(Base):
    """A sign-in: the family of refresh tokens that descend from one login (``sid`` claim)."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_account_id_active", "account_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.accounts.id", ondelete="CASCADE"), index=False
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)


class RefreshTokenModel(Base):
    """One refresh token of a session family, stored as the SHA-256 of the opaque value."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    successor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), default=None)


class OutboxEventModel(Base):
    """An account event written with the change it describes, published to Celery after commit.

    ``redeliver_at`` is when it is published again unless its consumer has confirmed it by then
    (``confirmed_at``); NULL once confirmed, or once the delivery budget is spent.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "occurred_at",
            postgresql_where=text("published_at IS NULL"),
        ),
        Index(
            "ix_outbox_redeliver_at",
            "redeliver_at",
            postgresql_where=text("redeliver_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    deliveries: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    """Times the broker accepted it (``attempts`` also counts failed publishes)."""
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    redeliver_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret


class OneTimeTokenModel(Base):
    """A single-use token mailed to the account's address, stored as the SHA-256 of its value.

    Issuing one deletes the account's earlier tokens of the same purpose; using one stamps
    ``used_at`` in the statement that checks it (so it is used once, whoever races)."""

    __tablename__ = "one_time_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('verify_email', 'reset_password')", name="purpose"),
        Index("ix_one_time_tokens_account_purpose", "account_id", "purpose"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.accounts.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class SecurityEventModel(Base):
    """One entry of the security activity an account's owner sees: a sign-in, a password
    change or reset, an e-mail verified, ... with when and from where."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_account_time", "account_id", "occurred_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.accounts.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(48))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(256), default=None)
    actor: Mapped[str | None] = mapped_column(String(128), default=None)
    """Who did it when not the owner: the administrator's subject (disable, enable, a second
    factor reset). Shown to administrators, not in the owner's own log."""


class TwoFactorModel(Base):
    """An account's TOTP second factor (RFC 6238): pending until a first code confirms it.

    ``secret`` is the seed sealed by :class:`nova_auth.secretbox.SecretBox` (AES-GCM, bound to
    the account id), ``key_id`` the key that sealed it; ``last_step`` is the last time step whose
    code was accepted, so a code is never accepted twice.
    """

    __tablename__ = "two_factor"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.accounts.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)


class RecoveryCodeModel(Base):
    """A single-use recovery code of a two-factor account, stored as its SHA-256."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class IdentityModel(Base):
    """An identity at an OpenID provider (``provider`` + its ``subject``) that signs in to an
    account; one account may have several, an identity belongs to one account."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_identities_provider_subject"),
        Index("ix_identities_account_id", "account_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.accounts.id", ondelete="CASCADE")
    )
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    """The address the provider stated when the identity was linked."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
