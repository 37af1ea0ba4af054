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

py-spy reads the servers' memory without stopping them (``--nonblocking``), so the CPU figures
are the servers' own; it needs to be allowed to trace them (root, or a ``ptrace_scope`` of 0/1
for its own descendants).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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
    request: loadgen.Request
    processes: tuple[str, ...]
    """The processes sampled, the first one being the one the load reaches."""


def hot_paths(bearer: dict[str, str]) -> list[HotPath]:
    graphql = loadgen.Request(
        "POST",
        "/graphql",
        body=json.dumps({"query": "{ me { id } }"}),
        headers={**bearer, "Content-Type": "application/json"},
    )
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


def retitle(svg: Path, title: str) -> None:
    """Name a flame graph by what it shows instead of py-spy's command line, which holds the
    machine's paths and process ids."""
    text = _SVG_TITLE.sub(lambda m: m.group(1) + html.escape(title) + m.group(2), svg.read_text())
    svg.write_text(text)


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
    loadgen.run_wrk(url, [path.request], duration=WARM_UP_SECONDS, connections=16)
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
        result = loadgen.run_wrk(url, [path.request], duration=seconds, connections=16)
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
    with tempfile.TemporaryDirectory(prefix="nova-profile-") as directory:
        workdir = Path(directory)
        with (
            benchstack.data_services(workdir, "nova_profile_test") as (database_url, redis_url),
            benchstack.running_services(database_url, redis_url, workdir) as services,
        ):
            token = benchstack.register(services, "profile@example.com", PASSWORD)
            bearer = {"Authorization": f"Bearer {token}"}
            first = httpx.get(
                f"{services.urls['users']}/api/users/me",
                headers=bearer,
                timeout=30,
                trust_env=False,
            )
            first.raise_for_status()  # the profile is created on its first read
            supergraph = benchstack.compose_supergraph(workdir / "supergraph.graphql", services)
            with gateway(services, supergraph, workdir, redis_url) as router:
                urls = {**services.urls, "gateway": router.base_url or ""}
                pids = {**services.pids, "gateway": router.pid}
                paths = [p for p in hot_paths(bearer) if not wanted or p.name in wanted]
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
                for path in paths:
                    print(f"profiling {path.name}", flush=True)
                    lines += profile_path(path, urls, pids, output, seconds)
    (output / "README.md").write_text("\n".join(lines))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
