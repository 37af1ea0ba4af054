"""``make profile``: the hot paths under load, sampled with ``py-spy``; flame graphs and top-10s.

Starts the benchmarks' stack (``scripts/benchstack.py``: databases, migrated ``nova-auth`` and
``nova-users``, and a ``nova-gateway`` federating and proxying them) on loopback, then for each
path puts ``wrk`` load on it (``scripts/loadgen.py``) for ``--duration`` seconds while ``py-spy``
samples every process the path runs through. Per path and process it writes a flame graph
(``<path>.<process>.svg``) and, in ``README.md``, the requests per second, the CPU milliseconds
per request of each process (its own CPU time during the load, divided by the requests) and the
ten functions with the most samples, by own time and by total time (from py-spy's collapsed
stacks).

    python scripts/profile.py [--label before] [--only users-me,gateway-graphql] [--duration 15]

The ``fixture-*`` and ``proxy`` paths measure nova-gateway alone, set up as its benchmarks set
it up: ``fixture-<query>`` sends one of ``bench_gateway.py``'s measured queries to a gateway
in front of the fixture subgraphs (``services/gateway/bench/subgraphs.py``), ``proxy`` sends
``bench_proxy.py``'s ``GET /api/bench/items`` through a gateway to its upstream (a 1 KiB JSON
answer; Redis and rate limits on). They start only what they need: with ``--only`` naming none
of the other paths, neither the databases nor the services start.

py-spy reads the servers' memory without stopping them (``--nonblocking``), so the CPU figures
are the servers' own; it needs to be allowed to trace them (root, or a ``ptrace_scope`` of 0/1
for its own descendants).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchstack
import loadgen

from nova_kit.embedded import free_port
from nova_kit.testing.processes import ServiceProcess
from nova_kit.testing.stack import BIN, ROOT, Stack

PY_SPY = BIN / "py-spy"
RATE_HZ = 200
TOP = 10
WARM_UP_SECONDS = 2
PASSWORD = "profile-Password-1"  # noqa: S105 - a throwaway account in a throwaway database


@dataclass(frozen=True)
class HotPath:
    name: str
    title: str
    service: str
    """Where the load goes: ``auth``, ``users`` or ``gateway``."""
    request: loadgen.Request | Sequence[loadgen.Request]
    """The request, or the requests the load rotates over."""
    processes: tuple[str, ...]
    """The processes sampled, the first one being the one the load reaches."""
    relay: Callable[[], loadgen.Relay] | None = None
    """For a path whose every request spends what the previous answer gave (a refresh token):
    fresh chains, one per connection, for each run (the warm-up spends its own)."""


GATEWAY_BENCH = ROOT / "services" / "gateway" / "bench"


def gateway_bench_paths() -> list[HotPath]:
    """nova-gateway alone, as its benchmarks run it (see the module docstring)."""
    sys.path.insert(0, str(GATEWAY_BENCH))
    import bench_gateway

    paths = [
        HotPath(
            f"fixture-{name}",
            f"GraphQL fixture `{name}`",
            "gateway-fixture",
            loadgen.Request(
                "POST",
                "/graphql",
                body=json.dumps({"query": query}),
                headers={"Content-Type": "application/json"},
            ),
            ("gateway-fixture",),
        )
        for name, query in bench_gateway.QUERIES.items()
    ]
    paths.append(
        HotPath(
            "proxy",
            "REST `GET /api/bench/items` through the gateway",
            "gateway-proxy",
            loadgen.Request("GET", "/api/bench/items"),
            ("gateway-proxy",),
        )
    )
    return paths


@contextmanager
def gateway_bench(
    workdir: Path, names: set[str]
) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
    """The gateways of :func:`gateway_bench_paths` that ``names`` need: their URLs and pids."""
    import bench_gateway
    import bench_proxy

    from nova_kit.embedded import EmbeddedRedis

    urls: dict[str, str] = {}
    pids: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        if any(name.startswith("fixture-") for name in names):
            case = stack.enter_context(bench_gateway.fixture_case(workdir))
            port = free_port()
            command = bench_gateway.router_command("nova", case, port)
            assert command is not None
            process = subprocess.Popen(  # noqa: S603 - the benchmark's own command
                command,
                env=bench_gateway.router_environment("nova"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            stack.callback(_stop_group, process)
            urls["gateway-fixture"] = f"http://127.0.0.1:{port}"
            bench_gateway.wait_ready(f"{urls['gateway-fixture']}/graphql", process)
            pids["gateway-fixture"] = process.pid
        if "proxy" in names:
            redis_url = os.environ.get("NOVA_BENCH_REDIS_URL") or os.environ.get(
                "NOVA_TEST_REDIS_URL"
            )
            if not redis_url:
                redis = EmbeddedRedis(workdir / "redis", persist=False)
                redis.start()
                stack.callback(redis.stop)
                redis_url = redis.url
            upstream_port, port = free_port(), free_port()
            upstream = bench_proxy.start_upstream(upstream_port, workdir / "upstream.log")
            stack.callback(_stop_group, upstream)
            gateway = ServiceProcess(
                "gateway",
                [str(BIN / "nova-gateway"), "serve"],
                bench_proxy.gateway_environment(
                    port, redis_url, f"http://127.0.0.1:{upstream_port}"
                ),
                workdir / "gateway-proxy.log",
                f"http://127.0.0.1:{port}",
            )
            stack.callback(gateway.stop)
            gateway.start().wait_until_ready(timeout=60)
            urls["gateway-proxy"] = gateway.base_url or ""
            pids["gateway-proxy"] = gateway.pid
        yield urls, pids


def _stop_group(process: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


CONNECTIONS = 16
NEXT_REFRESH = '"refresh_token"%s*:%s*"([^"]+)"'  # Lua pattern


def refresh_chains(auth_url: str, email: str) -> Callable[[], loadgen.Relay]:
    """Chains of refresh-token rotations: each run signs the account in once per connection and
    sends every answer's new refresh token with the next request (no token is presented twice)."""

    def chains() -> loadgen.Relay:
        with httpx.Client(base_url=auth_url, timeout=60, trust_env=False) as client:
            seeds = []
            for _ in range(CONNECTIONS):
                response = client.post(
                    "/api/auth/login", json={"email": email, "password": PASSWORD}
                )
                response.raise_for_status()
                seeds.append(response.json()["refresh_token"])
        return loadgen.Relay(
            loadgen.Request(
                "POST",
                "/api/auth/refresh",
                '{"refresh_token": "{relay}"}',
                {"Content-Type": "application/json"},
            ),
            seeds=seeds,
            pattern=NEXT_REFRESH,
        )

    return chains


