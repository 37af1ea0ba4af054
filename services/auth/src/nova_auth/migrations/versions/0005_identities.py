"""Identities at OpenID providers linked to accounts; accounts created through one have no
password until they set it.

Revision ID: 0005_identities
Revises: 0004_two_factor
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_identities"
down_revision: str | None = "0004_two_factor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "auth"


def upgrade() -> None:
    op.alter_column("accounts", "password_hash", nullable=True, schema=SCHEMA)
    op.create_table(
        "identities",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("provider", "subject", name="uq_identities_provider_subject"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            [f"{SCHEMA}.accounts.id"],
            name="fk_identities_account_id_accounts",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_identities_account_id", "identities", ["account_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_identities_account_id", table_name="identities", schema=SCHEMA)
    op.drop_table("identities", schema=SCHEMA)
    # Accounts without a password cannot keep existing under the old schema: they get an
    # unusable hash (no Argon2 verification ever matches it) and sign in by password reset.
    op.execute("UPDATE auth.accounts SET password_hash = '!' WHERE password_hash IS NULL")
    op.alter_column("accounts", "password_hash", nullable=False, schema=SCHEMA)
