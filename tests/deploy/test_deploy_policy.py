"""Policy: checkov on the rendered production example, with every waiver written down.

checkov's dependencies conflict with the workspace's, so it is never installed into ``.venv``:
``uv tool run`` builds an isolated, cached environment for the pinned version on first use
(``make deploy-policy`` runs the same command). Without uv or without PyPI the test is skipped
with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deploy_helpers import ROOT, rendered

CHECKOV_VERSION = "3.3.30"

# check id -> why the production example may fail it.
WAIVED = {
    "CKV_K8S_35": (
        "Secrets are passed as environment variables: the services read their settings from the "
        "environment (pydantic-settings), and the env vars come from secretKeyRef, never from "
        "rendered values. Mounting them as files needs *_FILE settings in nova_kit."
    ),
    "CKV_K8S_43": (
        "The example pins tags; digests are known only when CI builds the images and are set "
        "per component with components.<name>.image.digest (tested in test_deploy_chart)."
    ),
}


def checkov_command() -> list[str]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("checkov needs uv to install it in an isolated environment; uv is not on PATH")
    return [
        uv,
        "tool",
        "run",
        "--python",
        sys.executable,
        "--from",
        f"checkov=={CHECKOV_VERSION}",
        "checkov",
    ]


def run_checkov(target: Path) -> dict[str, Any]:
    command = [
        *checkov_command(),
        "--file",
        str(target),
        "--framework",
        "kubernetes",
        "--skip-download",
        "--output",
        "json",
        "--compact",
        "--quiet",
    ]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=env, check=False
    )
    if result.returncode not in (0, 1):
        if "Failed to download" in result.stderr or "error sending request" in result.stderr:
            pytest.skip(f"checkov {CHECKOV_VERSION} could not be installed (no PyPI access)")
        pytest.fail(f"checkov did not run ({result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    if isinstance(report, list):
        (report,) = [part for part in report if part.get("check_type") == "kubernetes"]
    assert isinstance(report, dict)
    return report


def test_checkov_passes_on_the_production_example(tmp_path: Path) -> None:
    target = tmp_path / "nova-prod-example.yaml"
    target.write_text(rendered("prod-example")[0], encoding="utf-8")
    report = run_checkov(target)
    failed = report["results"]["failed_checks"]
    unexpected = sorted(
        f"{check['check_id']} {check['check_name']}: {check['resource']}"
        for check in failed
        if check["check_id"] not in WAIVED
    )
    assert unexpected == [], "new checkov failures:\n" + "\n".join(unexpected)
    # checkov counts containers as resources too
    assert report["summary"]["resource_count"] >= len(rendered("prod-example")[1])
    assert report["summary"]["passed"] > 100
    stale = set(WAIVED) - {check["check_id"] for check in failed}
    assert not stale, f"waivers no longer needed, remove them: {sorted(stale)}"


def test_make_deploy_policy_runs_the_same_checkov_with_the_same_waivers() -> None:
    makefile = (ROOT / "deploy" / "deploy.mk").read_text(encoding="utf-8")
    assert f"CHECKOV_VERSION ?= {CHECKOV_VERSION}" in makefile
    skipped = re.search(r"--skip-check (\S+)", makefile)
    assert skipped is not None
    assert sorted(skipped.group(1).split(",")) == sorted(WAIVED)
