"""``make bench``: run every benchmark in the repository and write ``docs/benchmarks.md``.

Each benchmark starts what it measures on loopback, is bounded in time, puts its HTTP load on
``wrk`` (``scripts/loadgen.py``), prints its own tables and writes its headline rows to a JSON
file with its measured figures by name; this runner runs them one after another (never two at
once, so they do not share the machine's cores), stops any that outruns its timeout (its whole
process group), and writes the machine, a summary of the headline figures and ratios, the table
of performance targets (:data:`TARGETS`, each computed from those figures: goal, measured value,
PASS or MISS; printed at the end too), then every benchmark's tables. Figures are comparable only
within one run on one machine.

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
from collections.abc import Mapping, Sequence
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
        "GraphQL federation: nova-gateway against Hive Gateway, Apollo Gateway and Grafbase",
        [PYTHON, "services/gateway/bench/bench_gateway.py", "--duration", "10"],
        # the project case signs in a thousand accounts first (two Argon2id hashes each)
        timeout_seconds=1500,
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


@dataclass(frozen=True)
class Target:
    """A goal on one measured figure (``metric``), or on its ratio to another (``per``)."""

    label: str
    metric: str
    limit: float
    at_most: bool = True
    per: str | None = None
    unit: str = ""

    def value(self, metrics: Mapping[str, Any]) -> float | None:
        figure = number(metrics.get(self.metric))
        if figure is None or self.per is None:
            return figure
        base = number(metrics.get(self.per))
        return figure / base if base else None

    def goal(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.limit:g}{self.unit}"

    def verdict(self, metrics: Mapping[str, Any]) -> str:
        value = self.value(metrics)
        if value is None:
            return "MISS (not measured)"
        met = value <= self.limit if self.at_most else value >= self.limit
        return "PASS" if met else "MISS"


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, NaN, not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


FIXTURE_QUERIES = ("one-subgraph", "entities-3-hops", "requires-compound-key")
TARGETS = (
    Target(
        "gateway one-subgraph, CPU ms/req",
        "gateway.fixture.nova.one-subgraph.cpu_ms",
        0.25,
        unit=" ms",
    ),
    Target(
        "gateway entities-3-hops, CPU ms/req",
        "gateway.fixture.nova.entities-3-hops.cpu_ms",
        0.6,
        unit=" ms",
    ),
    *(
        Target(
            f"gateway {query}, CPU/req nova ÷ Grafbase",
            f"gateway.fixture.nova.{query}.cpu_ms",
            2.0,
            per=f"gateway.fixture.grafbase.{query}.cpu_ms",
            unit="x",
        )
        for query in FIXTURE_QUERIES
    ),
    Target(
        "gateway one-subgraph, req/s at 64 connections ÷ at 16",
        "gateway.fixture.nova.one-subgraph@64.rps",
        1.0,
        at_most=False,
        per="gateway.fixture.nova.one-subgraph.rps",
        unit="x",
    ),
    Target(
        "REST through the gateway, gateway CPU ms/req",
        "gateway-proxy.gateway_cpu_ms",
        0.3,
        unit=" ms",
    ),
    # The latency the gateway adds, at the same offered load below saturation (16 connections,
    # random pauses, about half the gateway's saturated throughput). At saturation a p50 is
    # connections ÷ throughput, so the difference there restates the throughput (the summary
    # and bench_proxy's section print it too).
    Target(
        "REST through the gateway, p50 over direct at the same load (about half the gateway's "
        "saturation, 16 connections)",
        "gateway-proxy.paced_overhead_p50_ms",
        1.0,
        unit=" ms",
    ),
    Target("auth GET /api/auth/me, CPU ms/req", "auth.me.cpu_ms", 1.0, unit=" ms"),
    Target("users GET /api/users/me, CPU ms/req", "users.me.cpu_ms", 1.0, unit=" ms"),
    Target("auth refresh, CPU ms/req", "auth.refresh.cpu_ms", 1.5, unit=" ms"),
    Target("users PATCH /api/users/me, CPU ms/req", "users.patch.cpu_ms", 1.5, unit=" ms"),
    Target(
        "auth login req/s ÷ raw Argon2id hashes/s (same parameters and threads)",
        "auth.login.rps",
        0.9,
        at_most=False,
        per="auth.argon2.hashes_per_s",
    ),
    Target(
        "token verification with the revocation check, µs", "auth.verify.full_us", 150, unit=" µs"
    ),
    Target(
        "token verification, token verified before in the process, µs",
        "auth.verify.cached_us",
        15,
        unit=" µs",
    ),
    Target(
        "`me` through the gateway on the real services (16 accounts), req/s",
        "gateway.project.nova.project-me.rps",
        400,
        at_most=False,
    ),
    Target(
        "`me` through the gateway, a different account on every request, req/s",
        "gateway.project.nova.project-me-distinct.rps",
        400,
        at_most=False,
    ),
    Target("worker no-op tasks/s (concurrency 2)", "worker.noop.tasks_per_s", 1000, at_most=False),
    Target("worker e-mails/s to the SMTP sink", "worker.email.tasks_per_s", 300, at_most=False),
    Target("worker + beat RSS, MiB", "worker.rss_with_beat_mib", 200, unit=" MiB"),
)


def target_table(metrics: Mapping[str, Any], targets: Sequence[Target] = TARGETS) -> list[str]:
    """The Markdown table of every target: goal, measured value, PASS or MISS."""
    lines = ["| target | goal | measured | verdict |", "|---|---:|---:|---|"]
    for target in targets:
        value = target.value(metrics)
        shown = "-" if value is None else f"{value:.3g}" if value < 10 else f"{value:.0f}"
        lines.append(
            f"| {target.label} | {target.goal()} | {shown} | **{target.verdict(metrics)}** |"
        )
    return lines


def read_summary(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(headline rows, metrics) of one benchmark's summary file."""
    document = json.loads(path.read_text())
    if isinstance(document, list):
        return document, {}
    return list(document.get("headlines", [])), dict(document.get("metrics", {}))


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
    metrics: dict[str, Any] = {}
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
                rows, figures = read_summary(summary)
                headlines += rows
                metrics |= figures
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
    targets = target_table(metrics)
    lines += [
        "## Targets",
        "",
        "Computed from the figures the benchmarks wrote (a target whose figure is missing, "
        "because its benchmark was not run or failed, is a MISS).",
        "",
        *targets,
        "",
    ]
    print("\n".join(["", "Targets:", *targets]), flush=True)
    Path(args.output).write_text("\n".join(lines + sections))
    print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
