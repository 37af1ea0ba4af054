"""Job runs and e-mail deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "worker"


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("task", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_task_id", sa.String(200), nullable=True),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_job_runs"),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name="ck_job_runs_status"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_job_runs_task_status", "job_runs", ["task", "status"], schema=SCHEMA)
    op.create_table(
        "email_deliveries",
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_email_deliveries"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name="ck_email_deliveries_status"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_email_deliveries_recipient", "email_deliveries", ["recipient"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_email_deliveries_recipient", "email_deliveries", schema=SCHEMA)
    op.drop_table("email_deliveries", schema=SCHEMA)
    op.drop_index("ix_job_runs_task_status", "job_runs", schema=SCHEMA)
    op.drop_table("job_runs", schema=SCHEMA)
