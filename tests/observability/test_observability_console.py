"""Console traces for developers: ``OTEL_TRACES_EXPORTER=console`` prints one JSON line a span."""

from __future__ import annotations

import json
import sys
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
    try:
        gateway.start().wait_until_ready(timeout=60)
        # a traced request (probes are not traced)
        assert httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=30).status_code == 200
    finally:
        gateway.stop()
    spans = []
    for line in (tmp_path / "gateway.log").read_text().splitlines():
        if line.startswith("{") and '"trace_id"' in line and '"span_id"' in line:
            spans.append(json.loads(line))
    names = {span["name"] for span in spans}
    assert "GET /api/openapi.json" in names, names
