"""skaffold's dev profile syncs .py files into running pods: the dev image target must reload them.

The dev stage's entrypoint is services/dev-reload.sh (watchfiles around `nova-<service> <args>`);
here it runs on this machine with a stand-in service command, the way it runs in the pod.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "services" / "dev-reload.sh"


def test_the_dev_target_runs_the_reloader_and_skaffold_builds_it() -> None:
    dockerfile = (ROOT / "services" / "Dockerfile").read_text(encoding="utf-8")
    dev = dockerfile.split("AS dev", 1)[1].split("\nFROM ", 1)[0]
    assert "COPY services/dev-reload.sh /usr/local/bin/nova-dev-reload" in dev
    assert re.search(r'^ENTRYPOINT \["nova-dev-reload"\]$', dev, re.MULTILINE)
    config = yaml.safe_load((ROOT / "skaffold.yaml").read_text(encoding="utf-8"))
    profile = next(p for p in config["profiles"] if p["name"] == "dev")
    for artifact in profile["build"]["artifacts"]:
        if artifact["image"] == "nova-frontend":
            continue
        service = artifact["docker"]["buildArgs"]["SERVICE"]
        assert artifact["docker"]["target"] == "dev"
        destinations = {rule["dest"] for rule in artifact["sync"]["manual"]}
        # the reloader watches exactly where skaffold copies the files
        assert destinations == {"/app/.venv/lib/python3.13/site-packages"}
        assert f"nova_{service}" in " ".join(r["src"] for r in artifact["sync"]["manual"])


@pytest.mark.timeout(60)
def test_a_synced_python_file_restarts_the_service(tmp_path: Path) -> None:
    watchfiles = Path(sys.executable).parent / "watchfiles"
    if not watchfiles.exists():
        pytest.skip("watchfiles (from uvicorn[standard]) is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    starts = tmp_path / "starts.log"
    service = bin_dir / "nova-probe"
    service.write_text(f'#!/bin/sh\necho "$*" >> {starts}\nexec sleep 30\n')
    service.chmod(0o755)
    site = tmp_path / "site-packages"
    (site / "nova_probe").mkdir(parents=True)
    (site / "nova_kit").mkdir()
    module = site / "nova_probe" / "app.py"
    module.write_text("VALUE = 1\n")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{watchfiles.parent}:{os.environ['PATH']}",
        "NOVA_SERVICE": "probe",
        "NOVA_RELOAD_ROOT": str(site),
    }
    process = subprocess.Popen(
        [str(SCRIPT), "serve"], env=env, start_new_session=True, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while not (starts.exists() and starts.read_text().count("serve") >= 1):
            assert time.monotonic() < deadline, "the service never started"
            time.sleep(0.2)
        time.sleep(1)
        module.write_text("VALUE = 2\n")  # what skaffold's sync does
        while starts.read_text().count("serve") < 2:
            assert time.monotonic() < deadline + 10, "a changed .py file did not restart it"
            time.sleep(0.2)
        assert starts.read_text().splitlines() == ["serve", "serve"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def test_arguments_the_reloader_cannot_pass_safely_are_refused(tmp_path: Path) -> None:
    env = {**os.environ, "NOVA_SERVICE": "probe", "NOVA_RELOAD_ROOT": str(tmp_path)}
    result = subprocess.run(
        [str(SCRIPT), "serve", "--x=$(id)"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "unsupported character" in result.stderr
