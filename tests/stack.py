"""A real Nova stack for cross-service tests: migrated auth, users and gateway (and optionally
the worker) as processes on free loopback ports, on the test PostgreSQL and Redis, behind a
supergraph freshly composed from the checked-out subgraphs."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nova_kit.embedded import free_port
from nova_kit.testing.processes import ServiceProcess, run_checked

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVICES = ("gateway", "auth", "users", "worker")


def compose_supergraph(target: Path, auth_port: int, users_port: int) -> Path:
    """The supergraph of the checked-out subgraphs, routed to the given local ports."""
    if shutil.which("node") is None:
        pytest.skip("node is needed to compose the supergraph")
    env = {
        "NOVA_SUBGRAPH_URL_AUTH": f"http://127.0.0.1:{auth_port}/graphql",
        "NOVA_SUBGRAPH_URL_USERS": f"http://127.0.0.1:{users_port}/graphql",
    }
    run_checked([str(ROOT / "scripts" / "supergraph.sh"), str(target)], env)
    return target


@dataclass
class Stack:
    """Base URLs (where ``/metrics`` is served) of the running processes, by service."""

    urls: dict[str, str]
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{p.tail(30)}" for name, p in self.processes.items())


@contextmanager
def running_stack(
    database_url: str,
    redis_url: str,
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    per_service_env: Mapping[str, Mapping[str, str]] | None = None,
    worker: bool = False,
    worker_concurrency: int = 1,
    ports: Mapping[str, int] | None = None,
    gateway_upstream_ports: Mapping[str, int] | None = None,
) -> Iterator[Stack]:
    """Migrated auth, users and gateway (and optionally the worker) as real processes.

    ``ports`` fixes some processes' ports; ``gateway_upstream_ports`` makes the gateway reach
    a service on another port (a proxy in front of it) for both GraphQL and REST."""
    ports = {name: (ports or {}).get(name) or free_port() for name in SERVICES}
    upstream = {**ports, **(gateway_upstream_ports or {})}
    common = {
        "NOVA_ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "NOVA_JWKS_URL": f"http://127.0.0.1:{ports['auth']}/.well-known/jwks.json",
        **(env or {}),
    }
    run_checked([str(BIN / "nova-auth"), "migrate"], common)
    run_checked([str(BIN / "nova-users"), "migrate"], common)
    if worker:
        run_checked([str(BIN / "nova-worker"), "migrate"], common)
    supergraph = compose_supergraph(
        workdir / "supergraph.graphql", upstream["auth"], upstream["users"]
    )
    local = "http://127.0.0.1:{}"
    service_env: dict[str, dict[str, str]] = {
        "auth": {
            "NOVA_AUTH_PORT": str(ports["auth"]),
            "NOVA_AUTH_DEV_KEY_FILE": str(workdir / "auth-key"),
        },
        "users": {"NOVA_USERS_PORT": str(ports["users"])},
        "gateway": {
            "NOVA_GATEWAY_PORT": str(ports["gateway"]),
            "NOVA_GATEWAY_SUPERGRAPH": str(supergraph),
            "NOVA_GATEWAY_ROUTES": json.dumps(
                {
                    "/api/auth": local.format(upstream["auth"]),
                    "/api/users": local.format(upstream["users"]),
                }
            ),
        },
        "worker": {
            "NOVA_WORKER_METRICS_PORT": str(ports["worker"]),
            "NOVA_WORKER_METRICS_HOST": "127.0.0.1",
            "NOVA_WORKER_METRICS_DIR": str(workdir / "worker-metrics"),
            "NOVA_WORKER_HEARTBEAT_FILE": str(workdir / "worker-heartbeat"),
            "NOVA_WORKER_HEARTBEAT_INTERVAL_SECONDS": "1",
            "NOVA_WORKER_BEAT_HEARTBEAT_FILE": str(workdir / "beat-heartbeat"),
            "NOVA_WORKER_BEAT_SCHEDULE_FILE": str(workdir / "beat-schedule"),
            "NOVA_WORKER_AUTH_URL": local.format(ports["auth"]),
            "NOVA_WORKER_USERS_URL": local.format(ports["users"]),
        },
    }
    commands = {
        "auth": [str(BIN / "nova-auth"), "serve"],
        "users": [str(BIN / "nova-users"), "serve"],
        "gateway": [str(BIN / "nova-gateway"), "serve"],
        "worker": [
            str(BIN / "nova-worker"),
            "worker",
            "--concurrency",
            str(worker_concurrency),
        ],
    }
    names = [name for name in SERVICES if worker or name != "worker"]
    stack = Stack(urls={name: local.format(ports[name]) for name in names})
    for name in names:
        stack.processes[name] = ServiceProcess(
            name,
            commands[name],
            {**common, **service_env[name], **(per_service_env or {}).get(name, {})},
            workdir / f"{name}.log",
            stack.urls[name],
        )
    try:
        for process in stack.processes.values():
            process.start()
        for process in stack.processes.values():
            process.wait_until_ready(timeout=90)
        yield stack
    finally:
        for process in stack.processes.values():
            process.stop()
