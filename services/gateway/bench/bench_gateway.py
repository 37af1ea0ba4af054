"""Benchmark nova-gateway against Hive Gateway and Apollo Gateway on the same supergraph.

    python services/gateway/bench/bench_gateway.py [--routers nova,hive,apollo]
        [--duration 10] [--concurrency 16] [--output results.json]

The fixture subgraphs of the conformance suite run in their own process; each router runs alone
(one at a time) on loopback, gets a warm-up, then a closed-loop load of ``--concurrency``
clients per query for ``--duration`` seconds. Every router's responses are compared with
nova-gateway's before the load starts, so a faster wrong answer cannot win.

Hive Gateway and Apollo Gateway come from ``bench/node`` (``npm ci --prefix
services/gateway/bench/node``); a router whose files are missing is skipped with a message.
Numbers are only comparable between routers of one run on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
NODE_DIR = BENCH / "node"
FIXTURE_SUPERGRAPH = BENCH.parent / "tests" / "fixtures" / "supergraph.graphql"

QUERIES = {
    "one-subgraph": "{ me { name username } }",
    "entities-3-hops": "{ topProducts { name reviews { body author { username name } } } }",
    "requires-compound-key": ("{ reviews { body product { name inStock shippingEstimate } } }"),
}


# Compared across routers before any load (not timed): one per federation feature.
CROSS_CHECK = {
    **QUERIES,
    "provides": "{ reviews { id author { username } } }",
    "override": "{ users { nickname } }",
    "unresolvable-key": "{ me { favoriteProduct { upc name } } }",
    "union": '{ search(text: "a") { __typename ... on Product { name inStock } '
    "... on User { username name } } }",
    "interface-object": "{ media { __typename title rating ... on Book { author } "
    "... on Movie { director } } }",
    "fragments-aliases": '{ first: product(upc: "1") { ...P reviews { id } } '
    'second: product(upc: "3") { ... on Product { upc } title: name kind: __typename } } '
    "fragment P on Product { upc title: name }",
    "alias-named-like-key": '{ product(upc: "3") { upc: name sku: brand inStock '
    "reviews { body } } }",
    "non-null-propagation": '{ product(upc: "4") { name inStock } }',
    # renames to the current names: every router sees the same data
    "mutation-order": 'mutation { a: renameUser(id: "2", name: "Alan Turing") { name } '
    'b: renameUser(id: "1", name: "Ada Lovelace") { name reviews { id } } }',
}


@dataclass
class Result:
    router: str
    query: str
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    """CPU time the router's processes spent per request (user + system): the number least
    disturbed by other load on the machine."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def router_command(name: str, supergraph: Path, port: int) -> list[str] | None:
    if name == "nova":
        return [
            str(Path(sys.executable).parent / "nova-gateway"),
            "serve",
            "--supergraph",
            str(supergraph),
            "--port",
            str(port),
        ]
    node = shutil.which("node")
    if node is None:
        print(f"skipping {name}: node is not installed", file=sys.stderr)
        return None
    if name == "hive":
        binary = NODE_DIR / "node_modules" / ".bin" / "hive-gateway"
        if not binary.exists():
            print("skipping hive: run npm ci --prefix services/gateway/bench/node", file=sys.stderr)
            return None
        return [
            str(binary),
            "supergraph",
            str(supergraph),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    if name == "apollo":
        if not (NODE_DIR / "node_modules" / "@apollo" / "gateway").exists():
            print(
                "skipping apollo: run npm ci --prefix services/gateway/bench/node", file=sys.stderr
            )
            return None
        return [node, str(NODE_DIR / "apollo_gateway.mjs"), str(supergraph), str(port)]
    raise SystemExit(f"unknown router {name}")


def router_environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NOVA_")}
    environment.update(
        {
            "NOVA_GATEWAY_LOG_LEVEL": "WARNING",
            "NOVA_GATEWAY_SUPERGRAPH_POLL_SECONDS": "0",
            "NOVA_GATEWAY_INTROSPECTION": "false",
            "APOLLO_TELEMETRY_DISABLED": "1",
            "NODE_ENV": "production",
        }
    )
    return environment


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"router exited with {process.returncode}")
            try:
                response = client.post(url, json={"query": "{ __typename }"})
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"router at {url} did not start")


