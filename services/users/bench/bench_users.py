"""Throughput and latency of nova-users' hottest routes, against a real ``nova-users serve``.

    .venv/bin/python services/users/bench/bench_users.py [--duration 5] [--concurrency 16]
        [--users 50] [--workers 1,2] [--json] [--summary headlines.json]

Starts (all on 127.0.0.1): PostgreSQL and Redis (embedded, in a temporary directory, unless
``NOVA_BENCH_DATABASE_URL`` / ``NOVA_BENCH_REDIS_URL`` name servers to use; the ``users`` schema
of that database is migrated and written to), a JWKS endpoint with a fresh Ed25519 key, and
``nova-users serve``. Every profile is created first (one read each, a bounded Python client),
then ``wrk`` (``scripts/loadgen.py``) measures ``GET /api/users/me`` (read) and ``PATCH
/api/users/me`` (write) with ``--concurrency`` connections for ``--duration`` seconds each,
rotating over the users' Bearer tokens, and it prints req/s, p50/p99, errors and the service's
CPU per request and peak RSS (``--json`` for a machine-readable line). The read is measured again
with the service started with each other process count of ``--workers`` (``NOVA_USERS_WORKERS``,
the services' process-count setting): the ``processes`` column counts the process tree really
measured. Every phase is bounded in time; everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from nova_kit.embedded import free_port
from nova_kit.testing.tokens import JWKSServer, TokenFactory

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
import benchstack
import loadgen

DATABASE = "nova_users_bench_test"

BIN = Path(sys.executable).parent


@contextlib.contextmanager
def users_service(env: dict[str, str], port: int, log: Path) -> Iterator[tuple[str, int]]:
    migrate = subprocess.run(  # noqa: S603 - our own console script
        [str(BIN / "nova-users"), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if migrate.returncode != 0:
        raise SystemExit(f"nova-users migrate failed:\n{migrate.stdout}{migrate.stderr}")
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [str(BIN / "nova-users"), "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"nova-users exited early:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"nova-users not ready after 30 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base_url, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def phase(
    name: str, base_url: str, pid: int, tokens: list[str], args: argparse.Namespace, *, write: bool
) -> dict[str, Any]:
    requests = [
        loadgen.Request(
            "PATCH" if write else "GET",
            "/api/users/me",
            json.dumps({"bio": f"bench {index}"}) if write else None,
            {"Authorization": f"Bearer {token}"}
            | ({"Content-Type": "application/json"} if write else {}),
        )
        for index, token in enumerate(tokens)
    ]
    with loadgen.UsageSampler(pid) as usage:
        load = loadgen.run_wrk(
            base_url,
            requests,
            duration=args.duration,
            connections=args.concurrency,
            timeout=args.timeout,
        )
    return {
        "phase": name,
        **load.as_dict(),
        "cpu_ms_per_request": usage.cpu_ms_per_request(load.requests),
        "rss_peak_mib": usage.peak_rss_mib,
        "rss_after_mib": usage.rss_after_mib,
    }


def measure(
    base_url: str, pid: int, tokens: list[str], args: argparse.Namespace, *, workers: int
) -> list[dict[str, Any]]:
    """The read and write phases (with ``workers`` 1), or the read phase alone (any other)."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for token in tokens:  # creates every profile (the first-read upsert)
            response = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
            response.raise_for_status()
    loadgen.run_wrk(  # warm-up: the pools fill
        base_url,
        [loadgen.Request("GET", "/api/users/me", headers={"Authorization": f"Bearer {tokens[0]}"})],
        duration=1,
        connections=args.concurrency,
        timeout=args.timeout,
    )
    processes = len(loadgen.process_tree(pid))
    read = phase(
        f"read GET /api/users/me, {workers} process(es)", base_url, pid, tokens, args, write=False
    )
    read |= {"workers": workers, "processes": processes}
    if workers != 1:
        return [read]
    write = phase("write PATCH /api/users/me", base_url, pid, tokens, args, write=True)
    return [read, write | {"workers": workers, "processes": processes}]


