"""Each image carries what its service runs, and nothing it does not.

An image installs its service's locked dependencies (``uv sync --no-dev --package nova-<svc>``,
``services/Dockerfile``): the service's own ``dependencies`` and the nova-kit extras it names.
These tests hold the declarations to the code:

- a service declares exactly the distributions its source imports (nova-kit included), and the
  nova-kit extras that the kit modules it imports need;
- a nova-kit module imports at import time only what its part of the kit installs (the base, or
  its extra), and lazily only what the kit declares somewhere;
- the gateway's locked set has no database, migration or Celery stack, and importing it (and
  building its app) loads none of them.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "libs" / "nova-kit"
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())

KIT_MODULE_EXTRAS = {
    "nova_kit.db": "db",
    "nova_kit.migrations": "db",
    "nova_kit.events": "events",
    "nova_kit.graphql_http": "graphql",
    "nova_kit.graphql_cache": "subgraph",
    "nova_kit.testing": "testing",
    "nova_kit.admin": "admin",
}
"""The kit modules that need an extra; every other kit module runs on the base install."""

USED_WITHOUT_IMPORT = {
    "tzdata": "the time zone database zoneinfo reads where the system has none (slim images)",
    "flower": "run as Celery's `flower` command by `nova-worker flower`",
}
"""Distributions a service declares that its code does not import, and why."""

DATABASE_AND_CELERY = {
    "sqlalchemy",
    "asyncpg",
    "alembic",
    "opentelemetry-instrumentation-sqlalchemy",
    "celery",
    "kombu",
    "billiard",
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject(path: Path) -> dict[str, object]:
    return tomllib.loads((path / "pyproject.toml").read_text())


def requirements(path: Path) -> list[Requirement]:
    project = pyproject(path)["project"]
    assert isinstance(project, dict)
    return [Requirement(spec) for spec in project["dependencies"]]


def kit_extras() -> dict[str, set[str]]:
    """Each nova-kit extra's distributions, the extras it names folded in."""
    project = pyproject(KIT)["project"]
    assert isinstance(project, dict)
    raw = {
        name: [Requirement(spec) for spec in specs]
        for name, specs in project["optional-dependencies"].items()
    }

    def resolve(extra: str) -> set[str]:
        found: set[str] = set()
        for requirement in raw[extra]:
            if normalize(requirement.name) == "nova-kit":
                for inner in requirement.extras:
                    found |= resolve(inner)
            else:
                found.add(normalize(requirement.name))
        return found

    return {name: resolve(name) for name in raw}


def extra_closure(extras: set[str]) -> set[str]:
    """``extras`` and the nova-kit extras they name in turn (subgraph brings graphql)."""
    project = pyproject(KIT)["project"]
    assert isinstance(project, dict)
    closed = set(extras)
    pending = list(extras)
    while pending:
        for spec in project["optional-dependencies"][pending.pop()]:
            requirement = Requirement(spec)
            if normalize(requirement.name) == "nova-kit":
                pending += sorted(requirement.extras - closed)
                closed |= requirement.extras
    return closed


@functools.cache
def module_owners() -> dict[str, str]:
    """Dotted module name -> the distribution that installs it (namespace packages such as
    ``opentelemetry`` are shared by many, so the owner is found per module, not per top level)."""
    owners: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = normalize(distribution.metadata["Name"])
        for file in distribution.files or ():
            if file.suffix != ".py":
                continue
            parts = file.with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                owners.setdefault(".".join(parts), name)
    return owners


def distribution_of(module: str) -> str | None:
    """The distribution importing ``module`` needs; None for the standard library."""
    top = module.split(".", 1)[0]
    if top in sys.stdlib_module_names:
        return None
    if top.startswith("nova_"):
        return normalize(top)
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        owner = module_owners().get(".".join(parts[:length]))
        if owner is not None:
            return owner
    raise AssertionError(f"no installed distribution provides {module!r}")


def distributions(modules: set[str]) -> set[str]:
    """The distributions importing ``modules`` needs (the standard library needs none)."""
    return {owner for module in modules if (owner := distribution_of(module)) is not None}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif node.module and node.level == 0:
        # ``from opentelemetry import trace`` and ``from nova_kit import db`` import submodules:
        # the owner of ``opentelemetry.trace`` is found, not of the namespace ``opentelemetry``.
        yield from (f"{node.module}.{alias.name}" for alias in node.names)


def imports(path: Path, *, at_import_time: bool = False) -> set[str]:
    """Absolute modules ``path`` imports; ``at_import_time``: only those importing ``path``
    runs (not inside functions, not under ``if TYPE_CHECKING:``)."""
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(), filename=str(path))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(_imported(node))
        if at_import_time and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if at_import_time and isinstance(node, ast.If) and _is_type_checking(node):
            pending += node.orelse
            continue
        pending += ast.iter_child_nodes(node)
    return found


