"""Several server processes on one port: metrics summed over the workers, drain on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from pydantic_settings import SettingsConfigDict

from nova_kit.settings import ServiceSettings

SERVICE = textwrap.dedent(
    """
    import os

    from litestar import get

    from nova_kit.app import create_service_app
    from nova_kit.server import serve
    from nova_kit.settings import ServiceSettings


    @get("/pid", sync_to_thread=False)
    def pid() -> dict[str, int]:
        return {"pid": os.getpid()}


    settings = ServiceSettings(service_name="kit")
    app = create_service_app(
        settings,
        route_handlers=[pid],
        uses_database=False,
        uses_redis=False,
        verify_tokens=False,
    )
    serve(app, settings)
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def wait_ready(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service did not become ready")


def requests_counted(text: str, route: str) -> float:
    pattern = rf'^http_server_requests_total{{[^}}]*route="{re.escape(route)}"[^}}]*}} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, flags=re.MULTILINE))


def test_workers_is_read_from_the_service_variable_then_the_shared_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class AuthLike(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="NOVA_KITTEST_")

    monkeypatch.setenv("NOVA_WORKERS", "3")
    assert AuthLike().workers == 3
    monkeypatch.setenv("NOVA_KITTEST_WORKERS", "2")
    assert AuthLike().workers == 2
    monkeypatch.delenv("NOVA_WORKERS")
    monkeypatch.delenv("NOVA_KITTEST_WORKERS")
    assert AuthLike().workers == 1


def test_two_workers_share_the_port_sum_their_metrics_and_drain_on_sigterm(
    tmp_path: Path,
) -> None:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    port = free_port()
    env = {
        **os.environ,
        "NOVA_ENVIRONMENT": "test",
        "NOVA_PORT": str(port),
        "NOVA_WORKERS": "2",
        "NOVA_SHUTDOWN_DELAY_SECONDS": "1",
        "NOVA_LOG_JSON": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    supervisor = subprocess.Popen([sys.executable, str(script)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, time.monotonic() + 60)
        workers = children(supervisor.pid)
        assert len(workers) == 2

        answered: set[int] = set()
        total = 60
        for _ in range(total):
            # A new connection each time: the kernel hands them to either worker.
            response = httpx.get(f"{base}/pid", headers={"Connection": "close"}, timeout=5)
            assert response.status_code == 200
            answered.add(response.json()["pid"])
        assert answered <= workers

        # Whichever worker answers the scrape reports every worker's requests.
        for _ in range(4):
            scrape = httpx.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=5)
            assert scrape.status_code == 200
            assert requests_counted(scrape.text, "/pid") == total
        assert "http_server_active_requests" in scrape.text

        supervisor.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # Draining: still served, not ready, connections closed after each answer.
        ready = httpx.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 503
        served = httpx.get(f"{base}/pid", timeout=5)
        assert served.status_code == 200
        assert served.headers.get("connection") == "close"
        assert supervisor.wait(timeout=30) == 0
        assert not children(supervisor.pid)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()


def test_a_worker_that_cannot_start_stops_the_supervisor(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(
        "import os, sys\nif 'NOVA_SERVER_SOCKET_FD' in os.environ:\n    sys.exit(3)\n" + SERVICE
    )
    env = {
        **os.environ,
        "NOVA_ENVIRONMENT": "test",
        "NOVA_PORT": str(free_port()),
        "NOVA_WORKERS": "2",
        "NOVA_LOG_JSON": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    supervisor = subprocess.Popen([sys.executable, str(script)], env=env)
    try:
        assert supervisor.wait(timeout=60) == 3
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
