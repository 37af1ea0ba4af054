"""Alembic environment of nova-users: run through ``nova-users migrate``."""

from nova_kit.migrations import run_alembic_env
from nova_users.models import Base

run_alembic_env(Base.metadata)
