"""Tables of nova-worker, all in the PostgreSQL schema ``worker``."""

from __future__ import annotations

from nova_kit.db import declarative_base

Base = declarative_base("worker")
