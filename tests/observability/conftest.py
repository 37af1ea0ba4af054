"""The observability tests import ``tests.observability.observability_helpers`` from the root;
the SMTP sink their stacks' workers deliver to."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nova_kit.embedded import free_port
from nova_worker.sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    server = SmtpSink(tmp_path_factory.mktemp("mail"), host="127.0.0.1", port=free_port()).start()
    try:
        yield server
    finally:
        server.stop()
