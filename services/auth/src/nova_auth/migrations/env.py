"""Alembic environment of nova-auth: run through ``nova-auth migrate``."""

from nova_kit.migrations import run_alembic_env
from nova_auth.models import Base

run_alembic_env(Base.metadata)
