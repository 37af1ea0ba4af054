"""Write the gateway's merged OpenAPI document (``/api/openapi.json``) without running anything.

The gateway merges the documents its REST upstreams serve at ``/schema/openapi.json``
(``nova_gateway.edge.openapi.merge_documents``). This builds the same documents from the
services' application factories — no database, Redis or server is touched: Litestar renders the
schema from the route handlers — and merges them the same way, for the frontend's generated REST
types (``frontend/openapi.json``).

    python scripts/openapi.py [OUTPUT]          default OUTPUT: frontend/openapi.json
    python scripts/openapi.py --check [FILE]    exit 1 when FILE differs from the services' now
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import sys
from pathlib import Path
from typing import Any

from nova_auth.app import create_app as create_auth_app
from nova_auth.config import AuthSettings
from nova_gateway.edge.openapi import merge_documents
from nova_gateway.edge.settings import DEFAULT_ROUTES
from nova_users.app import create_app as create_users_app
from nova_users.config import UsersSettings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "frontend" / "openapi.json"
# The factories want connection settings; nothing connects while the schema is rendered.
UNUSED = {
    "environment": "test",
    "database_url": "postgresql://nova@127.0.0.1:1/unused",
    "redis_url": "redis://127.0.0.1:1/0",
    "log_level": "WARNING",
}


def service_documents() -> dict[str, dict[str, Any]]:
    """``{gateway route prefix: the upstream's OpenAPI document}``, as the gateway fetches them."""
    apps = {
        "/api/auth": create_auth_app(AuthSettings.model_validate(UNUSED)),
        "/api/users": create_users_app(UsersSettings.model_validate(UNUSED)),
    }
    if set(apps) != set(DEFAULT_ROUTES):
        routes = sorted(DEFAULT_ROUTES)
        raise SystemExit(f"openapi: the gateway routes {routes}; update this script")
    return {prefix: app.openapi_schema.to_schema() for prefix, app in apps.items()}


def render() -> str:
    merged = merge_documents(service_documents(), "Nova API", "1.0.0")
    return json.dumps(merged, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    document = render()
    output: Path = args.output
    if not args.check:
        output.write_text(document, encoding="utf-8")
        print(f"openapi: wrote {output}")
        return 0
    current = output.read_text(encoding="utf-8") if output.exists() else ""
    if current == document:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        document.splitlines(keepends=True),
        str(output),
        "services",
        n=2,
    )
    sys.stdout.writelines(list(diff)[:200])
    print(f"openapi: {output} is out of date: run `make openapi`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
