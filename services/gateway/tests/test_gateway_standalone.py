"""``nova-gateway serve --supergraph FILE --port N`` federates any Federation v2 subgraphs on its
own: no Redis, no PostgreSQL, no Nova service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from nova_kit.embedded import free_port

SUPERGRAPH = Path(__file__).parent / "fixtures" / "supergraph.graphql"


def test_serve_with_a_supergraph_file(subgraphs: dict[str, Any]) -> None:
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NOVA_", "DATABASE_URL", "REDIS_URL"))
    }
    environment["NOVA_GATEWAY_SUBGRAPH_URLS"] = json.dumps(
        {name: app.url for name, app in subgraphs.items()}
    )
    environment["NOVA_GATEWAY_SUPERGRAPH_POLL_SECONDS"] = "0"
    command = Path(sys.executable).parent / "nova-gateway"
    process = subprocess.Popen(
        [str(command), "serve", "--supergraph", str(SUPERGRAPH), "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=5, trust_env=False) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get(f"{base}/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the gateway did not become ready"
                time.sleep(0.1)
            response = client.post(
                f"{base}/graphql", json={"query": "{ me { name reviews { body } } }"}
            )
            assert response.json() == {
                "data": {
                    "me": {
                        "name": "Ada Lovelace",
                        "reviews": [{"body": "Love it"}, {"body": "Could be better"}],
                    }
                }
            }
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
