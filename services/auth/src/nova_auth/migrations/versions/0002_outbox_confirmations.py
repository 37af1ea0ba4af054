"""Outbox events are confirmed by their consumer, and redelivered until they are.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "auth"


def upgrade() -> None:
    # Rows published before this revision keep both columns NULL: they are never redelivered.
    op.add_column(
        "outbox",
        sa.Column("deliveries", sa.Integer(), nullable=False, server_default=sa.text("0")),
        schema=SCHEMA,
    )
    op.add_column(
        "outbox",
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.add_column(
        "outbox",
        sa.Column("redeliver_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_outbox_redeliver_at",
        "outbox",
        ["redeliver_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("redeliver_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_redeliver_at", table_name="outbox", schema=SCHEMA)
    op.drop_column("outbox", "redeliver_at", schema=SCHEMA)
    op.drop_column("outbox", "confirmed_at", schema=SCHEMA)
    op.drop_column("outbox", "deliveries", schema=SCHEMA)
