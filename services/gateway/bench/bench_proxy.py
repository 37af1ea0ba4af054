"""REST proxy overhead: the same requests straight to an upstream and through ``nova-gateway``.

    python services/gateway/bench/bench_proxy.py [--duration 5] [--concurrency 16] [--json]

Starts, on free loopback ports, a small upstream (uvicorn in its own process, a fixed 1 KiB JSON
answer) and a real ``nova-gateway serve`` routing ``/api/bench`` to it, then runs the same
``wrk`` load (``scripts/loadgen.py``) against each for ``--duration`` seconds and reports
requests per second, p50/p99, errors, CPU per request and peak RSS of the gateway and the
upstream, and the ratio proxied / direct. At saturation a p50 is about connections divided by
throughput, so the p50 overhead there mostly restates the throughput; the latency the gateway
adds to a request is reported apart, under load below saturation ("paced": the same connections,
each pausing between its requests — for random times, exponentially distributed, so that they
do not fall into step and arrive in bursts — so that together they offer about half the
throughput the gateway reached at saturation, or ``--pace-ms`` on average, to each for the
same duration) and from one
connection sending one request at a time for up to 5 s to each ("unloaded"). Bounded in time,
loopback only. Redis comes from ``NOVA_BENCH_REDIS_URL`` / ``NOVA_TEST_REDIS_URL`` or an
embedded server (rate limits stay on, as in production, with a per-client limit far above what
one run sends).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from nova_kit.embedded import EmbeddedRedis, free_port
from nova_kit.testing.processes import ServiceProcess

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
import benchstack
import loadgen

ROOT = Path(__file__).resolve().parents[3]
SUPERGRAPH = ROOT / "services" / "gateway" / "tests" / "fixtures" / "supergraph.graphql"
BODY = json.dumps({"id": "42", "padding": "x" * 1000}).encode()
RATE_LIMIT = 10_000_000  # per client: the limiter runs, never refuses


async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def start_upstream(port: int, log: Path) -> subprocess.Popen[bytes]:
    """This script with ``--serve-upstream``: the upstream in its own process, measured alone."""
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - this script
            [sys.executable, __file__, "--serve-upstream", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the upstream exited:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return process
        if time.monotonic() > deadline:
            raise RuntimeError("the upstream did not start")
        time.sleep(0.1)


def serve_upstream(port: int) -> None:
    uvicorn.run(
        upstream, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )


def gateway_environment(port: int, redis_url: str, upstream_url: str) -> dict[str, str]:
    """``nova-gateway serve``'s settings here: ``/api/bench`` routed to ``upstream_url``,
    anonymous reads, rate limits on (far above what a run sends)."""
    return {
        "NOVA_ENVIRONMENT": "test",
        "NOVA_GATEWAY_PORT": str(port),
        "NOVA_GATEWAY_REDIS_URL": redis_url,
        "NOVA_GATEWAY_SUPERGRAPH": str(SUPERGRAPH),
        "NOVA_GATEWAY_SUPERGRAPH_POLL_SECONDS": "0",
        "NOVA_GATEWAY_ROUTES": json.dumps({"/api/bench": upstream_url}),
        "NOVA_GATEWAY_ANONYMOUS_ROUTES": '["GET /api/bench/*"]',
        "NOVA_GATEWAY_RATE_LIMIT_PER_CLIENT": str(RATE_LIMIT),
        "NOVA_GATEWAY_LOG_LEVEL": "WARNING",
    }


def phase(
    url: str,
    path: str,
    pids: dict[str, int],
    args: argparse.Namespace,
    duration: float,
    *,
    connections: int | None = None,
    delay_ms: int = 0,
) -> dict[str, Any]:
    """wrk against ``url`` (``args.concurrency`` connections unless ``connections`` says, each
    pausing between requests for random times of mean ``delay_ms``, so that they do not arrive
    in step); the usage of each process tree in ``pids``."""
    requests = [loadgen.Request("GET", path)]
    with contextlib.ExitStack() as stack:
        usages = {
            name: stack.enter_context(loadgen.UsageSampler(pid)) for name, pid in pids.items()
        }
        load = loadgen.run_wrk(
            url,
            requests,
            duration=duration,
            connections=connections or args.concurrency,
            threads=args.threads,
            timeout=args.timeout,
            delay_ms=delay_ms,
            random_delay=delay_ms > 0,
        )
    return {
        **load.as_dict(),
        "usage": {
            name: {
                "cpu_ms_per_request": usage.cpu_ms_per_request(load.requests),
                "rss_peak_mib": usage.peak_rss_mib,
                "rss_after_mib": usage.rss_after_mib,
            }
            for name, usage in usages.items()
        },
    }


def half_load_pause_ms(connections: int, saturated_rps: float) -> int:
    """Each connection's pause (ms) for ``connections`` together to offer about half of
    ``saturated_rps`` (the time a request takes is small beside the pause)."""
    if saturated_rps <= 0:
        return 1000
    return min(max(round(connections * 1000 / (saturated_rps / 2)), 1), 1000)


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    f = loadgen.fmt
    print(
        f"wrk: {args.concurrency} connections, {args.threads} thread(s), "
        f"{figures['duration_seconds']:g} s per phase after a warm-up; GET of a 1 KiB JSON "
        "answer; CPU and RSS per process tree.\n"
    )
    print(
        "| path | req/s | p50 ms | p99 ms | errors | gateway CPU ms/req | gateway RSS peak MiB "
        "| upstream CPU ms/req | upstream RSS peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in (
        ("direct", figures["direct"]),
        ("through gateway", figures["through_gateway"]),
    ):
        usage = row["usage"]
        through = usage.get("gateway", {})
        print(
            f"| {name} | {f(row['requests_per_second'])} | {f(row['p50_ms'], 2)} | "
            f"{f(row['p99_ms'], 2)} | {row['errors']} | "
            f"{f(through.get('cpu_ms_per_request'), 3)} | {f(through.get('rss_peak_mib'))} | "
            f"{f(usage['upstream']['cpu_ms_per_request'], 3)} | "
            f"{f(usage['upstream']['rss_peak_mib'])} |"
        )
    print(
        f"\nproxied / direct: req/s x{figures['throughput_ratio']:.3f}; overhead p50 "
        f"{figures['overhead_p50_ms']:+.2f} ms, p99 {figures['overhead_p99_ms']:+.2f} ms"
    )
    paced = figures["paced"]
    print(
        f"paced ({args.concurrency} connections, each pausing {paced['pace_ms']} ms on average "
        "(exponentially distributed) between requests, about half the gateway's throughput at "
        "saturation): "
        f"{paced['direct_rps']:.0f} req/s direct, p50 {paced['direct_p50_ms']:.3f} ms; "
        f"{paced['through_gateway_rps']:.0f} req/s through the gateway, p50 "
        f"{paced['through_gateway_p50_ms']:.3f} ms; overhead p50 "
        f"{paced['overhead_p50_ms']:+.3f} ms, p99 {paced['overhead_p99_ms']:+.3f} ms"
    )
    alone = figures["unloaded"]
    print(
        f"unloaded (1 connection, one request at a time): p50 {alone['direct_p50_ms']:.3f} ms "
        f"direct, {alone['through_gateway_p50_ms']:.3f} ms through the gateway; overhead p50 "
        f"{alone['overhead_p50_ms']:+.3f} ms, p99 {alone['overhead_p99_ms']:+.3f} ms"
    )


def headlines(figures: dict[str, Any]) -> list[dict[str, Any]]:
    direct, proxied = figures["direct"], figures["through_gateway"]
    gateway_usage = proxied["usage"]["gateway"]
    return [
        {
            "benchmark": "gateway-proxy",
            "figure": "REST through nova-gateway",
            "rps": proxied["requests_per_second"],
            "p50_ms": proxied["p50_ms"],
            "p99_ms": proxied["p99_ms"],
            "errors": proxied["errors"],
            "rss_mib": gateway_usage["rss_peak_mib"],
            "note": f"x{figures['throughput_ratio']:.3f} of direct (req/s), "
            f"p50 {figures['overhead_p50_ms']:+.2f} ms at saturation, "
            f"{figures['paced']['overhead_p50_ms']:+.2f} ms at about half of it",
        },
        {
            "benchmark": "gateway-proxy",
            "figure": "REST direct to the upstream",
            "rps": direct["requests_per_second"],
            "p50_ms": direct["p50_ms"],
            "p99_ms": direct["p99_ms"],
            "errors": direct["errors"],
            "rss_mib": direct["usage"]["upstream"]["rss_peak_mib"],
        },
    ]


def metrics(figures: dict[str, Any]) -> dict[str, float]:
    """The measured figures by name, for the table of targets."""
    proxied, direct = figures["through_gateway"], figures["direct"]
    return {
        "gateway-proxy.gateway_cpu_ms": proxied["usage"]["gateway"]["cpu_ms_per_request"],
        "gateway-proxy.overhead_p50_ms": figures["overhead_p50_ms"],
        "gateway-proxy.overhead_p99_ms": figures["overhead_p99_ms"],
        "gateway-proxy.rps": proxied["requests_per_second"],
        "gateway-proxy.direct_rps": direct["requests_per_second"],
        "gateway-proxy.errors": proxied["errors"] + direct["errors"] + figures["paced"]["errors"],
        "gateway-proxy.unloaded_overhead_p50_ms": figures["unloaded"]["overhead_p50_ms"],
        "gateway-proxy.paced_overhead_p50_ms": figures["paced"]["overhead_p50_ms"],
        "gateway-proxy.paced_rps": figures["paced"]["through_gateway_rps"],
    }


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase (max 60)")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections (max 256)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--timeout", type=float, default=10.0, help="wrk's request timeout, s")
    parser.add_argument(
        "--pace-ms",
        type=int,
        default=0,
        help="the paced phases: each connection's mean pause between requests, ms (1-1000; "
        "default: the pause that offers half the gateway's throughput at saturation)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--summary", type=Path, default=None, help="write headline rows as JSON")
    parser.add_argument("--serve-upstream", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return 0
    duration = min(max(args.duration, 1.0), 60.0)
    args.concurrency = min(max(args.concurrency, 1), 256)
    if args.pace_ms:
        args.pace_ms = min(max(args.pace_ms, 1), 1000)
    loadgen.wrk_binary()  # fails early, with the install hint, when wrk is missing

    redis_url = os.environ.get("NOVA_BENCH_REDIS_URL") or os.environ.get("NOVA_TEST_REDIS_URL")
    if redis_url:
        redis_url = benchstack.dedicated_redis(redis_url)  # the benchmarks' own, emptied
    workdir = Path(tempfile.mkdtemp(prefix="nova-bench-proxy-"))
    embedded = None
    if not redis_url:
        embedded = EmbeddedRedis(workdir / "redis", persist=False)
        embedded.start()
        redis_url = embedded.url
    upstream_port, gateway_port = free_port(), free_port()
    upstream_process = start_upstream(upstream_port, workdir / "upstream.log")
    gateway = ServiceProcess(
        "gateway",
        [str(Path(sys.executable).parent / "nova-gateway"), "serve"],
        gateway_environment(gateway_port, redis_url, f"http://127.0.0.1:{upstream_port}"),
        workdir / "gateway.log",
        f"http://127.0.0.1:{gateway_port}",
    )
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    path = "/api/bench/items"
    try:
        gateway.start().wait_until_ready(timeout=60)
        phase(upstream_url, path, {}, args, 1.0)  # warm-up
        phase(gateway.base_url or "", path, {}, args, 1.0)
        direct = phase(upstream_url, path, {"upstream": upstream_process.pid}, args, duration)
        proxied = phase(
            gateway.base_url or "",
            path,
            {"gateway": gateway.pid, "upstream": upstream_process.pid},
            args,
            duration,
        )
        # The latency the gateway adds to a request, which the figures above (p50 at saturation
        # ~ connections / throughput) do not show: under load below saturation (the same
        # connections, each pausing between requests), and one request at a time.
        args.pace_ms = args.pace_ms or half_load_pause_ms(
            args.concurrency, proxied["requests_per_second"]
        )
        paced_direct = phase(upstream_url, path, {}, args, duration, delay_ms=args.pace_ms)
        paced_proxied = phase(
            gateway.base_url or "", path, {}, args, duration, delay_ms=args.pace_ms
        )
        unloaded = min(duration, 5.0)
        direct_alone = phase(upstream_url, path, {}, args, unloaded, connections=1)
        proxied_alone = phase(gateway.base_url or "", path, {}, args, unloaded, connections=1)
    finally:
        gateway.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(upstream_process.pid, signal.SIGTERM)
        try:
            upstream_process.wait(15)
        except subprocess.TimeoutExpired:
            upstream_process.kill()
            upstream_process.wait(5)
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    figures = {
        "direct": direct,
        "through_gateway": proxied,
        "overhead_p50_ms": round(proxied["p50_ms"] - direct["p50_ms"], 3),
        "overhead_p99_ms": round(proxied["p99_ms"] - direct["p99_ms"], 3),
        "throughput_ratio": round(proxied["requests_per_second"] / direct["requests_per_second"], 3)
        if direct["requests_per_second"]
        else 0.0,
        "concurrency": args.concurrency,
        "duration_seconds": duration,
        "paced": {
            "pace_ms": args.pace_ms,
            "direct_rps": paced_direct["requests_per_second"],
            "direct_p50_ms": paced_direct["p50_ms"],
            "through_gateway_rps": paced_proxied["requests_per_second"],
            "through_gateway_p50_ms": paced_proxied["p50_ms"],
            "overhead_p50_ms": round(paced_proxied["p50_ms"] - paced_direct["p50_ms"], 3),
            "overhead_p99_ms": round(paced_proxied["p99_ms"] - paced_direct["p99_ms"], 3),
            "errors": paced_direct["errors"] + paced_proxied["errors"],
        },
        "unloaded": {
            "direct_p50_ms": direct_alone["p50_ms"],
            "through_gateway_p50_ms": proxied_alone["p50_ms"],
            "overhead_p50_ms": round(proxied_alone["p50_ms"] - direct_alone["p50_ms"], 3),
            "overhead_p99_ms": round(proxied_alone["p99_ms"] - direct_alone["p99_ms"], 3),
            "connections": 1,
        },
    }
    loadgen.write_summary(args.summary, headlines(figures), metrics(figures))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        report(figures, args)
    return 1 if direct["errors"] or proxied["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
