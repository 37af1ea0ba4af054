"""Security-log entries name the administrator who acted on someone else's account (disable,
enable, a second factor reset).

Revision ID: 0006_security_event_actor
Revises: 0005_identities
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_security_event_actor"
down_revision: str | None = "0005_identities"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "auth"


def upgrade() -> None:
    op.add_column(
        "security_events", sa.Column("actor", sa.String(128), nullable=True), schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_column("security_events", "actor", schema=SCHEMA)
