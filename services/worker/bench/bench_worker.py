"""Benchmark of nova-worker: task throughput and the end-to-end latency of ``user.registered``.

    python services/worker/bench/bench_worker.py [--noop 2000] [--emails 1000] [--registrations 30]
                                                 [--concurrency 2] [--json]

Phases (each bounded in count and time, loopback only):

1. no-op throughput: ``--noop`` ``nova.worker.ping`` tasks through a real ``nova-worker worker``;
2. e-mail throughput: ``--emails`` ``send_email`` tasks (distinct idempotency keys) delivered
   over SMTP to the in-process sink (its Maildir in memory where ``/dev/shm`` is, as a relay's
   disk is not the worker's: :func:`sink_maildir`), each logged in
   ``worker.email_deliveries``, after ``--email-warm-up`` untimed ones (the first opens the
   SMTP and database connections); the sink's own CPU per message (its thread in this
   process) is reported beside the worker's;
3. registration latency: ``--registrations`` sign-ups through a real ``nova-auth serve``; the
   time from the ``POST /api/auth/register`` to both the profile existing in ``nova-users serve``
   and the welcome e-mail being in the sink (skipped if auth or users are not installed).

PostgreSQL and Redis come from ``NOVA_BENCH_DATABASE_URL``/``NOVA_TEST_DATABASE_URL`` and
``NOVA_BENCH_REDIS_URL``/``NOVA_TEST_REDIS_URL`` (a ``nova_worker_bench_test`` database is
created there), or from embedded servers started in a temporary directory.

The load here is Python, not ``wrk``: tasks are published to Celery (a Redis broker), not sent
over HTTP, and the registration phase is a sequence of single sign-ups, each timed until its
effects arrive. The worker's process tree (the Celery parent and its prefork children) is
sampled for CPU per task and peak RSS (``scripts/loadgen.py``); a ``nova-worker beat`` runs
alongside, as deployed, and its peak RSS is reported with the worker's
(``worker_beat_rss_peak_mib``, the sum of the two peaks), and beside it the two's PSS at the
end of the phase (``worker_beat_pss_end_mib``: pages a prefork pool shares with its parent
counted once). ``--pool`` picks the worker's pool (threads, its default, or prefork).

``--profile LABEL`` also samples the worker's tree (``py-spy --subprocesses``, as ``make
profile`` does) during each throughput phase and writes a flame graph per phase and a
``README.md`` with the top functions to ``docs/perf/LABEL/``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from nova_kit.embedded import free_port
from nova_kit.events import create_celery_producer
from nova_kit.testing.backends import ensure_test_database_name
from nova_kit.testing.processes import ServiceProcess
from nova_worker.sink import SmtpSink

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
import benchstack
import loadgen

ROOT = Path(__file__).resolve().parents[3]


def _load_profile_script() -> Any:
    """``scripts/profile.py`` (``make profile``), by path: the standard library has a
    ``profile`` module of its own."""
    spec = importlib.util.spec_from_file_location("nova_profile", ROOT / "scripts" / "profile.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("scripts/profile.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


pyspy = _load_profile_script()

_PROCESS_FRAME = re.compile(r"(process \d+:)&quot;[^&<]*(?:&quot;|\.\.)")
PROFILE_SECONDS = 120  # an upper bound: py-spy is stopped when the phase ends

DATABASE = ensure_test_database_name("nova_worker_bench_test")
SCRIPTS = Path(sys.executable).parent
PASSWORD = "bench password for nova"  # noqa: S105 - the benchmark users' password


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 - our own console scripts
        argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{result.stdout}{result.stderr}")


def installed(name: str) -> bool:
    return (SCRIPTS / name).exists()


def metric(port: int, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        sample, _, value = line.rpartition(" ")
        found = ",".join(sorted(p for p in sample.partition("{")[2].rstrip("}").split(",") if p))
        if sample.partition("{")[0] == name and found == wanted:
            return float(value)
    return 0.0


def wait(check: Callable[[], bool], deadline: float, interval: float = 0.02) -> bool:
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def start_beat(workdir: Path, shared: dict[str, str]) -> ServiceProcess:
    """``nova-worker beat`` as deployed next to the worker; ready once its heartbeat exists."""
    heartbeat = workdir / "beat" / "heartbeat"
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    process = ServiceProcess(
        "beat",
        [str(SCRIPTS / "nova-worker"), "beat"],
        {
            **shared,
            "NOVA_WORKER_LOG_LEVEL": "WARNING",
            "NOVA_WORKER_BEAT_SCHEDULE_FILE": str(workdir / "beat" / "schedule"),
            "NOVA_WORKER_BEAT_HEARTBEAT_FILE": str(heartbeat),
        },
        workdir / "logs" / "beat.log",
    ).start()
    if not wait(heartbeat.exists, time.monotonic() + 90, interval=0.1):
        process.stop()
        raise RuntimeError("nova-worker beat wrote no heartbeat within 90 s")
    return process


MEMORY_FILESYSTEM = Path("/dev/shm")  # noqa: S108 - a tmpfs of our own, removed after the run


@contextmanager
def sink_maildir(workdir: Path) -> Iterator[Path]:
    """Where the sink keeps its Maildir: in memory (a directory of its own on ``/dev/shm``)
    where the machine has that tmpfs, else in ``workdir``. The sink stands in for a mail relay,
    which runs on other machines: its file system work (a file created, written and renamed
    per message: ~0.3 ms of CPU on a journalling disk, ~0.03 ms in memory) is not the worker's
    cost, and on the benchmark's shared cores it would be taken from the worker."""
    if not (MEMORY_FILESYSTEM.is_dir() and os.access(MEMORY_FILESYSTEM, os.W_OK)):
        yield workdir / "mail"
        return
    with tempfile.TemporaryDirectory(prefix="nova-worker-bench-mail-", dir=MEMORY_FILESYSTEM) as d:
        yield Path(d)


