"""Hold SIGTERM back while an effect outside the database is being recorded in it.

An e-mail the SMTP server accepted is only known to be sent once the commit that marks its
delivery row ``sent`` is done. A pool child terminated in between sends it again on
redelivery. Celery terminates running tasks with SIGTERM when it loses the broker connection
(``worker_cancel_long_running_tasks_on_connection_loss``), and so does a stop of the whole
process group; :func:`deferred_sigterm` makes such a SIGTERM wait until the block is over,
then delivers it to whichever handler was installed before. SIGKILL (a hard time limit, an
OOM kill) cannot be held back: that window remains, as documented.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType


@asynccontextmanager
async def deferred_sigterm() -> AsyncIterator[None]:
    """Run the block without being interrupted by SIGTERM; re-raise one that arrived."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread (where pool children run tasks)
        return
    received: list[int] = []

    def hold(signum: int, _: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        if received:
            signal.raise_signal(signal.SIGTERM)
