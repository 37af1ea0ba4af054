"""Tables of nova-users, all in the PostgreSQL schema ``users``."""

from __future__ import annotations

from nova_kit.db import declarative_base

Base = declarative_base("users")
