"""``make bench``: run every benchmark in the repository and write ``docs/benchmarks.md``.

Each benchmark starts what it measures on loopback, is bounded in time and request count, and
prints its own table; this runner runs them one after another (never two at once, so they do
not share the machine's cores) and records the tables with the machine they ran on. Figures
are comparable only within one run on one machine.

    python scripts/bench.py [--only auth,gateway-proxy] [--output docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    argv: list[str]
    timeout_seconds: int = 900


BENCHMARKS = [
    Benchmark(
        "gateway",
        "GraphQL federation: nova-gateway against Hive Gateway and Apollo Gateway",
        [PYTHON, "services/gateway/bench/bench_gateway.py", "--duration", "10"],
        timeout_seconds=1800,
    ),
    Benchmark(
        "gateway-proxy",
        "REST proxy overhead: direct vs through nova-gateway",
        [PYTHON, "services/gateway/bench/bench_proxy.py", "--duration", "10"],
    ),
    Benchmark(
        "auth",
        "auth: login, refresh, token verification",
        [PYTHON, "services/auth/bench/bench_auth.py"],
    ),
    Benchmark(
        "users",
        "users: profile reads and writes",
        [PYTHON, "services/users/bench/bench_users.py", "--duration", "10"],
    ),
    Benchmark(
        "worker",
        "worker: task throughput and user.registered end to end",
        [PYTHON, "services/worker/bench/bench_worker.py"],
    ),
]


def machine() -> list[str]:
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("\n", 1)[0].split()[1])
        memory = f", {total_kib / 1024 / 1024:.0f} GiB memory"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores{memory}, {platform.platform()}",
        f"- Python {platform.python_version()}; load average at start {load:.2f}",
    ]


def run(benchmark: Benchmark) -> tuple[bool, str, float]:
    started = time.monotonic()
    try:
        result = subprocess.run(  # noqa: S603 - our own benchmark scripts
            benchmark.argv,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=benchmark.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {benchmark.timeout_seconds}s", time.monotonic() - started
    output = result.stdout.strip()
    if result.returncode != 0:
        output += "\n" + result.stderr.strip()[-3000:]
    return result.returncode == 0, output, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description="Run every benchmark and record the figures.")
    parser.add_argument(
        "--only", default="", help="comma-separated names: " + ", ".join(b.name for b in BENCHMARKS)
    )
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = wanted - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    selected = [b for b in BENCHMARKS if not wanted or b.name in wanted]

    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`scripts/bench.py`).",
        "",
        *machine(),
        "",
    ]
    failures = 0
    for benchmark in selected:
        print(f"== {benchmark.name}: {benchmark.title}", flush=True)
        ok, output, seconds = run(benchmark)
        print(output, flush=True)
        failures += 0 if ok else 1
        status = "" if ok else " — **failed**"
        lines += [
            f"## {benchmark.title}{status}",
            "",
            f"`{' '.join(benchmark.argv[1:])}` ({seconds:.0f} s)",
            "",
            "```",
            output,
            "```",
            "",
        ]
    Path(args.output).write_text("\n".join(lines))
    print(f"wrote {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
