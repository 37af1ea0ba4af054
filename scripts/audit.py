"""Known-vulnerability audit of the runtime dependencies: Python (the locked workspace, no dev
tools) with pip-audit, the frontend with ``npm audit --omit=dev``.

Fails on any advisory not in ``audit-allowlist.txt`` (id, expiry date, reason). When an
advisory service cannot be reached (an offline machine, a registry mirror without the audit
endpoint) the step says so and passes, unless ``NOVA_AUDIT_STRICT=1`` — set it where the
services are reachable, as a release pipeline should.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "audit-allowlist.txt"
# Fixed commands of our own toolchain, found on PATH like the Makefile finds them.
UV = shutil.which("uv") or "uv"
UVX = shutil.which("uvx") or "uvx"
NPM = shutil.which("npm") or "npm"
PIP_AUDIT = "pip-audit==2.10.1"


class UnreachableError(Exception):
    """The advisory service could not be asked."""


def allowlist(today: dt.date) -> tuple[set[str], list[str]]:
    """Allowed advisory ids, and problems with the list (expired or malformed entries)."""
    allowed: set[str] = set()
    problems: list[str] = []
    for number, line in enumerate(ALLOWLIST.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split(maxsplit=2)
        if len(parts) < 3:
            problems.append(f"{ALLOWLIST.name}:{number}: expected '<id> <YYYY-MM-DD> <reason>'")
            continue
        advisory, until, _reason = parts
        try:
            expires = dt.date.fromisoformat(until)
        except ValueError:
            problems.append(f"{ALLOWLIST.name}:{number}: {until!r} is not a date")
            continue
        if expires < today:
            problems.append(f"{ALLOWLIST.name}:{number}: the exception for {advisory} expired")
            continue
        allowed.add(advisory)
    return allowed, problems


def python_advisories() -> set[str]:
    exported = subprocess.run(  # noqa: S603 - fixed arguments
        [
            UV,
            "export",
            "--frozen",
            "--all-packages",
            "--no-dev",
            "--no-emit-workspace",
            "--format",
            "requirements-txt",
            "--no-hashes",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        requirements.write(exported)
        requirements.flush()
        run = subprocess.run(  # noqa: S603 - fixed arguments
            [
                UVX,
                PIP_AUDIT,
                "-r",
                requirements.name,
                "--no-deps",
                "--disable-pip",
                "-s",
                "pypi",
                "--format",
                "json",
                "--progress-spinner",
                "off",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,  # its exit status says "found some"; the JSON says what
        )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise UnreachableError(
            run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "no report"
        ) from None
    found = set()
    for dependency in report.get("dependencies", []):
        for vulnerability in dependency.get("vulns", []):
            ids = {vulnerability["id"], *vulnerability.get("aliases", [])}
            found.add(f"{dependency['name']} {dependency['version']}: " + " / ".join(sorted(ids)))
    return found


def npm_advisories() -> set[str]:
    run = subprocess.run(  # noqa: S603 - fixed arguments
        [NPM, "audit", "--omit=dev", "--json"],
        cwd=ROOT / "frontend",
        capture_output=True,
        text=True,
        check=False,  # as above
    )
    try:
        report = json.loads(run.stdout or "{}")
    except json.JSONDecodeError:
        raise UnreachableError("npm audit answered no JSON") from None
    if "vulnerabilities" not in report:
        raise UnreachableError(str(report.get("message") or report.get("error") or "no report"))
    found = set()
    for name, entry in report["vulnerabilities"].items():
        for via in entry.get("via", []):
            if isinstance(via, dict):
                advisory = str(via.get("url", "")).rsplit("/", 1)[-1] or str(via.get("source"))
                found.add(f"{name}: {advisory}")
    return found


def main() -> int:
    strict = os.environ.get("NOVA_AUDIT_STRICT") == "1"
    allowed, problems = allowlist(dt.date.today())
    failed = bool(problems)
    for problem in problems:
        print(f"audit: {problem}", file=sys.stderr)
    for ecosystem, audit in (("python", python_advisories), ("npm", npm_advisories)):
        try:
            found = audit()
        except UnreachableError as error:
            print(
                f"audit: {ecosystem}: advisory service unreachable ({error})"
                f"{'' if strict else '; skipped (NOVA_AUDIT_STRICT=1 makes this fail)'}",
                file=sys.stderr,
            )
            failed |= strict
            continue
        open_ = sorted(f for f in found if not any(a in f.split() for a in allowed))
        for finding in open_:
            print(f"audit: {ecosystem}: {finding}", file=sys.stderr)
        print(f"audit: {ecosystem}: {len(found)} known vulnerabilities, {len(open_)} not allowed")
        failed |= bool(open_)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
