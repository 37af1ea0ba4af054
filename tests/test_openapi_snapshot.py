"""The committed ``frontend/openapi.json`` — the input of the frontend's generated REST types —
is what the services' route handlers describe now, merged the way the gateway merges them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "frontend" / "openapi.json"


def test_the_committed_openapi_document_has_not_drifted_from_the_services() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "openapi.py"), "--check", str(DOCUMENT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        "frontend/openapi.json is stale: run `make openapi`\n" + result.stdout + result.stderr
    )


def test_it_holds_the_public_routes_of_both_services_and_no_internal_one() -> None:
    document = json.loads(DOCUMENT.read_text())
    paths = set(document["paths"])
    assert {"/api/auth/login", "/api/auth/me", "/api/users", "/api/users/me"} <= paths
    assert not [path for path in paths if "/internal" in path]
    assert {"AuthAccountView", "UsersProfileRead"} <= set(document["components"]["schemas"])
