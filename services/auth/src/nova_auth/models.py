"""Tables of nova-auth, all in the PostgreSQL schema ``auth``."""

from __future__ import annotations

from nova_kit.db import declarative_base

Base = declarative_base("auth")
