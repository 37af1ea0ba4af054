"""The resilience suite runs only through ``make resilience`` (it starts whole systems and
stops their databases): ``NOVA_RESILIENCE=1`` lets pytest collect it."""

import os

collect_ignore = [] if os.environ.get("NOVA_RESILIENCE") else ["resilience"]
