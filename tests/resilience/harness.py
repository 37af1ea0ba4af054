"""The machinery of the resilience suite: a whole Nova system on embedded PostgreSQL and Redis
that the suite may stop and restart, a paced load generator that records every request, and
samplers for memory and connections.

Everything listens on and talks to 127.0.0.1 only. Every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import httpx

from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port
from nova_kit.testing.processes import ServiceProcess
from nova_kit.testing.stack import Stack, running_stack
from tests.resilience.faultproxy import FaultProxy

BIN = Path(sys.executable).parent
DATABASE = "nova"

# Limits high enough that steady load is never throttled; scenarios about limits set their own.
GENEROUS_LIMITS = {
    "NOVA_GATEWAY_RATE_LIMIT_PER_CLIENT": "1000000",
    "NOVA_GATEWAY_RATE_LIMIT_PER_SUBJECT": "1000000",
    "NOVA_AUTH_LOGIN_LIMIT_PER_CLIENT": "1000000",
    "NOVA_AUTH_LOGIN_LIMIT_PER_ACCOUNT": "1000000",
    "NOVA_AUTH_LOGIN_LIMIT_PER_ACCOUNT_CLIENT": "1000000",
    "NOVA_AUTH_LOGIN_SLOWDOWN_AFTER": "1000000",
    "NOVA_AUTH_REGISTER_LIMIT_PER_CLIENT": "1000000",
    "NOVA_AUTH_TOKEN_LIMIT_PER_CLIENT": "1000000",
}


@dataclass(frozen=True)
class Profile:
    """How hard the suite pushes: ``full`` for ``make resilience``, ``short`` for CI."""

    name: str
    rate: float
    """Requests per second of the steady background load."""
    warmup_seconds: float
    down_seconds: float
    """How long a stopped dependency stays down."""
    recovery_seconds: float
    events: int
    soak_seconds: float
    storm_requests: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Profile:
        name = env.get("NOVA_RESILIENCE_PROFILE", "full").strip().lower()
        if name == "short":
            return cls("short", 40, 2, 3, 12, 100, 30, 300)
        if name != "full":
            raise ValueError(f"NOVA_RESILIENCE_PROFILE={name!r}: expected full or short")
        return cls("full", 60, 4, 5, 15, 500, 300, 1500)


PROFILE = Profile.from_env()


# --- the system ------------------------------------------------------------------------------


@dataclass
class System:
    """A running Nova system whose PostgreSQL, Redis and processes the suite controls."""

    workdir: Path
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    stack: Stack
    maildir: Path
    smtp: ServiceProcess | None = None
    proxies: dict[str, FaultProxy] = field(default_factory=dict)
    """Fault proxies the gateway reaches services through, by service."""

    @property
    def gateway(self) -> str:
        return self.stack.gateway

    def url(self, service: str) -> str:
        return self.stack.urls[service]

    def process(self, service: str) -> ServiceProcess:
        return self.stack.processes[service]

    @property
    def database_url(self) -> str:
        return self.postgres.database_url(DATABASE)

    def stop_postgres(self) -> None:
        self.postgres.stop(mode="fast")

    def start_postgres(self) -> None:
        self.postgres.start()

    def stop_redis(self) -> None:
        self.redis.stop()

    def start_redis(self) -> None:
        self.redis.start()

    def restart(self, service: str, timeout: float = 60) -> None:
        process = self.process(service)
        process.stop()
        process.start()
        process.wait_until_ready(timeout=timeout)

    def logs(self) -> str:
        return self.stack.logs()

    def mails(self) -> list[EmailMessage]:
        """Every message the SMTP sink received, oldest first."""
        from nova_worker.sink import read_maildir

        return read_maildir(self.maildir) if self.maildir.exists() else []


async def create_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def in_thread[T](coroutine: Coroutine[object, object, T]) -> T:
    """Run a coroutine to completion on a loop of its own (callers may be inside a loop)."""
    with ThreadPoolExecutor(1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


@contextmanager
def server_directory(prefix: str) -> Iterator[Path]:
    """Outside pytest's private tmp: PostgreSQL runs as another user when we are root."""
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def running_system(
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    per_service_env: Mapping[str, Mapping[str, str]] | None = None,
    worker: bool = True,
    worker_concurrency: int = 2,
    proxied: tuple[str, ...] = (),
) -> Iterator[System]:
    """Gateway, auth, users, worker and the SMTP sink, as ``make dev`` runs them, on embedded
    PostgreSQL and Redis (AOF persistence on, as in ``make dev``) of this system's own.

    ``proxied`` services are reached by the gateway through a :class:`FaultProxy` each."""
    with server_directory("nova-resilience-") as data:
        postgres = EmbeddedPostgres(data / "postgres")
        redis = EmbeddedRedis(data / "redis", persist=True)
        postgres.start()
        redis.start()
        smtp: ServiceProcess | None = None
        ports = {name: free_port() for name in proxied}
        proxies = {name: FaultProxy(port).start() for name, port in ports.items()}
        try:
            in_thread(create_database(postgres.url, DATABASE))
            maildir = workdir / "mail"
            smtp_port = free_port()
            common = {**GENEROUS_LIMITS, **(env or {})}
            if worker:
                smtp = ServiceProcess(
                    "smtp",
                    [
                        str(BIN / "nova-worker"),
                        "smtp-sink",
                        "--port",
                        str(smtp_port),
                        "--maildir",
                        str(maildir),
                    ],
                    {"NOVA_ENVIRONMENT": "test"},
                    workdir / "smtp.log",
                ).start()
                wait_for_port("127.0.0.1", smtp_port, 30)
                common |= {
                    "NOVA_WORKER_SMTP_HOST": "127.0.0.1",
                    "NOVA_WORKER_SMTP_PORT": str(smtp_port),
                }
            with running_stack(
                postgres.database_url(DATABASE),
                redis.url,
                workdir,
                env=common,
                per_service_env=per_service_env,
                worker=worker,
                worker_concurrency=worker_concurrency,
                ports=ports,
                gateway_upstream_ports={name: proxy.port for name, proxy in proxies.items()},
            ) as stack:
                yield System(workdir, postgres, redis, stack, maildir, smtp, proxies)
        finally:
            for proxy in proxies.values():
                proxy.stop()
            if smtp is not None:
                smtp.stop()
            redis.stop()
            postgres.stop(mode="immediate")


