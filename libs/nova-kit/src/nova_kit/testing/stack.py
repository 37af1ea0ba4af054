"""Nova's own services as real processes on free loopback ports: the one launcher the
cross-service tests, the resilience suite, the benchmarks and the profiler share.

- :func:`running_stack` migrates and serves any of auth, users and the gateway (and optionally
  the worker) on the given PostgreSQL and Redis, the gateway behind a supergraph composed from
  the checked-out subgraphs.
- :func:`compose_supergraph` composes that supergraph (``scripts/supergraph.sh``) with its
  routing URLs pointing wherever the caller says.
- :func:`migrate` applies services' migrations to a database.

The console scripts are the ones installed next to the running interpreter (``make setup``).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nova_kit.embedded import free_port
from nova_kit.testing.processes import ServiceProcess, run_checked

__all__ = [
    "BIN",
    "ROOT",
    "SERVICES",
    "Stack",
    "compose_supergraph",
    "migrate",
    "running_stack",
]

BIN = Path(sys.executable).parent
SERVICES = ("gateway", "auth", "users", "worker")
SERVED = ("gateway", "auth", "users")
"""What :func:`running_stack` serves unless told otherwise (the worker is asked for apart)."""


def _repository_root() -> Path:
    """The checkout this kit is installed from (workspace members are installed editable)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "scripts" / "supergraph.sh").is_file():
            return parent
    raise RuntimeError("nova_kit.testing.stack needs a Nova checkout (scripts/supergraph.sh)")


ROOT = _repository_root()


def compose_supergraph(target: Path, graphql_urls: Mapping[str, str]) -> Path:
    """The supergraph of the checked-out subgraphs, each routed to ``graphql_urls[name]``
    (``auth``, ``users``). Skips the calling test when Node.js is missing."""
    if shutil.which("node") is None:
        pytest.skip("node is needed to compose the supergraph")
    env = {f"NOVA_SUBGRAPH_URL_{name.upper()}": url for name, url in graphql_urls.items()}
    run_checked([str(ROOT / "scripts" / "supergraph.sh"), str(target)], env)
    return target


def migrate(
    database_url: str, services: Iterable[str], env: Mapping[str, str] | None = None
) -> None:
    """Apply each service's migrations (``nova-<service> migrate``) to ``database_url``."""
    for name in services:
        run_checked(
            [str(BIN / f"nova-{name}"), "migrate"],
            {"NOVA_ENVIRONMENT": "test", **(env or {}), "DATABASE_URL": database_url},
        )


@dataclass
class Stack:
    """Base URLs (where ``/metrics`` is served) of the running processes, by service."""

    urls: dict[str, str]
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]

    @property
    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def graphql_url(self, name: str) -> str:
        return f"{self.urls[name]}/graphql"

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{p.tail(30)}" for name, p in self.processes.items())


@contextmanager
def running_stack(
    database_url: str,
    redis_url: str,
    workdir: Path,
    *,
    services: Sequence[str] = SERVED,
    env: Mapping[str, str] | None = None,
    per_service_env: Mapping[str, Mapping[str, str]] | None = None,
    worker: bool = False,
    worker_concurrency: int = 1,
    ports: Mapping[str, int] | None = None,
    gateway_upstream_ports: Mapping[str, int] | None = None,
    migrations: bool = True,
    ready_timeout: float = 90.0,
) -> Iterator[Stack]:
    """Migrated ``services`` (and the worker if ``worker``) as real processes until exit.

    ``ports`` fixes some processes' ports; ``gateway_upstream_ports`` makes the gateway reach
    a service on another port (a proxy in front of it) for both GraphQL and REST;
    ``migrations=False`` when the caller migrated the database already."""
    names = [name for name in SERVICES if name in services or (worker and name == "worker")]
    ports = {name: (ports or {}).get(name) or free_port() for name in SERVICES}
    upstream = {**ports, **(gateway_upstream_ports or {})}
    local = "http://127.0.0.1:{}"
    common = {
        "NOVA_ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "NOVA_JWKS_URL": f"{local.format(ports['auth'])}/.well-known/jwks.json",
        **(env or {}),
    }
    if migrations:
        migrate(database_url, [name for name in names if name != "gateway"], common)
    service_env: dict[str, dict[str, str]] = {
        "auth": {
            "NOVA_AUTH_PORT": str(ports["auth"]),
            "NOVA_AUTH_DEV_KEY_FILE": str(workdir / "auth-key"),
        },
        "users": {"NOVA_USERS_PORT": str(ports["users"])},
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
    if "gateway" in names:
        supergraph = compose_supergraph(
            workdir / "supergraph.graphql",
            {name: f"{local.format(upstream[name])}/graphql" for name in ("auth", "users")},
        )
        service_env["gateway"] = {
            "NOVA_GATEWAY_PORT": str(ports["gateway"]),
            "NOVA_GATEWAY_SUPERGRAPH": str(supergraph),
            "NOVA_GATEWAY_ROUTES": json.dumps(
                {
                    "/api/auth": local.format(upstream["auth"]),
                    "/api/users": local.format(upstream["users"]),
                }
            ),
            "NOVA_GATEWAY_ADMIN_ROUTES": json.dumps(
                {
                    "/admin/data/auth": local.format(upstream["auth"]),
                    "/admin/data/users": local.format(upstream["users"]),
                }
            ),
        }
    commands = {
        "auth": [str(BIN / "nova-auth"), "serve"],
        "users": [str(BIN / "nova-users"), "serve"],
        "gateway": [str(BIN / "nova-gateway"), "serve"],
        "worker": [str(BIN / "nova-worker"), "worker", "--concurrency", str(worker_concurrency)],
    }
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
            process.wait_until_ready(timeout=ready_timeout)
        yield stack
    finally:
        for process in stack.processes.values():
            process.stop()
