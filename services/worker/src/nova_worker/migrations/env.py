"""Alembic environment of nova-worker: run through ``nova-worker migrate``."""

from nova_kit.migrations import run_alembic_env
from nova_worker.models import Base

run_alembic_env(Base.metadata)