PROJECT_ME = (
    "query MyProfile { me { ...ProfileFields email emailVerified roles status lastLoginAt } } "
    "fragment ProfileFields on User { id displayName bio avatarUrl locale timezone createdAt "
    "updatedAt deletedAt }"
)
"""The benchmark's ``project-me`` query: the profile from users, the account from auth."""
PROJECT_ACCOUNTS = 16
"""Accounts the ``gateway-project-me`` requests rotate over, as ``make bench``'s project-me."""


def hot_paths(
    bearer: dict[str, str],
    refresh: Callable[[], loadgen.Relay],
    accounts: Sequence[dict[str, str]] = (),
    sign_ins: Sequence[str] = (),
) -> list[HotPath]:
    graphql = loadgen.Request(
        "POST",
        "/graphql",
        body=json.dumps({"query": "{ me { id } }"}),
        headers={**bearer, "Content-Type": "application/json"},
    )
    logins = [
        loadgen.Request(
            "POST",
            "/api/auth/login",
            body=json.dumps({"email": address, "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        for address in sign_ins
    ]
    return [
        HotPath(
            "users-me",
            "users `GET /api/users/me`, direct",
            "users",
            loadgen.Request("GET", "/api/users/me", headers=bearer),
            ("users",),
        ),
        HotPath(
            "auth-me",
            "auth `GET /api/auth/me`, direct",
            "auth",
            loadgen.Request("GET", "/api/auth/me", headers=bearer),
            ("auth",),
        ),
        HotPath(
            "gateway-rest",
            "`GET /api/users/me` through the gateway's REST proxy",
            "gateway",
            loadgen.Request("GET", "/api/users/me", headers=bearer),
            ("gateway", "users"),
        ),
        HotPath(
            "gateway-graphql",
            "GraphQL `{ me { id } }` through the gateway",
            "gateway",
            graphql,
            ("gateway", "users"),
        ),
        HotPath(
            "auth-refresh",
            "auth `POST /api/auth/refresh` (rotation chains), direct",
            "auth",
            loadgen.Request("POST", "/api/auth/refresh"),
            ("auth",),
            relay=refresh,
        ),
        HotPath(
            "auth-login",
            "auth `POST /api/auth/login`, direct (one Argon2id verification each)",
            "auth",
            logins,
            ("auth",),
        ),
        HotPath(
            "users-patch",
            "users `PATCH /api/users/me`, direct",
            "users",
            loadgen.Request(
                "PATCH",
                "/api/users/me",
                body=json.dumps({"bio": "profiled"}),
                headers={**bearer, "Content-Type": "application/json"},
            ),
            ("users",),
        ),
        HotPath(
            "gateway-project-me",
            "GraphQL project-me (`me` from users and auth) through the gateway, "
            f"{len(accounts)} accounts",
            "gateway",
            [
                loadgen.Request(
                    "POST",
                    "/graphql",
                    body=json.dumps({"query": PROJECT_ME}),
                    headers={**headers, "Content-Type": "application/json"},
                )
                for headers in accounts or [bearer]
            ],
            ("gateway", "auth", "users"),
        ),
    ]


@contextmanager
def gateway(
    services: Stack, supergraph: Path, workdir: Path, redis_url: str
) -> Iterator[ServiceProcess]:
    port = free_port()
    process = ServiceProcess(
        "gateway",
        [str(BIN / "nova-gateway"), "serve"],
        {
            "NOVA_ENVIRONMENT": "test",
            "NOVA_GATEWAY_PORT": str(port),
            "NOVA_GATEWAY_REDIS_URL": redis_url,
            "NOVA_GATEWAY_SUPERGRAPH": str(supergraph),
            "NOVA_GATEWAY_SUPERGRAPH_POLL_SECONDS": "0",
            "NOVA_GATEWAY_JWKS_URL": f"{services.urls['auth']}/.well-known/jwks.json",
            "NOVA_GATEWAY_ROUTES": json.dumps(
                {"/api/auth": services.urls["auth"], "/api/users": services.urls["users"]}
            ),
            # the limiter runs on every request but never refuses one
            "NOVA_GATEWAY_RATE_LIMIT_PER_CLIENT": "10000000",
            "NOVA_GATEWAY_RATE_LIMIT_PER_SUBJECT": "10000000",
            "NOVA_GATEWAY_LOG_LEVEL": "WARNING",
        },
        workdir / "gateway.log",
        f"http://127.0.0.1:{port}",
    )
    try:
        process.start().wait_until_ready(timeout=60)
        yield process
    finally:
        process.stop()


_SVG_TITLE = re.compile(r'(<text id="title"[^>]*>)[^<]*(</text>)')
_INSTALLED = re.compile(r'/[^\s<>()"]*?/site-packages/')
"""An installed module's absolute path, as py-spy names a frame it has no function name for."""


def retitle(svg: Path, title: str) -> None:
    """Name a flame graph by what it shows instead of py-spy's command line, which holds the
    machine's paths and process ids."""
    text = _SVG_TITLE.sub(lambda m: m.group(1) + html.escape(title) + m.group(2), svg.read_text())
    svg.write_text(_INSTALLED.sub("", text))


def py_spy(
    pid: int, output: Path, fmt: str, seconds: int, *, subprocesses: bool = False
) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (and, with ``subprocesses``, its children: a prefork pool) for
    ``seconds``; a SIGINT ends it earlier, and it still writes ``output``."""
    return subprocess.Popen(  # noqa: S603 - py-spy with arguments built here
        [
            str(PY_SPY),
            "record",
            *(["--subprocesses"] if subprocesses else []),
            "--pid",
            str(pid),
            "--rate",
            str(RATE_HZ),
            "--duration",
            str(seconds),
            "--nonblocking",
            "--nolineno",
            "--format",
            fmt,
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def top_functions(collapsed: str, limit: int = TOP) -> tuple[int, list[tuple[str, int, int]]]:
    """(samples, [(function, own samples, total samples)]) from py-spy's collapsed stacks,
    the ``limit`` largest by own time then the ``limit`` largest by total time below the
    serving loop's spine."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        frames = [frame for frame in frames if not frame.startswith("thread ")]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    by_own = [(name, own[name], total[name]) for name, _ in own.most_common(limit)]
    # the spine every sample of the serving thread shares (the CLI, the event loop) says nothing
    spine = max(total.values(), default=0) * 0.98
    below = [(name, count) for name, count in total.most_common() if count < spine]
    by_total = [(name, own[name], total[name]) for name, _ in below[:limit]]
    return samples, by_own + by_total


def table(title: str, rows: Sequence[tuple[str, int, int]], samples: int) -> list[str]:
    lines = [f"{title}:", "", "| function | own % | total % |", "|---|---:|---:|"]
    for name, own, total in rows:
        cell = name.replace("|", "\\|")
        lines.append(f"| `{cell}` | {100 * own / samples:.1f} | {100 * total / samples:.1f} |")
    return [*lines, ""]


def profile_path(
    path: HotPath, urls: dict[str, str], pids: dict[str, int], output: Path, seconds: int
) -> list[str]:
    url = urls[path.service]
    requests: Sequence[loadgen.Request] = (
        []
        if path.relay
        else [path.request]
        if isinstance(path.request, loadgen.Request)
        else path.request
    )
    loadgen.run_wrk(
        url,
        requests,
        relay=path.relay() if path.relay else None,
        duration=WARM_UP_SECONDS,
        connections=CONNECTIONS,
    )
    relay = path.relay() if path.relay else None
    recorders: dict[str, tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], Path]] = {}
    samplers: dict[str, loadgen.UsageSampler] = {}
    raw_dir = Path(tempfile.mkdtemp(prefix="nova-profile-"))
    for process in path.processes:
        raw = raw_dir / f"{process}.txt"
        svg = output / f"{path.name}.{process}.svg"
        recorders[process] = (
            py_spy(pids[process], svg, "flamegraph", seconds),
            py_spy(pids[process], raw, "raw", seconds),
            raw,
        )
    usages = {}
    for process in path.processes:
        samplers[process] = loadgen.UsageSampler(pids[process])
        usages[process] = samplers[process].__enter__()
    try:
        result = loadgen.run_wrk(
            url, requests, relay=relay, duration=seconds, connections=CONNECTIONS
        )
    finally:
        for sampler in samplers.values():
            sampler.__exit__(None, None, None)
    lines = [
        f"## {path.title}",
        "",
        f"{result.requests_per_second:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, {result.errors} errors over {result.requests} requests.",
        "",
        "| process | CPU ms/request | flame graph |",
        "|---|---:|---|",
    ]
    for process in path.processes:
        cpu = usages[process].cpu_ms_per_request(result.requests)
        lines.append(
            f"| {process} | {cpu:.3f} | [{path.name}.{process}.svg]({path.name}.{process}.svg) |"
        )
    lines.append("")
    for process, (svg_run, raw_run, raw) in recorders.items():
        for run in (svg_run, raw_run):
            _, errors = run.communicate(timeout=seconds + 60)
            if run.returncode != 0:
                raise RuntimeError(f"py-spy failed on {process}: {errors.decode()[-1000:]}")
        retitle(output / f"{path.name}.{process}.svg", f"{path.title.replace('`', '')}: {process}")
        samples, rows = top_functions(raw.read_text())
        if not samples:
            raise RuntimeError(f"py-spy recorded no samples of {process}")
        lines += [f"### {process} ({samples} samples at {RATE_HZ} Hz)", ""]
        lines += table("Top 10 by own time", rows[:TOP], samples)
        lines += table("Top 10 by total time (below the event loop)", rows[TOP:], samples)
    return lines


def signed_in(services: Stack, email: str) -> dict[str, str]:
    """A new account, signed in, its profile created (on its first read): its Authorization
    header."""
    bearer = {"Authorization": f"Bearer {benchstack.register(services, email, PASSWORD)}"}
    httpx.get(
        f"{services.urls['users']}/api/users/me", headers=bearer, timeout=30, trust_env=False
    ).raise_for_status()
    return bearer


def profile_services(workdir: Path, wanted: set[str], output: Path, seconds: int) -> list[str]:
    """The paths through the real services (the benchmark stack's), those ``wanted`` (all
    without a choice)."""
    lines: list[str] = []
    with (
        benchstack.data_services(workdir, "nova_profile_test") as (database_url, redis_url),
        benchstack.running_services(database_url, redis_url, workdir) as services,
    ):
        email = "profile@example.com"
        bearer = signed_in(services, email)
        accounts = (
            [
                signed_in(services, f"profile.{number}@example.com")
                for number in range(PROJECT_ACCOUNTS)
            ]
            if not wanted or "gateway-project-me" in wanted
            else []
        )
        # sign-ins rotate over accounts: one client's attempts in flight on one account are capped
        sign_ins = [f"sign-in-{index}@example.com" for index in range(CONNECTIONS)]
        if not wanted or "auth-login" in wanted:
            for address in sign_ins:
                benchstack.register(services, address, PASSWORD)
        supergraph = benchstack.compose_supergraph(workdir / "supergraph.graphql", services)
        with gateway(services, supergraph, workdir, redis_url) as router:
            urls = {**services.urls, "gateway": router.base_url or ""}
            pids = {**services.pids, "gateway": router.pid}
            chains = refresh_chains(services.urls["auth"], email)
            for path in hot_paths(bearer, chains, accounts, sign_ins):
                if wanted and path.name not in wanted:
                    continue
                print(f"profiling {path.name}", flush=True)
                lines += profile_path(path, urls, pids, output, seconds)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="current", help="subdirectory of docs/perf")
    parser.add_argument("--only", default="", help="comma-separated paths")
    parser.add_argument("--duration", type=int, default=15, help="seconds per path (max 60)")
    args = parser.parse_args()
    # stopped from outside (a timeout, a CI runner): stop the servers and databases on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seconds = min(max(args.duration, 3), 60)
    loadgen.wrk_binary()
    if not PY_SPY.exists():
        print("py-spy is not installed: run `make setup`", file=sys.stderr)
        return 2
    output = ROOT / "docs" / "perf" / args.label
    output.mkdir(parents=True, exist_ok=True)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    lines = [
        f"# Profiles: {args.label}",
        "",
        f"Written by `make profile` (`scripts/profile.py`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores: each path "
        f"under `wrk` (16 connections, {seconds} s) while py-spy samples at "
        f"{RATE_HZ} Hz. CPU per request is each process's own CPU time during the "
        "load divided by the requests; percentages are of the process's samples.",
        "",
    ]
    bench_paths = [p for p in gateway_bench_paths() if p.name in wanted]
    with tempfile.TemporaryDirectory(prefix="nova-profile-") as directory:
        workdir = Path(directory)
        if bench_paths:
            with gateway_bench(workdir, {p.name for p in bench_paths}) as (urls, pids):
                for path in bench_paths:
                    print(f"profiling {path.name}", flush=True)
                    lines += profile_path(path, urls, pids, output, seconds)
        if not wanted or wanted - {p.name for p in bench_paths}:
            lines += profile_services(workdir, wanted, output, seconds)
    (output / "README.md").write_text("\n".join(lines))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
