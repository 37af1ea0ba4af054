"""Real service processes for tests: started in their own process group, stopped by group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class CommandFailedError(RuntimeError):
    """A command (a migration, the supergraph composer) exited with an error."""


def run_checked(argv: Sequence[str], env: Mapping[str, str], *, timeout: float = 180) -> str:
    """Run ``argv`` to completion with ``env`` over this process's environment; its standard
    output, or :class:`CommandFailedError` carrying everything it printed."""
    result = subprocess.run(  # noqa: S603 - test-controlled command
        list(argv),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise CommandFailedError(
            f"{' '.join(argv)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


@dataclass
class ServiceProcess:
    """A command run with ``setsid``; ``stop()`` signals the whole process group."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    base_url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - test-controlled command
            list(self.argv),
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def wait_until_ready(self, path: str = "/ready", timeout: float = 30.0) -> None:
        """Poll ``base_url + path`` until it answers 200 (or the process dies)."""
        assert self.base_url is not None, "wait_until_ready needs base_url"
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            try:
                response = httpx.get(f"{self.base_url}{path}", timeout=1.0)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as error:
                last = str(error)
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout:g}s ({last}):\n{self.tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the group, then SIGKILL what is left after ``timeout``."""
        if self.process is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.process.wait(timeout)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""
