"""What nova-users builds once per process, and the typed provider that hands it to requests.

The service objects are cheap and built for each request over it (see ``controllers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nova_kit.app import Runtime, StateKey
from nova_users.models import UsersSession


@dataclass(frozen=True, slots=True)
class UsersState:
    """The process-wide objects of nova-users."""

    sessions: async_sessionmaker[AsyncSession]
    """Sessions that hide soft-deleted rows by default (see ``models.py``)."""
    engine: AsyncEngine
    """The engine under them, for reads outside a session (``ProfileRepository.read``)."""


USERS_STATE = StateKey[UsersState]("nova_users")


def provide_users_state(state: State) -> UsersState:
    return USERS_STATE.get(state)


def build_users_state(runtime: Runtime) -> UsersState:
    if runtime.engine is None:
        raise RuntimeError("nova-users needs its database")
    return UsersState(
        sessions=async_sessionmaker(
            runtime.engine,
            expire_on_commit=False,
            autoflush=False,
            sync_session_class=UsersSession,
        ),
        engine=runtime.engine,
    )


def store_users_state(runtime: Runtime) -> None:
    """The start-up hook: the state is built once the engine exists."""
    USERS_STATE.put(runtime.state, build_users_state(runtime))
