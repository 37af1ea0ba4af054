"""The whole system for end-to-end tests: real auth, users and gateway processes on free
loopback ports, on the test PostgreSQL and Redis, with a freshly composed supergraph."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nova_kit.embedded import free_port
from nova_kit.testing.processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass
class Stack:
    gateway: str
    auth: str
    users: str


def run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def compose_supergraph(target: Path, auth_port: int, users_port: int) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is needed to compose the supergraph")
    env = {
        "NOVA_SUBGRAPH_URL_AUTH": f"http://127.0.0.1:{auth_port}/graphql",
        "NOVA_SUBGRAPH_URL_USERS": f"http://127.0.0.1:{users_port}/graphql",
    }
    run([str(ROOT / "scripts" / "supergraph.sh"), str(target)], env)
    return target


def start_stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Run the stack until the generator is closed (a pytest fixture drives it)."""
    workdir = tmp_path_factory.mktemp("stack")
    auth_port, users_port, gateway_port = free_port(), free_port(), free_port()
    common = {
        "NOVA_ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "NOVA_JWKS_URL": f"http://127.0.0.1:{auth_port}/.well-known/jwks.json",
    }
    run([str(BIN / "nova-auth"), "migrate"], common)
    run([str(BIN / "nova-users"), "migrate"], common)
    supergraph = compose_supergraph(workdir / "supergraph.graphql", auth_port, users_port)
    processes = [
        ServiceProcess(
            "auth",
            [str(BIN / "nova-auth"), "serve"],
            {
                **common,
                "NOVA_AUTH_PORT": str(auth_port),
                "NOVA_AUTH_DEV_KEY_FILE": str(workdir / "key"),
            },
            workdir / "auth.log",
            f"http://127.0.0.1:{auth_port}",
        ),
        ServiceProcess(
            "users",
            [str(BIN / "nova-users"), "serve"],
            {**common, "NOVA_USERS_PORT": str(users_port)},
            workdir / "users.log",
            f"http://127.0.0.1:{users_port}",
        ),
        ServiceProcess(
            "gateway",
            [str(BIN / "nova-gateway"), "serve"],
            {
                **common,
                "NOVA_GATEWAY_PORT": str(gateway_port),
                "NOVA_GATEWAY_SUPERGRAPH": str(supergraph),
                "NOVA_GATEWAY_ROUTES": json.dumps(
                    {
                        "/api/auth": f"http://127.0.0.1:{auth_port}",
                        "/api/users": f"http://127.0.0.1:{users_port}",
                    }
                ),
            },
            workdir / "gateway.log",
            f"http://127.0.0.1:{gateway_port}",
        ),
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_until_ready(timeout=60)
        yield Stack(*(p.base_url or "" for p in reversed(processes)))
    finally:
        for process in processes:
            process.stop()