async def load(url: str, query: str, duration: float, concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits, trust_env=False) as client:

        async def worker() -> None:
            nonlocal errors
            body = {"query": query}
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                try:
                    response = await client.post(url, json=body)
                    ok = response.status_code == 200 and "errors" not in response.json()
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += 0 if ok else 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def process_tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / ticks
    total = 0.0
    for pid, seconds in times.items():
        current = pid
        while current not in (0, 1) and current != root:
            current = parents.get(current, 0)
        if current == root:
            total += seconds
    return total


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def responses(url: str) -> dict[str, Any]:
    with httpx.Client(timeout=10, trust_env=False) as client:
        return {name: client.post(url, json={"query": q}).json() for name, q in CROSS_CHECK.items()}


def bench_router(
    name: str, supergraph: Path, duration: float, concurrency: int, reference: dict[str, Any] | None
) -> tuple[list[Result], dict[str, Any] | None]:
    port = free_port()
    command = router_command(name, supergraph, port)
    if command is None:
        return [], None
    process = subprocess.Popen(  # noqa: S603 - fixed commands
        command, env=router_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/graphql"
    results: list[Result] = []
    try:
        wait_ready(url, process)
        answers = responses(url)
        if reference is not None:
            same = [query for query, expected in reference.items() if answers[query] == expected]
            print(
                f"{name}: {len(same)}/{len(reference)} responses identical to nova's",
                file=sys.stderr,
            )
            for query, expected in reference.items():
                if answers[query] != expected:
                    print(
                        f"{name} differs from nova on {query}:\n  nova: {expected}\n"
                        f"  {name}: {answers[query]}",
                        file=sys.stderr,
                    )
        for query_name, query in QUERIES.items():
            asyncio.run(load(url, query, min(2.0, duration), concurrency))  # warm-up
            cpu_before = process_tree_cpu_seconds(process.pid)
            latencies, errors = asyncio.run(load(url, query, duration, concurrency))
            cpu = process_tree_cpu_seconds(process.pid) - cpu_before
            results.append(
                Result(
                    router=name,
                    query=query_name,
                    requests=len(latencies),
                    errors=errors,
                    seconds=duration,
                    requests_per_second=round(len(latencies) / duration, 1),
                    p50_ms=round(statistics.median(latencies) * 1000, 2) if latencies else 0.0,
                    p99_ms=round(percentile(latencies, 0.99) * 1000, 2),
                    cpu_ms_per_request=round(cpu * 1000 / max(1, len(latencies)), 3),
                )
            )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    return results, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routers", default="nova,hive,apollo")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--output", type=Path, default=None, help="write results as JSON")
    args = parser.parse_args()

    subgraphs = subprocess.Popen(  # noqa: S603 - fixed command
        [sys.executable, str(BENCH / "subgraphs.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert subgraphs.stdout is not None
        urls: dict[str, str] = json.loads(subgraphs.stdout.readline())
        text = FIXTURE_SUPERGRAPH.read_text()
        for name, url in urls.items():
            text = text.replace(f'url: "http://{name}/graphql"', f'url: "{url}"')
        with tempfile.TemporaryDirectory() as directory:
            supergraph = Path(directory) / "supergraph.graphql"
            supergraph.write_text(text)
            all_results: list[Result] = []
            reference: dict[str, Any] | None = None
            for router in args.routers.split(","):
                results, answers = bench_router(
                    router, supergraph, args.duration, args.concurrency, reference
                )
                if router == "nova":
                    reference = answers
                all_results += results
    finally:
        if subgraphs.stdin is not None:
            subgraphs.stdin.close()
        subgraphs.wait(timeout=15)

    print(f"concurrency {args.concurrency}, {args.duration:g}s per query")
    print("| router | query | req/s | p50 ms | p99 ms | router CPU ms/req | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in all_results:
        print(
            f"| {r.router} | {r.query} | {r.requests_per_second} | {r.p50_ms} | {r.p99_ms} | "
            f"{r.cpu_ms_per_request} | {r.errors} |"
        )
    if args.output is not None:
        args.output.write_text(json.dumps([asdict(r) for r in all_results], indent=2) + "\n")


if __name__ == "__main__":
    main()
