"""Names of the worker's own tasks (the account events' are in ``nova_kit.events``).

A module of its own so that Beat, which sends tasks by name, does not import the tasks.
"""

from __future__ import annotations

SEND_EMAIL = "nova.worker.send_email"
DEACTIVATE_INACTIVE_USERS = "nova.worker.deactivate_inactive_users"
PING = "nova.worker.ping"