def figures(summaries: list[dict[str, Any]]) -> dict[str, float]:
    """The measured figures by name, for the table of targets."""
    metrics: dict[str, float] = {}
    for summary in summaries:
        name = "patch" if summary["phase"].startswith("write") else "me"
        keys = [f"users.{name}.workers{summary['workers']}"]
        if summary["workers"] == 1:
            keys.append(f"users.{name}")
        for key in keys:
            metrics |= {
                f"{key}.rps": summary["requests_per_second"],
                f"{key}.cpu_ms": summary["cpu_ms_per_request"],
                f"{key}.p50_ms": summary["p50_ms"],
                f"{key}.errors": summary["errors"],
                f"{key}.processes": summary["processes"],
            }
    return metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase (max 60)")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections (max 128)")
    parser.add_argument("--timeout", type=float, default=10.0, help="wrk's request timeout, s")
    parser.add_argument("--summary", type=Path, default=None, help="write headline rows as JSON")
    parser.add_argument("--users", type=int, default=50, help="distinct users (max 1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="server process counts to measure the read with (NOVA_USERS_WORKERS), e.g. 1,2",
    )
    args = parser.parse_args()
    try:
        args.workers = list(dict.fromkeys(int(n) for n in args.workers.split(",") if n.strip()))
    except ValueError:
        parser.error(f"--workers: expected numbers like 1,2, got {args.workers!r}")
    if not args.workers or not all(1 <= n <= 16 for n in args.workers):
        parser.error("--workers: between 1 and 16 processes")
    if 1 not in args.workers:
        args.workers.insert(0, 1)
    args.duration = min(max(args.duration, 0.5), 60.0)
    args.concurrency = min(max(args.concurrency, 1), 128)
    args.users = min(max(args.users, 1), 1000)
    loadgen.wrk_binary()  # fails early, with the install hint, when wrk is missing

    factory = TokenFactory()
    tokens = [factory.mint(str(uuid.uuid4()), lifetime=900) for _ in range(args.users)]
    with tempfile.TemporaryDirectory(prefix="nova-users-bench-") as tmp:
        workdir = Path(tmp)
        with (
            benchstack.data_services(workdir, DATABASE) as (database_url, redis_url),
            JWKSServer(factory.jwks()) as jwks,
        ):
            base_env = {
                **os.environ,
                "NOVA_ENVIRONMENT": "test",
                "NOVA_USERS_DATABASE_URL": database_url,
                "NOVA_USERS_REDIS_URL": redis_url,
                "NOVA_USERS_JWKS_URL": jwks.url,
                "NOVA_USERS_LOG_LEVEL": "WARNING",
                "NOVA_USERS_DB_POOL_SIZE": str(min(args.concurrency, 20)),
            }
            summaries: list[dict[str, Any]] = []
            for workers in args.workers:
                # the server's process count (the shared setting NOVA_WORKERS, per service
                # NOVA_USERS_WORKERS); the "processes" column shows the tree really measured
                env = base_env | {"NOVA_USERS_WORKERS": str(workers)}
                with users_service(env, free_port(), workdir / "users.log") as (base_url, pid):
                    summaries += measure(base_url, pid, tokens, args, workers=workers)

    loadgen.write_summary(
        args.summary,
        [
            {
                "benchmark": "users",
                "figure": summary["phase"],
                "rps": summary["requests_per_second"],
                "p50_ms": summary["p50_ms"],
                "p99_ms": summary["p99_ms"],
                "errors": summary["errors"],
                "rss_mib": summary["rss_peak_mib"],
            }
            for summary in summaries
        ],
        figures(summaries),
    )
    if args.json:
        print(
            json.dumps({"service": "users", "concurrency": args.concurrency, "results": summaries})
        )
    else:
        f = loadgen.fmt
        print(
            f"nova-users: wrk, {args.concurrency} connections, {args.duration:g} s per phase, "
            f"{args.users} users' tokens in rotation; CPU and RSS of the service's process tree\n"
        )
        print(
            "| phase | processes | requests | req/s | p50 ms | p99 ms | errors | CPU ms/req "
            "| RSS peak MiB |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for summary in summaries:
            print(
                f"| {summary['phase']} | {summary['processes']} | {summary['requests']} | "
                f"{f(summary['requests_per_second'])} | {f(summary['p50_ms'], 2)} | "
                f"{f(summary['p99_ms'], 2)} | {summary['errors']} | "
                f"{f(summary['cpu_ms_per_request'], 2)} | {f(summary['rss_peak_mib'])} |"
            )
    return 1 if any(summary["errors"] for summary in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