# --- load ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: when it started and ended (seconds since the load began) and its outcome."""

    started: float
    ended: float
    status: int | None
    """HTTP status; None when no response came (connection error or the client's timeout)."""
    code: str = ""
    """The error ``code`` of a JSON error body, or the transport error's class name."""
    index: int = -1
    """The request's number within its ``Load`` (the ``index`` passed to ``send``)."""

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def answer_code(status: int, body: bytes) -> str:
    """``code`` of a Nova error, the first ``extensions.code`` of a GraphQL error, or a note."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "plain-text"
    if isinstance(parsed, dict):
        if isinstance(parsed.get("code"), str):
            return str(parsed["code"])
        errors = parsed.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str((errors[0].get("extensions") or {}).get("code", "no-code"))
    return "" if status < 400 else "unknown"


def error_code(response: httpx.Response) -> str:
    """The error code of a failed response ("" for a success)."""
    if response.status_code < 400:
        return ""
    return answer_code(response.status_code, response.content)


@dataclass
class Load:
    """Open-loop load: request ``i`` starts at ``i / rate`` seconds whatever the others do, so a
    stalled server shows up as latency and timeouts instead of as fewer requests."""

    send: Send
    rate: float
    duration: float
    timeout: float = 10.0
    max_in_flight: int = 256
    samples: list[Sample] = field(default_factory=list)
    origin: float = 0.0

    def now(self) -> float:
        return time.monotonic() - self.origin

    async def run(self, client: httpx.AsyncClient) -> list[Sample]:
        self.origin = time.monotonic()
        total = max(1, math.floor(self.rate * self.duration))
        gate = asyncio.Semaphore(self.max_in_flight)
        tasks: list[asyncio.Task[None]] = []

        async def one(index: int) -> None:
            async with gate:
                started = self.now()
                try:
                    response = await asyncio.wait_for(self.send(client, index), self.timeout)
                except TimeoutError:
                    self.samples.append(Sample(started, self.now(), None, "client-timeout", index))
                    return
                except httpx.HTTPError as error:
                    self.samples.append(
                        Sample(started, self.now(), None, type(error).__name__, index)
                    )
                    return
                self.samples.append(
                    Sample(started, self.now(), response.status_code, error_code(response), index)
                )

        for index in range(total):
            delay = index / self.rate - self.now()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
        self.samples.sort(key=lambda sample: sample.started)
        return self.samples


def load_client(**kwargs: object) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    return httpx.AsyncClient(limits=limits, trust_env=False, **kwargs)  # type: ignore[arg-type]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def summarize(samples: list[Sample]) -> str:
    """``412 requests: 375 ok, 37 x 503 service_unavailable; p50 12 ms, p99 80 ms``."""
    counts: dict[str, int] = {}
    for sample in samples:
        if not sample.ok:
            key = f"{sample.status or 'no answer'} {sample.code}".strip()
            counts[key] = counts.get(key, 0) + 1
    failures = ", ".join(f"{n} x {key}" for key, n in sorted(counts.items()))
    latencies = [s.seconds for s in samples]
    return (
        f"{len(samples)} requests: {sum(s.ok for s in samples)} ok"
        + (f", {failures}" if failures else "")
        + f"; p50 {ms(percentile(latencies, 0.5))}, p99 {ms(percentile(latencies, 0.99))}"
    )


@dataclass
class Probe:
    """Polls one URL at a fixed interval in the background, recording each answer."""

    url: str
    interval: float = 0.25
    timeout: float = 2.0
    samples: list[Sample] = field(default_factory=list)
    origin: float = field(default_factory=time.monotonic)

    async def run(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        for _ in range(100_000):
            if stop.is_set():
                return
            started = time.monotonic() - self.origin
            try:
                response = await client.get(self.url, timeout=self.timeout)
                status: int | None = response.status_code
            except httpx.HTTPError:
                status = None
            self.samples.append(Sample(started, time.monotonic() - self.origin, status))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)


# --- accounts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    access_token: str
    refresh_token: str
    user_id: str


async def register(
    client: httpx.AsyncClient, gateway: str, email: str, password: str = "correct horse 42"
) -> Account:
    credentials = {"email": email, "password": password}
    response = await client.post(f"{gateway}/api/auth/register", json=credentials)
    assert response.status_code == 202, response.text
    signed_in = await client.post(f"{gateway}/api/auth/login", json=credentials)
    assert signed_in.status_code == 200, signed_in.text
    body = signed_in.json()
    me = await client.get(
        f"{gateway}/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200, me.text
    return Account(email, password, body["access_token"], body["refresh_token"], me.json()["id"])


def bearer(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.access_token}"}


# --- samplers --------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and every descendant, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    for _ in range(10_000):
        if not pending:
            break
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def rss_bytes(root: int) -> int:
    """Resident memory of a process and its descendants (a Celery worker and its pool)."""
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


async def connections_by_application(database_url: str) -> dict[str, int]:
    """Open server connections per ``application_name`` (each service names its pool)."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT application_name, count(*) AS n FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "GROUP BY application_name"
        )
    finally:
        await connection.close()
    return {str(row["application_name"]): int(row["n"]) for row in rows}


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.25
) -> float:
    """Poll ``check`` until true; returns the seconds it took. Raises ``TimeoutError``."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout:g}s")
