"""``make bench``: run every benchmark in the repository and write ``docs/benchmarks.md``.

Each benchmark starts what it measures on loopback, is bounded in time, puts its HTTP load on
``wrk`` (``scripts/loadgen.py``), prints its own tables and writes its headline rows to a JSON
file; this runner runs them one after another (never two at once, so they do not share the
machine's cores), stops any that outruns its timeout (its whole process group), and writes the
machine, a summary of the headline figures and ratios, then every benchmark's tables. Figures
are comparable only within one run on one machine.

    python scripts/bench.py [--only auth,gateway-proxy] [--output docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    argv: list[str]
    timeout_seconds: int = 600


BENCHMARKS = [
    Benchmark(
        "gateway",
        "GraphQL federation: nova-gateway against Hive Gateway and Apollo Gateway",
        [PYTHON, "services/gateway/bench/bench_gateway.py", "--duration", "10"],
        timeout_seconds=900,
    ),
    Benchmark(
        "gateway-proxy",
        "REST proxy overhead: direct vs through nova-gateway",
        [PYTHON, "services/gateway/bench/bench_proxy.py", "--duration", "10"],
    ),
    Benchmark(
        "auth",
        "auth: login, refresh, token verification",
        [PYTHON, "services/auth/bench/bench_auth.py", "--duration", "10"],
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


def version(argv: list[str]) -> str:
    """The first line ``argv`` prints (stdout or stderr), or "not installed"."""
    if shutil.which(argv[0]) is None:
        return "not installed"
    try:
        result = subprocess.run(  # noqa: S603 - fixed version commands
            argv, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].split(" Copyright")[0].strip() if lines else "unknown"


def machine() -> list[str]:
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("\n", 1)[0].split()[1])
        memory = f", {total_kib / 1024 / 1024:.1f} GiB memory"
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} cores ({cpu}){memory}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; node {version(['node', '--version'])}; "
        f"load generator: {version(['wrk', '--version'])}",
        f"- load average at start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)"
        " — other work on the machine disturbs the figures; CPU per request disturbs least",
    ]


def run(benchmark: Benchmark, summary: Path) -> tuple[bool, str, str, float]:
    """(succeeded, stdout, the tail of stderr, seconds); the group is killed at the timeout."""
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own benchmark scripts
        [*benchmark.argv, "--summary", str(summary)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=benchmark.timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        stderr = f"{stderr}\ntimed out after {benchmark.timeout_seconds}s"
        return False, stdout.strip(), stderr.strip()[-3000:], time.monotonic() - started
    with_errors = process.returncode != 0
    return not with_errors, stdout.strip(), stderr.strip()[-3000:], time.monotonic() - started


# The keys of the headline rows each benchmark writes (``loadgen.write_summary``), in order.
SUMMARY_FIELDS = ("benchmark", "figure", "rps", "p50_ms", "p99_ms", "errors", "rss_mib", "note")


def cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def summary_table(rows: list[dict[str, Any]]) -> list[str]:
    titles = {
        "benchmark": "benchmark",
        "figure": "figure",
        "rps": "req/s",
        "p50_ms": "p50 ms",
        "p99_ms": "p99 ms",
        "errors": "errors",
        "rss_mib": "RSS peak MiB",
        "note": "ratio / note",
    }
    lines = [
        "| " + " | ".join(titles[key] for key in SUMMARY_FIELDS) + " |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        cells = [cell(row.get(key), 2 if key.endswith("_ms") else 1) for key in SUMMARY_FIELDS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


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
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `make bench-deps` (or apt-get install -y wrk)")
        return 2

    head = machine()
    sections: list[str] = []
    headlines: list[dict[str, Any]] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nova-bench-") as directory:
        for benchmark in selected:
            print(f"== {benchmark.name}: {benchmark.title}", flush=True)
            summary = Path(directory) / f"{benchmark.name}.json"
            ok, output, errors, seconds = run(benchmark, summary)
            print(output, flush=True)
            if not ok:
                print(errors, file=sys.stderr, flush=True)
                failed.append(benchmark.name)
            if summary.exists():
                headlines += json.loads(summary.read_text())
            status = "" if ok else " — **failed**"
            sections += [
                f"## {benchmark.title}{status}",
                "",
                f"`{' '.join(benchmark.argv[1:])}` ({seconds:.0f} s, "
                f"timeout {benchmark.timeout_seconds} s)",
                "",
                output,
                "",
            ]
            if not ok:
                sections += ["```", errors, "```", ""]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`scripts/bench.py`): every benchmark on loopback, one at a "
        "time, HTTP load from `wrk`. RSS is the peak resident memory of the measured server's "
        "process tree, sampled during the load and after it.",
        "",
        *head,
        "",
        "## Summary",
        "",
        *summary_table(headlines),
        "",
    ]
    if failed:
        lines += [f"**Failed:** {', '.join(failed)} (see below).", ""]
    Path(args.output).write_text("\n".join(lines + sections))
    print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
