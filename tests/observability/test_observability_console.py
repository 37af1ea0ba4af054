"""Console traces for developers: ``OTEL_TRACES_EXPORTER=console`` prints one JSON line a span."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx

from nova_kit.embedded import free_port
from nova_kit.testing.processes import ServiceProcess

SUPERGRAPH = Path(__file__).resolve().parents[2] / "deploy" / "supergraph.graphql"


def test_console_traces_print_one_json_line_per_span(tmp_path: Path, redis_url: str) -> None:
    port = free_port()
    gateway = ServiceProcess(
        "gateway",
        [str(Path(sys.executable).parent / "nova-gateway"), "serve"],
        {
            "NOVA_ENVIRONMENT": "test",
            "OTEL_TRACES_EXPORTER": "console",
            "NOVA_GATEWAY_PORT": str(port),
            "NOVA_GATEWAY_REDIS_URL": redis_url,
            "NOVA_GATEWAY_SUPERGRAPH": str(SUPERGRAPH),
        },
        tmp_path / "gateway.log",
        f"http://127.0.0.1:{port}",
    )
    log = tmp_path / "gateway.log"

    def span_names() -> set[str]:
        spans = []
        for line in log.read_text().splitlines():
            if line.startswith('{"name"') and '"context"' in line:
                spans.append(json.loads(line))
        return {span["name"] for span in spans}

    try:
        gateway.start().wait_until_ready(timeout=60)
        # a traced request (probes are not traced)
        assert httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=30).status_code == 200
        # the server span ends once the answer is sent, maybe after the client has it
        deadline = time.monotonic() + 15
        while "GET /api/openapi.json" not in span_names() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        gateway.stop()
    names = span_names()
    assert "GET /api/openapi.json" in names, log.read_text()[-4000:]
