"""scripts/loadgen.py: the wrk Lua script, the parsing of its figures, and one short real run."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import loadgen

DONE_LINE = (
    'NOVA_LOADGEN {"duration_us": 2000000, "requests": 1000, "bytes": 52000, "connect": 0, '
    '"read": 1, "write": 0, "status": 3, "timeout": 2, "failed_checks": 4, '
    '"relay_starved": 0, "p50_us": 1500, "p90_us": 2500, "p99_us": 9000, '
    '"max_us": 12000, "mean_us": 1700.5}'
)


def test_parse_done_turns_the_json_line_into_figures() -> None:
    stdout = "Running 2s test @ http://127.0.0.1:1\n  1 threads and 4 connections\n" + DONE_LINE
    result = loadgen.parse_done(stdout, connections=4)
    assert result.requests == 1000
    assert result.requests_per_second == 500.0
    assert (result.p50_ms, result.p90_ms, result.p99_ms, result.max_ms) == (1.5, 2.5, 9.0, 12.0)
    assert result.socket_errors == 3
    assert result.status_errors == 3
    assert result.failed_checks == 4
    assert result.errors == 10
    assert result.connections == 4


def test_parse_done_without_requests_has_no_latencies() -> None:
    line = DONE_LINE.replace('"requests": 1000', '"requests": 0')
    result = loadgen.parse_done(line)
    assert result.requests_per_second == 0.0
    assert math.isnan(result.p99_ms)


def test_parse_done_without_the_line_is_a_clear_error() -> None:
    with pytest.raises(loadgen.LoadgenError, match="no figures"):
        loadgen.parse_done("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_lua_strings_escape_quotes_backslashes_and_non_ascii() -> None:
    assert loadgen.lua_string('a"b\\c') == '"a\\034b\\092c"'
    assert loadgen.lua_string("é\n1") == '"\\195\\169\\0101"'


def test_lua_script_holds_every_request_and_the_done_hook() -> None:
    script = loadgen.lua_script(
        [
            loadgen.Request("POST", "/graphql", '{"query": "{ me }"}', {"X-A": "1"}),
            loadgen.Request("GET", "/api/users/me", headers={"Authorization": "Bearer t"}),
        ],
        fail_pattern='"errors"%s*:',
        threads=2,
    )
    assert script.count('{"POST", "/graphql"') == 1
    assert '["Authorization"] = "Bearer t"' in script
    assert "THREADS = 2" in script
    assert "FAIL_PATTERN = " in script
    assert "RELAY = nil" in script
    assert "function done(summary, latency, requests)" in script
    assert "RANDOM_DELAY = false" in script
    assert "RANDOM_DELAY = true" in loadgen.lua_script(
        [loadgen.Request("GET", "/")], delay_ms=5, random_delay=True
    )


def test_lua_script_relay_splits_the_body_around_the_placeholder() -> None:
    relay = loadgen.Relay(
        loadgen.Request("POST", "/refresh", '{"refresh_token": "{relay}"}'),
        seeds=["s1", "s2"],
        pattern='"refresh_token"%s*:%s*"([^"]+)"',
    )
    script = loadgen.lua_script(relay=relay)
    assert 'prefix = "{\\034refresh_token\\034: \\034"' in script
    assert 'suffix = "\\034}"' in script
    assert 'seeds = {"s1", "s2"}' in script
    with pytest.raises(ValueError, match="must contain"):
        loadgen.lua_script(relay=loadgen.Relay(loadgen.Request("POST", "/r", "{}"), ["s"], "x"))
    with pytest.raises(ValueError, match="requests or a relay"):
        loadgen.lua_script()


def test_missing_wrk_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(loadgen.LoadgenError, match="apt-get install -y wrk"):
        loadgen.run_wrk("http://127.0.0.1:9", [loadgen.Request()], duration=1)


def test_a_relay_needs_a_seed_per_connection() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    relay = loadgen.Relay(loadgen.Request("POST", "/r", "{relay}"), ["a"], "(.*)")
    with pytest.raises(ValueError, match="one seed per connection"):
        loadgen.run_wrk("http://127.0.0.1:9", relay=relay, connections=2)


def test_usage_sampler_measures_a_process_tree() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; b = bytearray(30 * 2**20); time.sleep(3)"]
    )
    try:
        with loadgen.UsageSampler(os.getpid(), interval=0.05) as usage:
            sum(range(2_000_000))
        assert usage.peak_rss_bytes >= usage.rss_after_bytes > 0
        assert usage.cpu_seconds > 0
        assert child.pid in loadgen.process_tree(os.getpid())
    finally:
        child.kill()
        child.wait()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536
    tokens = itertools.count()

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self) -> None:
        if self.path == "/graphql-error":
            self._send(200, {"errors": [{"message": "no"}]})
        elif self.headers.get("Authorization", "").startswith("Bearer "):
            self._send(200, {"ok": True})
        else:
            self._send(401, {})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not str(body.get("token", "")).startswith("t"):
            self._send(401, {})
            return
        self._send(200, {"token": f"t{next(self.tokens)}"})

    def log_message(self, *_: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, *_: Any) -> None:  # wrk resets its connections at the end
        return


@pytest.fixture
def loopback_server() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed: apt-get install wrk")
def test_wrk_runs_against_a_loopback_server(loopback_server: str) -> None:
    requests = [
        loadgen.Request("GET", "/me", headers={"Authorization": "Bearer a"}),
        loadgen.Request("GET", "/me"),  # 401: every other request is an error
    ]
    rotated = loadgen.run_wrk(loopback_server, requests, duration=1, connections=2, timeout=2)
    assert rotated.requests > 10
    assert rotated.seconds < 3
    assert abs(rotated.status_errors - rotated.requests / 2) <= 2
    assert 0 < rotated.p50_ms <= rotated.p99_ms <= rotated.max_ms

    relay = loadgen.Relay(
        loadgen.Request("POST", "/refresh", '{"token": "{relay}"}'),
        seeds=["t-a", "t-b", "t-c", "t-d"],
        pattern='"token"%s*:%s*"([^"]+)"',
    )
    chained = loadgen.run_wrk(
        loopback_server, relay=relay, duration=1, connections=4, threads=2, timeout=2
    )
    assert chained.requests > 10
    assert (chained.errors, chained.relay_starved) == (0, 0)

    checked = loadgen.run_wrk(
        loopback_server,
        [loadgen.Request("GET", "/graphql-error")],
        duration=1,
        connections=1,
        fail_pattern='"errors"%s*:',
        delay_ms=20,
    )
    assert checked.failed_checks == checked.requests > 0
    assert checked.requests < 100  # paced by delay()

    # Random pauses of a 20 ms mean: 4 connections for 2 s send about 400 requests, not the
    # thousands of an unpaced run, and none fails on the pauses' being drawn in Lua.
    jittered = loadgen.run_wrk(
        loopback_server,
        [loadgen.Request("GET", "/me", headers={"Authorization": "Bearer a"})],
        duration=2,
        connections=4,
        delay_ms=20,
        random_delay=True,
    )
    assert jittered.errors == 0
    assert 50 < jittered.requests < 1000