def sources(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*.py") if ".venv" not in path.parts)


def service_imports(service: str) -> set[str]:
    found: set[str] = set()
    for path in sources(ROOT / "services" / service / "src"):
        found |= imports(path)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_declares_exactly_the_distributions_it_imports(service: str) -> None:
    declared = {normalize(r.name) for r in requirements(ROOT / "services" / service)}
    imported = distributions(service_imports(service)) - {normalize(f"nova_{service}")}
    assert sorted(imported - declared) == [], "imported but not declared"
    assert sorted(declared - imported - set(USED_WITHOUT_IMPORT)) == [], "declared, never imported"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_names_the_kit_extras_its_kit_imports_need(service: str) -> None:
    kit = next(r for r in requirements(ROOT / "services" / service) if r.name == "nova-kit")
    needed = {
        extra
        for module in service_imports(service)
        for prefix, extra in KIT_MODULE_EXTRAS.items()
        if module == prefix or module.startswith(f"{prefix}.")
    }
    assert sorted(needed - extra_closure(set(kit.extras))) == [], "kit modules without their extra"
    assert sorted(set(kit.extras) - needed) == [], "extras no imported kit module needs"


def kit_module(path: Path) -> str:
    relative = path.relative_to(KIT / "src").with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def kit_module_extra(module: str) -> str | None:
    return next(
        (
            extra
            for prefix, extra in KIT_MODULE_EXTRAS.items()
            if module == prefix or module.startswith(f"{prefix}.")
        ),
        None,
    )


def test_the_kit_modules_import_only_what_their_part_of_the_kit_installs() -> None:
    base = {normalize(r.name) for r in requirements(KIT)}
    extras = kit_extras()
    everything = base.union(*extras.values())
    wrong: dict[str, list[str]] = {}
    for path in sources(KIT / "src"):
        module = kit_module(path)
        extra = kit_module_extra(module)
        allowed = base | (extras[extra] if extra else set()) | {"nova-kit"}
        eager = distributions(imports(path, at_import_time=True)) - allowed
        lazy = distributions(imports(path)) - everything - {"nova-kit"}
        problems = [f"{name} at import time" for name in sorted(eager)]
        problems += [f"{name} (declared by no part of the kit)" for name in sorted(lazy)]
        if problems:
            wrong[module] = problems
    assert wrong == {}


def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        pytest.skip("the locked dependency sets are read with uv, which is not on PATH")
    return found


def locked_set(service: str) -> set[str]:
    """The distributions the service's image installs, from uv.lock (offline, no resolution)."""
    exported = subprocess.run(
        [
            uv(),
            "export",
            "--package",
            f"nova-{service}",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--no-emit-workspace",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {
        normalize(line.split("==", 1)[0])
        for line in exported.splitlines()
        if line and not line.startswith((" ", "#", "-"))
    }


def test_the_gateways_image_has_no_database_or_celery_stack() -> None:
    gateway = locked_set("gateway")
    assert {"litestar", "aiohttp", "graphql-core", "redis"} <= gateway
    assert sorted(gateway & DATABASE_AND_CELERY) == []
    assert "strawberry-graphql" not in gateway


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_image_carries_the_kit_extras_it_names(service: str) -> None:
    kit = next(r for r in requirements(ROOT / "services" / service) if r.name == "nova-kit")
    extras = kit_extras()
    locked = locked_set(service)
    for extra in extra_closure(set(kit.extras)):
        assert extras[extra] <= locked, extra
    # What the extras it does not name bring is not there, unless the service imports it itself.
    declared = {normalize(r.name) for r in requirements(ROOT / "services" / service)}
    named = set().union(*(extras[e] for e in extra_closure(set(kit.extras))))
    absent = set().union(*(extras[e] for e in extras if e != "testing")) - named - declared
    assert sorted(absent & locked) == []


def test_importing_and_building_the_gateway_loads_no_database_or_celery_module() -> None:
    program = """
import sys
from nova_gateway.cli import cli
from nova_gateway.app import create_app
from nova_gateway.config import GatewaySettings
from nova_kit.errors import dependency_failure
from nova_kit.metrics import render_metrics

create_app(GatewaySettings(environment="test"))
assert cli.parser().parse_args(["serve"]).command == "serve"
assert dependency_failure(ConnectionRefusedError()) is None
render_metrics()
print(" ".join(sorted({name.split(".", 1)[0] for name in sys.modules})))
"""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NOVA_")}
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert {"nova_gateway", "litestar", "aiohttp"} <= loaded
    assert (
        sorted(loaded & {"sqlalchemy", "asyncpg", "alembic", "celery", "kombu", "billiard"}) == []
    )
