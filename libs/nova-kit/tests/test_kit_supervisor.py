"""nova_kit.supervisor, the dev loop's process manager: a crashed program restarts alone, and
Ctrl-C leaves no process group behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SUPERVISOR = ["-m", "nova_kit.supervisor"]

# Records its pid, starts a grandchild in its own process group (what npm does with next), then
# waits to be stopped.
PROGRAM = """
import os, subprocess, sys, time
with open(sys.argv[1], "a") as pids:
    pids.write(f"{os.getpid()}\\n")
subprocess.Popen(["sleep", "300"])
print("started", flush=True)
time.sleep(300)
"""


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def group_alive(group: int) -> bool:
    """A live (non-zombie) process in ``group``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process groups from /proc")
def test_a_killed_program_restarts_alone_and_ctrl_c_stops_every_group(tmp_path: Path) -> None:
    a_pids, b_pids = tmp_path / "a.pids", tmp_path / "b.pids"
    log = tmp_path / "supervisor.log"
    command = f"{sys.executable} -c '{PROGRAM}'"
    with log.open("w") as output:
        supervisor = subprocess.Popen(
            [sys.executable, *SUPERVISOR, f"a={command} {a_pids}", f"b={command} {b_pids}"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NOVA_SUPERVISOR_BACKOFF": "0.2", "NOVA_SUPERVISOR_KILL_WAIT": "5"},
            start_new_session=True,
        )
    try:
        wait_for(lambda: len(pids(a_pids)) == 1 and len(pids(b_pids)) == 1)
        (first_a,) = pids(a_pids)
        (only_b,) = pids(b_pids)
        wait_for(lambda: log.read_text().count("started") == 2)

        os.kill(first_a, signal.SIGKILL)  # as a crash would
        wait_for(lambda: len(pids(a_pids)) == 2)
        assert pids(b_pids) == [only_b]
        text = log.read_text()
        assert "a" in text.split("killed by SIGKILL")[0].splitlines()[-1]
        assert "restart #1" in text
        # the crashed program's group (its grandchild) went with it
        wait_for(lambda: not group_alive(first_a), timeout=10)
        assert group_alive(only_b)

        supervisor.send_signal(signal.SIGINT)  # Ctrl-C
        assert supervisor.wait(timeout=20) == 0
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait(timeout=10)
    for group in [*pids(a_pids), *pids(b_pids)]:
        assert not group_alive(group), f"process group {group} outlived the supervisor"
    assert "SIGINT: stopping every process" in log.read_text()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process groups from /proc")
def test_a_program_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    stubborn = (
        "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', os.getpid(), flush=True); time.sleep(300)"
    )
    log = tmp_path / "supervisor.log"
    with log.open("w") as output:
        supervisor = subprocess.Popen(
            [sys.executable, *SUPERVISOR, f'stubborn={sys.executable} -c "{stubborn}"'],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NOVA_SUPERVISOR_KILL_WAIT": "1"},
            start_new_session=True,
        )
    try:
        wait_for(lambda: "up" in log.read_text())
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=20) == 0
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    text = log.read_text()
    assert "ignored SIGTERM; killing it" in text
    stubborn_pid = int(text.split("| up ", 1)[1].split()[0])
    assert not group_alive(stubborn_pid)
