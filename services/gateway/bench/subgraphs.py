"""Serve the conformance suite's fixture subgraphs for the benchmark.

    python subgraphs.py            prints {"accounts": "http://127.0.0.1:PORT/graphql", ...}
                                   on one line, then serves until stdin closes

The subgraphs are the ones in ``tests/conftest.py`` (loaded from its file), so the benchmark and
the conformance suite federate exactly the same graph.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

CONFTEST = Path(__file__).resolve().parents[1] / "tests" / "conftest.py"


def load_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nova_gateway_fixture_subgraphs", CONFTEST)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    fixtures = load_fixtures()
    servers = [
        fixtures.SubgraphServer(fixtures.SubgraphApp(name)) for name in fixtures.SUBGRAPH_NAMES
    ]
    for server in servers:
        server.app.requests = _Discard()
        server.start()
    # The schemas and servers live as long as the process: keep full collections from walking
    # them (their pauses would show in every router's tail latency alike).
    gc.collect()
    gc.freeze()
    print(json.dumps({server.app.name: server.url for server in servers}), flush=True)
    sys.stdin.read()
    for server in servers:
        server.stop()


class _Discard(list):  # type: ignore[type-arg]
    """A request log that keeps nothing (the benchmark sends many requests)."""

    def append(self, _: object) -> None:
        return None


if __name__ == "__main__":
    main()
