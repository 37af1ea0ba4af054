"""Alembic environment of nova-auth: run through ``nova-auth migrate``."""

from nova_auth.models import Base
from nova_kit.migrations import run_alembic_env

run_alembic_env(Base.metadata)
