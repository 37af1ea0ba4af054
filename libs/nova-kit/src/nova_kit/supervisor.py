"""A small process supervisor for the dev loop: what Kubernetes does for one container, locally.

Each program runs in a process group of its own, its output (stdout and stderr) prefixed with the
time and its name on one shared stream. A program that exits while the supervisor is running is
restarted after a back-off that doubles on every quick crash (1 s, 2 s, 4 s ... up to 30 s) and
starts again from 1 s once the program has stayed up for 30 s; the others keep running. The
supervisor says which program exited, with which code, and when it restarts.

Ctrl-C (SIGINT) or SIGTERM stops everything: SIGTERM to every process group, a grace period
(30 s by default: Celery's warm shutdown and uvicorn's drain), then SIGKILL to any group left.

Used by ``scripts/devstack.py``; also runnable on its own::

    python -m nova_kit.supervisor 'web=python3 -m http.server 8080' 'tick=sh -c "date; sleep 5"'
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

BACKOFF_INITIAL_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
STABLE_AFTER_SECONDS = 30.0
KILL_WAIT_SECONDS = 30.0

_COLOURS = ("36", "33", "32", "35", "34", "31", "96", "93", "92", "95")


@dataclass(frozen=True)
class Program:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    """The whole environment of the program (``None``: the supervisor's own)."""
    cwd: str | None = None


@dataclass
class _Running:
    program: Program
    colour: str
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    thread: threading.Thread | None = None
    pids: list[int] = field(default_factory=list)
    """Every pid this program has had, in order (tests and the restart message use it)."""


class Supervisor:
    def __init__(
        self,
        programs: Sequence[Program],
        *,
        out: IO[str] | None = None,
        backoff_initial: float = BACKOFF_INITIAL_SECONDS,
        backoff_max: float = BACKOFF_MAX_SECONDS,
        stable_after: float = STABLE_AFTER_SECONDS,
        kill_wait: float = KILL_WAIT_SECONDS,
        colour: bool | None = None,
    ) -> None:
        names = [program.name for program in programs]
        if len(set(names)) != len(names):
            raise ValueError(f"program names must be unique: {names}")
        self.out = out or sys.stdout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.kill_wait = kill_wait
        self.colour = self.out.isatty() if colour is None else colour
        self.width = max((len(name) for name in names), default=0)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._running = [
            _Running(program, _COLOURS[index % len(_COLOURS)])
            for index, program in enumerate(programs)
        ]

    # --- output ------------------------------------------------------------------------------

    def say(self, name: str, line: str, colour: str = "1") -> None:
        """One line on the shared stream, prefixed with the time and ``name``."""
        stamp = datetime.now().strftime("%H:%M:%S")
        prefix = f"{stamp} {name:<{self.width}} |"
        if self.colour:
            prefix = f"\033[{colour}m{prefix}\033[0m"
        with self._lock:
            self.out.write(f"{prefix} {line}\n")
            self.out.flush()

    def _pump(self, running: _Running, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(
                running.program.name, raw.decode("utf-8", "replace").rstrip("\n"), running.colour
            )

    # --- lifecycle ---------------------------------------------------------------------------

    def _spawn(self, running: _Running) -> subprocess.Popen[bytes] | None:
        program = running.program
        try:
            process = subprocess.Popen(  # noqa: S603 - the caller's own programs
                list(program.argv),
                env=dict(program.env) if program.env is not None else None,
                cwd=program.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            self.say(program.name, f"cannot start {program.argv[0]}: {error}", "31")
            return None
        running.pids.append(process.pid)
        return process

    def _watch(self, running: _Running) -> None:
        """Run one program until the supervisor stops, restarting it when it exits."""
        backoff = self.backoff_initial
        name = running.program.name
        while not self.stopping.is_set():
            started = time.monotonic()
            with self._lock:
                if self.stopping.is_set():
                    return
                process = self._spawn(running)
                running.process = process
            code: int | None = None
            if process is not None:
                assert process.stdout is not None
                pump = threading.Thread(
                    target=self._pump, args=(running, process.stdout), daemon=True
                )
                pump.start()
                code = process.wait()
                if self.stopping.is_set():
                    return
                # what the program started in its group dies with it (as in a container)
                _end_group(process.pid, grace=5.0)
                pump.join(timeout=1.0)
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= self.stable_after:
                backoff = self.backoff_initial
            running.restarts += 1
            how = (
                f"killed by {signal.Signals(-code).name}"
                if code is not None and code < 0
                else f"exited with code {code}"
            )
            self.say(
                name,
                f"{how}; restarting in {backoff:g}s (restart #{running.restarts}, "
                "the other processes keep running)",
                "31",
            )
            if self.stopping.wait(backoff):
                return
            backoff = min(backoff * 2, self.backoff_max)

    def start(self) -> None:
        for running in self._running:
            running.thread = threading.Thread(
                target=self._watch, args=(running,), name=f"supervise-{running.program.name}"
            )
            running.thread.start()

    def stop(self) -> None:
        """SIGTERM every process group, wait up to ``kill_wait``, SIGKILL the rest."""
        with self._lock:
            self.stopping.set()
            groups = [r.process.pid for r in self._running if r.process is not None]
        for group in groups:
            _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_wait
        while time.monotonic() < deadline and any(_group_alive(group) for group in groups):
            time.sleep(0.1)
        for group in groups:
            if _group_alive(group):
                self.say("supervisor", f"process group {group} ignored SIGTERM; killing it", "31")
                _signal_group(group, signal.SIGKILL)
        for running in self._running:
            if running.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    running.process.wait(timeout=5)
            if running.thread is not None:
                running.thread.join(timeout=5)

    def run(self) -> int:
        """Start every program and supervise until SIGINT/SIGTERM; 0 after a clean stop."""
        received: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            received.append(signum)
            self.stopping.set()

        previous = {
            signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.start()
            while not self.stopping.wait(0.2):
                pass
            names = ", ".join(signal.Signals(s).name for s in received) or "stop"
            self.say("supervisor", f"{names}: stopping every process")
            self.stop()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def pids(self, name: str) -> list[int]:
        return next(list(r.pids) for r in self._running if r.program.name == name)


def _end_group(group: int, *, grace: float) -> None:
    """SIGTERM what is left of a process group, then SIGKILL it after ``grace`` seconds."""
    if not _group_alive(group):
        return
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(group):
        time.sleep(0.1)
    if _group_alive(group):
        _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie leader still "exists": the group is alive only if a live member is left
    return _has_live_member(group)


def _has_live_member(group: int) -> bool:
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            return True
    return False


def main(argv: Sequence[str]) -> int:
    programs = []
    for spec in argv:
        name, separator, command = spec.partition("=")
        if not separator or not name or not command:
            print(
                f"usage: python -m nova_kit.supervisor NAME=COMMAND ...  (got {spec!r})",
                file=sys.stderr,
            )
            return 2
        programs.append(Program(name, shlex.split(command)))
    kill_wait = float(os.environ.get("NOVA_SUPERVISOR_KILL_WAIT", KILL_WAIT_SECONDS))
    backoff = float(os.environ.get("NOVA_SUPERVISOR_BACKOFF", BACKOFF_INITIAL_SECONDS))
    return Supervisor(programs, kill_wait=kill_wait, backoff_initial=backoff).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