@dataclass
class Profiler:
    """py-spy on the worker's tree (the Celery process, and its prefork children), per phase."""

    directory: Path
    worker_pid: int
    sections: list[str] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str, title: str) -> Iterator[None]:
        raw = Path(tempfile.mkdtemp(prefix="nova-worker-profile-")) / f"{name}.txt"
        svg = self.directory / f"{name}.worker.svg"
        runs = [
            pyspy.py_spy(self.worker_pid, svg, "flamegraph", PROFILE_SECONDS, subprocesses=True),
            pyspy.py_spy(self.worker_pid, raw, "raw", PROFILE_SECONDS, subprocesses=True),
        ]
        try:
            yield
        finally:
            for run in runs:
                run.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            errors = b"".join(run.communicate(timeout=60)[1] for run in runs)
            # checked once both have exited: the second may still be writing its file
            if not svg.exists() or not raw.exists():
                raise RuntimeError(f"py-spy failed on the worker: {errors.decode()[-1000:]}")
        pyspy.retitle(svg, f"nova-worker, {title}: worker and its pool")
        # py-spy names each process by its command line, which holds the machine's paths
        svg.write_text(_PROCESS_FRAME.sub(r"\1 nova-worker worker", svg.read_text()))
        samples, rows = pyspy.top_functions(raw.read_text())
        self.sections += [
            f"## {title}",
            "",
            f"[{svg.name}]({svg.name}): {samples} samples at {pyspy.RATE_HZ} Hz over the worker's "
            "main process and its threads (or prefork children).",
            "",
        ]
        if samples:
            self.sections += pyspy.table("Top 10 by own time", rows[: pyspy.TOP], samples)
            self.sections += pyspy.table(
                "Top 10 by total time (below the pool's loop)", rows[pyspy.TOP :], samples
            )

    def write(self, label: str, results: list[dict[str, Any]], concurrency: int, pool: str) -> None:
        lines = [
            f"# Profiles: {label}",
            "",
            f"Written by `services/worker/bench/bench_worker.py --profile {label}` on "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores: `nova-worker "
            f"worker` ({pool}, concurrency {concurrency}) and `nova-worker beat` on loopback, "
            "py-spy sampling the worker's tree while each phase runs; percentages are of all "
            "the tree's samples (idle processes included).",
            "",
            "| phase | tasks | tasks/s | CPU ms/task | worker RSS MiB | worker+beat RSS MiB "
            "| worker+beat PSS MiB |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in results:
            if "tasks" in row:
                lines.append(
                    f"| {row['phase']} | {row['tasks']} | {row['tasks_per_second']} | "
                    f"{row['cpu_ms_per_task']} | {row['rss_peak_mib']} | "
                    f"{row.get('worker_beat_rss_peak_mib', '')} | "
                    f"{row.get('worker_beat_pss_end_mib', '')} |"
                )
        (self.directory / "README.md").write_text("\n".join([*lines, "", *self.sections]))


def thread_cpu_seconds(native_id: int | None) -> float:
    """CPU seconds (user + system) of one thread of this process, from ``/proc``."""
    if native_id is None:
        return 0.0
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(
    name: str,
    count: int,
    publish: Callable[[int], None],
    done: Callable[[], bool],
    limit: float,
    *,
    worker_pid: int,
    beat_pid: int | None = None,
    sink_thread: int | None = None,
    interval: float = 0.05,
) -> dict[str, Any]:
    """``count`` tasks published, then ``done`` polled every ``interval`` seconds until it holds
    (or ``limit`` seconds pass): a check that scrapes the worker's metrics costs the worker CPU,
    so it polls slowly; one reading a counter of this process polls often, for a sharper end."""
    with ExitStack() as samplers:
        usage = samplers.enter_context(loadgen.UsageSampler(worker_pid))
        beat = samplers.enter_context(loadgen.UsageSampler(beat_pid)) if beat_pid else None
        sink_before = thread_cpu_seconds(sink_thread)
        started = time.perf_counter()
        for index in range(count):
            publish(index)
        published = time.perf_counter() - started
        finished = wait(done, time.monotonic() + limit, interval=interval)
        elapsed = time.perf_counter() - started
        sink_cpu = thread_cpu_seconds(sink_thread) - sink_before
    pss = loadgen.tree_pss_bytes(worker_pid) + (loadgen.tree_pss_bytes(beat_pid) if beat_pid else 0)
    row = {
        "phase": name,
        "tasks": count,
        "completed": finished,
        "publish_seconds": round(published, 3),
        "seconds": round(elapsed, 3),
        "tasks_per_second": round(count / elapsed, 1),
        "cpu_ms_per_task": usage.cpu_ms_per_request(count),
        "rss_peak_mib": usage.peak_rss_mib,
    }
    if sink_thread is not None:
        row["sink_cpu_ms_per_message"] = round(sink_cpu * 1000 / count, 2)
    if beat is not None:
        row["beat_rss_peak_mib"] = beat.peak_rss_mib
        row["worker_beat_rss_peak_mib"] = round(usage.peak_rss_mib + beat.peak_rss_mib, 1)
    # PSS beside RSS (the target is RSS): RSS counts a prefork pool's shared pages per process.
    row["worker_beat_pss_end_mib"] = round(pss / 2**20, 1)
    return row


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noop", type=int, default=2000)
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument(
        "--email-warm-up", type=int, default=20, help="untimed e-mails sent before the phase"
    )
    parser.add_argument("--registrations", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--pool", choices=["threads", "prefork"], default="threads", help="the worker's pool"
    )
    parser.add_argument("--phase-timeout", type=float, default=180.0)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--summary", type=Path, default=None, help="write headline rows as JSON")
    parser.add_argument(
        "--profile",
        default="",
        metavar="LABEL",
        help="py-spy flame graphs of the throughput phases in docs/perf/LABEL",
    )
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    processes: list[ServiceProcess] = []

    with tempfile.TemporaryDirectory(prefix="nova-worker-bench-") as raw, ExitStack() as stack:
        workdir = Path(raw)
        database_url, redis_url = stack.enter_context(benchstack.data_services(workdir, DATABASE))
        sink = stack.enter_context(
            SmtpSink(stack.enter_context(sink_maildir(workdir)), port=free_port())
        )
        memory = sink.maildir.is_relative_to(MEMORY_FILESYSTEM)
        sink_storage = "in memory (tmpfs)" if memory else "on disk"
        shared = {"NOVA_ENVIRONMENT": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        run([str(SCRIPTS / "nova-worker"), "migrate"], shared)
        with_services = installed("nova-auth") and installed("nova-users")
        auth_port, users_port, metrics_port = free_port(), free_port(), free_port()

        def start(name: str, argv: list[str], env: dict[str, str], port: int) -> ServiceProcess:
            process = ServiceProcess(
                name,
                argv,
                {**shared, **env},
                workdir / "logs" / f"{name}.log",
                f"http://127.0.0.1:{port}",
            ).start()
            processes.append(process)
            process.wait_until_ready("/ready", 90)
            return process

        try:
            if with_services:
                run([str(SCRIPTS / "nova-auth"), "migrate"], shared)
                run([str(SCRIPTS / "nova-users"), "migrate"], shared)
                start(
                    "auth",
                    [str(SCRIPTS / "nova-auth"), "serve", "--port", str(auth_port)],
                    {
                        "NOVA_AUTH_LOG_LEVEL": "WARNING",
                        "NOVA_AUTH_REGISTER_LIMIT_PER_CLIENT": "100000",
                    },
                    auth_port,
                )
                start(
                    "users",
                    [str(SCRIPTS / "nova-users"), "serve", "--port", str(users_port)],
                    {
                        "NOVA_USERS_LOG_LEVEL": "WARNING",
                        "NOVA_USERS_JWKS_URL": f"http://127.0.0.1:{auth_port}/.well-known/jwks.json",
                    },
                    users_port,
                )
            worker = start(
                "worker",
                [
                    str(SCRIPTS / "nova-worker"),
                    "worker",
                    "--concurrency",
                    str(args.concurrency),
                    "--pool",
                    args.pool,
                ],
                {
                    "NOVA_WORKER_LOG_LEVEL": "WARNING",
                    "NOVA_WORKER_METRICS_PORT": str(metrics_port),
                    "NOVA_WORKER_METRICS_HOST": "127.0.0.1",
                    "NOVA_WORKER_METRICS_DIR": str(workdir / "metrics"),
                    "NOVA_WORKER_HEARTBEAT_FILE": str(workdir / "heartbeat"),
                    "NOVA_WORKER_SMTP_HOST": sink.host,
                    "NOVA_WORKER_SMTP_PORT": str(sink.port),
                    "NOVA_WORKER_AUTH_URL": f"http://127.0.0.1:{auth_port}",
                    "NOVA_WORKER_USERS_URL": f"http://127.0.0.1:{users_port}",
                },
                metrics_port,
            )
            beat = start_beat(workdir, shared)
            processes.append(beat)
            producer = create_celery_producer(redis_url)
            stack.callback(producer.close)
            profiler = None
            if args.profile:
                if not pyspy.PY_SPY.exists():
                    raise RuntimeError("py-spy is not installed: run `make bench-deps`")
                directory = ROOT / "docs" / "perf" / args.profile
                directory.mkdir(parents=True, exist_ok=True)
                profiler = Profiler(directory, worker.pid)

            def profiled(name: str, title: str) -> Any:
                return profiler.phase(name, title) if profiler else nullcontext()

            with profiled("worker-noop", "no-op tasks"):
                noop = throughput(
                    "no-op tasks",
                    args.noop,
                    lambda _: producer.send_task("nova.worker.ping", queue="default"),
                    lambda: (
                        metric(
                            metrics_port,
                            "worker_tasks_total",
                            task="nova.worker.ping",
                            outcome="succeeded",
                        )
                        >= args.noop
                    ),
                    args.phase_timeout,
                    worker_pid=worker.pid,
                    beat_pid=beat.pid,
                )
            results.append(noop)
            run_id = uuid.uuid4().hex[:8]

            def send_email(label: str) -> None:
                producer.send_task(
                    "nova.worker.send_email",
                    kwargs={
                        "to": f"bench-{label}@example.com",
                        "template": "welcome",
                        "context": {"display_name": f"Bench {label}"},
                        "idempotency_key": f"bench:{run_id}:{label}",
                    },
                    queue="default",
                )

            for index in range(args.email_warm_up):
                send_email(f"warm-{index}")
            if not wait(
                lambda: sink.handler.received >= args.email_warm_up,
                time.monotonic() + args.phase_timeout,
            ):
                raise RuntimeError("the warm-up e-mails did not arrive")
            warmed = sink.handler.received
            sink_thread = sink.controller._thread  # the sink's serving thread
            with profiled("worker-email", "e-mail tasks"):
                email = throughput(
                    "e-mail tasks (SMTP sink)",
                    args.emails,
                    lambda index: send_email(str(index)),
                    lambda: sink.handler.received >= warmed + args.emails,
                    args.phase_timeout,
                    worker_pid=worker.pid,
                    beat_pid=beat.pid,
                    sink_thread=sink_thread.native_id if sink_thread else None,
                    interval=0.005,
                )
            results.append(email)
            if profiler:
                profiler.write(args.profile, results, args.concurrency, args.pool)

            if with_services and args.registrations:
                latencies: list[float] = []
                failures = 0
                phase_deadline = time.monotonic() + args.phase_timeout
                with httpx.Client(timeout=30) as client:
                    for index in range(args.registrations):
                        if time.monotonic() > phase_deadline:
                            break
                        email = f"reg-{run_id}-{index}@example.com"
                        before = sink.handler.received
                        started = time.perf_counter()
                        response = client.post(
                            f"http://127.0.0.1:{auth_port}/api/auth/register",
                            json={"email": email, "password": PASSWORD, "display_name": "Bench"},
                        )
                        # registration answers 202 whatever the address: the token comes
                        # from the sign-in that follows
                        if response.status_code not in (201, 202):
                            failures += 1
                            continue
                        response = client.post(
                            f"http://127.0.0.1:{auth_port}/api/auth/login",
                            json={"email": email, "password": PASSWORD},
                        )
                        if response.status_code != 200:
                            failures += 1
                            continue
                        token = response.json()["access_token"]
                        user_id = client.get(
                            f"http://127.0.0.1:{auth_port}/api/auth/me",
                            headers={"authorization": f"Bearer {token}"},
                        ).json()["id"]
                        profile_url = f"http://127.0.0.1:{users_port}/api/users/{user_id}"

                        def arrived(before: int = before, url: str = profile_url) -> bool:
                            return (
                                sink.handler.received > before
                                and client.get(url).status_code == 200
                            )

                        ok = wait(
                            arrived,
                            time.monotonic() + 30,
                            interval=0.01,
                        )
                        if not ok:
                            failures += 1
                            continue
                        latencies.append((time.perf_counter() - started) * 1000)
                results.append(
                    {
                        "phase": "user.registered end to end",
                        "registrations": len(latencies),
                        "failures": failures,
                        "p50_ms": round(percentile(latencies, 0.5), 1) if latencies else None,
                        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
                        "max_ms": round(max(latencies), 1) if latencies else None,
                    }
                )
            else:
                results.append(
                    {"phase": "user.registered end to end", "skipped": "nova-auth/nova-users"}
                )
        finally:
            for process in reversed(processes):
                process.stop()

    loadgen.write_summary(args.summary, headlines(results), figures(results))
    if args.json:
        print(
            json.dumps(
                {"concurrency": args.concurrency, "sink": sink_storage, "results": results},
                indent=2,
            )
        )
    else:
        report(results, args.concurrency, args.pool, sink_storage)
    return (
        0 if all(row.get("completed", True) and not row.get("failures") for row in results) else 1
    )


def report(results: list[dict[str, Any]], concurrency: int, pool: str, sink_storage: str) -> None:
    f = loadgen.fmt
    print(f"nova-worker, {pool} pool, concurrency {concurrency}, loopback; CPU and RSS of its tree")
    print(f"SMTP sink: in this process, its Maildir {sink_storage}")
    print()
    print(
        "| phase | tasks | completed | seconds | tasks/s | CPU ms/task | RSS peak MiB "
        "| beat RSS peak MiB | worker+beat RSS peak MiB | worker+beat PSS MiB "
        "| sink CPU ms/message |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in results:
        if "tasks" in row:
            print(
                f"| {row['phase']} | {row['tasks']} | {'yes' if row['completed'] else '**no**'} | "
                f"{f(row['seconds'], 2)} | {f(row['tasks_per_second'])} | "
                f"{f(row['cpu_ms_per_task'], 2)} | {f(row['rss_peak_mib'])} | "
                f"{f(row.get('beat_rss_peak_mib'))} | {f(row.get('worker_beat_rss_peak_mib'))} | "
                f"{f(row.get('worker_beat_pss_end_mib'))} | "
                f"{f(row.get('sink_cpu_ms_per_message'), 2)} |"
            )
    for row in results:
        if "tasks" not in row:
            details = ", ".join(f"{k}={v}" for k, v in row.items() if k != "phase")
            print(f"\n{row['phase']}: {details}")


def stop_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


PHASE_METRICS = {"no-op tasks": "noop", "e-mail tasks (SMTP sink)": "email"}


def figures(results: list[dict[str, Any]]) -> dict[str, float | None]:
    """The measured figures by name, for the table of targets (a phase that did not complete
    has no rate)."""
    metrics: dict[str, float | None] = {}
    for row in results:
        name = PHASE_METRICS.get(row["phase"])
        if name is not None:
            metrics[f"worker.{name}.tasks_per_s"] = (
                row["tasks_per_second"] if row["completed"] else None
            )
            metrics[f"worker.{name}.cpu_ms"] = row["cpu_ms_per_task"]
        if "worker_beat_rss_peak_mib" in row:  # a phase reporting worker + beat on its own
            metrics["worker.rss_with_beat_mib"] = max(
                row["worker_beat_rss_peak_mib"], metrics.get("worker.rss_with_beat_mib") or 0.0
            )
    return metrics


def headlines(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for row in results:
        if "tasks" in row:
            rows.append(
                {
                    "benchmark": "worker",
                    "figure": row["phase"],
                    "rss_mib": row["rss_peak_mib"],
                    "note": f"{row['tasks_per_second']} tasks/s"
                    + ("" if row["completed"] else " (not all completed)"),
                    "tasks_per_second": row["tasks_per_second"],
                    "cpu_ms_per_task": row["cpu_ms_per_task"],
                    "worker_beat_rss_mib": row.get("worker_beat_rss_peak_mib"),
                }
            )
        elif "p50_ms" in row:
            rows.append(
                {
                    "benchmark": "worker",
                    "figure": row["phase"],
                    "p50_ms": row["p50_ms"],
                    "errors": row["failures"],
                    "note": f"p95 {row['p95_ms']} ms over {row['registrations']} sign-ups",
                }
            )
    return rows


if __name__ == "__main__":
    sys.exit(main())
