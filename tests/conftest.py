"""The resilience suite runs only through ``make resilience`` (it starts whole systems and
stops their databases): ``NOVA_RESILIENCE=1`` lets pytest collect it; ``make attack``'s suite
likewise needs ``NOVA_ATTACK=1``."""

import os

collect_ignore = [] if os.environ.get("NOVA_RESILIENCE") else ["resilience"]
# The abuse suite likewise runs only through ``make attack`` (``NOVA_ATTACK=1``).
if not os.environ.get("NOVA_ATTACK"):
    collect_ignore.append("attack")
