"""The ``nova-worker`` command: one image, several processes.

nova-worker worker        Celery worker on the events and default queues + :9808 probes
nova-worker beat          Celery Beat (exactly one per deployment)
nova-worker flower        Flower, the Celery monitoring UI (:5555)
nova-worker smtp-sink     a local SMTP server keeping every message (dev and tests)
nova-worker healthcheck   exit 0 if the worker (or, with --beat, Beat) heartbeat is fresh
nova-worker migrate       apply the migrations of schema ``worker``
nova-worker check-config  validate settings and exit
"""

from __future__ import annotations

import argparse
import logging
import signal
import tempfile
import threading
from pathlib import Path

from nova_kit.cli import ServiceCLI, run
from nova_kit.logs import configure_logging
from nova_worker.config import WorkerSettings

MIGRATIONS = Path(__file__).parent / "migrations"

logger = logging.getLogger(__name__)

cli = ServiceCLI("worker", WorkerSettings, migrations_dir=MIGRATIONS)


def _start_logging(settings: WorkerSettings, *, tracing: bool = True) -> None:
    configure_logging(settings.service_name, settings.log_level, json_lines=settings.log_json)
    if tracing:
        from nova_kit.tracing import configure_tracing

        configure_tracing(settings.service_name, "0.1.0", settings.otlp_endpoint)


def _worker_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", "-c", type=int, default=None, help="tasks run at once")
    parser.add_argument(
        "--pool", "-P", choices=["threads", "prefork", "solo"], default=None, help="task pool"
    )
    parser.add_argument("--queues", "-Q", default=None, help="comma-separated queues")
    parser.add_argument("--hostname", "-n", default=None, help="node name (default nova@%%h)")
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="probe/metrics port (0 disables)"
    )


def run_worker(args: argparse.Namespace, settings: WorkerSettings) -> int:
    _start_logging(settings)
    # Multiprocess metrics must be switched on before any metric exists in this process.
    from nova_worker.metrics import enable_multiprocess

    directory = settings.metrics_dir or Path(tempfile.mkdtemp(prefix="nova-worker-metrics-"))
    enable_multiprocess(directory)

    from nova_worker.celery_app import create_celery_app, set_app
    from nova_worker.operations import WorkerOperations

    # The command line's pool and concurrency are the settings the task runtime is built from.
    overrides = {"pool": args.pool, "concurrency": args.concurrency}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    app = create_celery_app(settings)
    set_app(app)
    WorkerOperations(app, settings, port=args.metrics_port).install()
    queues = args.queues or ",".join(settings.queues)
    argv = [
        "worker",
        "--queues",
        queues,
        "--concurrency",
        str(settings.concurrency),
        "--pool",
        settings.pool,
        "--hostname",
        args.hostname or "nova@%h",
        "--loglevel",
        settings.log_level.upper(),
        "--without-mingle",
        "--without-gossip",
    ]
    app.worker_main(argv)
    return 0


def _beat_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schedule", default=None, help="schedule file (default from settings)")


def run_beat(args: argparse.Namespace, settings: WorkerSettings) -> int:
    # Beat records no spans (its app is not instrumented, see create_beat_app).
    _start_logging(settings, tracing=False)
    from nova_worker.celery_app import create_beat_app, set_app

    schedule = Path(args.schedule) if args.schedule else settings.beat_schedule_file
    schedule.parent.mkdir(parents=True, exist_ok=True)
    settings.beat_heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
    app = create_beat_app(settings)
    set_app(app)
    app.start(["beat", "--schedule", str(schedule), "--loglevel", settings.log_level.upper()])
    return 0


def _flower_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None, help="port (default 5555)")
    parser.add_argument("--address", default=None, help="bind address (default 127.0.0.1)")


def run_flower(args: argparse.Namespace, settings: WorkerSettings) -> int:
    _start_logging(settings)
    from nova_worker.celery_app import create_celery_app, set_app

    app = create_celery_app(settings)
    set_app(app)
    app.start(
        [
            "flower",
            f"--port={args.port or settings.flower_port}",
            f"--address={args.address or settings.flower_address}",
            "--purge_offline_workers=300",
        ]
    )
    return 0


def _sink_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback only)")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", default=".nova/mail", help="where messages are stored")


def run_smtp_sink(args: argparse.Namespace, _: object) -> int:
    from nova_worker.sink import SmtpSink

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sink = SmtpSink(Path(args.maildir), host=args.host, port=args.port).start()
    print(
        f"nova-worker: SMTP sink on {args.host}:{args.port}, storing in {args.maildir}", flush=True
    )
    try:
        stop.wait()
    finally:
        sink.stop()
    return 0


def _healthcheck_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--beat", action="store_true", help="check Beat instead of the worker")


def run_healthcheck(args: argparse.Namespace, settings: WorkerSettings) -> int:
    from nova_worker.probes import file_age

    if args.beat:
        what, path, limit = (
            "beat",
            settings.beat_heartbeat_file,
            settings.beat_heartbeat_max_age_seconds,
        )
    else:
        what, path, limit = "worker", settings.heartbeat_file, settings.heartbeat_max_age_seconds
    age = file_age(path)
    if age is None:
        print(f"nova-worker: {what} unhealthy: no heartbeat at {path}")
        return 1
    if age > limit:
        print(f"nova-worker: {what} unhealthy: heartbeat {age:.0f}s old (limit {limit:g}s)")
        return 1
    print(f"nova-worker: {what} healthy: heartbeat {age:.1f}s old")
    return 0


cli.command(
    "worker", run_worker, help="run the Celery worker and its :9808 probes", configure=_worker_args
)
cli.command("beat", run_beat, help="run Celery Beat (one per deployment)", configure=_beat_args)
cli.command(
    "flower", run_flower, help="run Flower, the Celery monitoring UI", configure=_flower_args
)
cli.command(
    "smtp-sink",
    run_smtp_sink,
    help="run a local SMTP server that keeps every message",
    configure=_sink_args,
    needs_settings=False,
)
cli.command(
    "healthcheck",
    run_healthcheck,
    help="exit 0 if the heartbeat is fresh",
    configure=_healthcheck_args,
)


def main() -> None:
    run(cli)
