"""Services meet over HTTP and Celery only: no service imports another service's package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_service_is_a_workspace_member_with_a_console_script() -> None:
    assert SERVICES == ["auth", "gateway", "users", "worker"]
    for service in SERVICES:
        text = (ROOT / "services" / service / "pyproject.toml").read_text()
        assert f'nova-{service} = "nova_{service}.cli:main"' in text


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another_service(service: str) -> None:
    forbidden = {f"nova_{other}" for other in SERVICES if other != service}
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & forbidden)
        for path in (ROOT / "services" / service).rglob("*.py")
        if ".venv" not in path.parts and imported_modules(path) & forbidden
    }
    assert offenders == {}


def test_nova_kit_imports_no_service() -> None:
    forbidden = {f"nova_{service}" for service in SERVICES}
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "libs" / "nova-kit").rglob("*.py")
        if imported_modules(path) & forbidden
    ]
    assert offenders == []
