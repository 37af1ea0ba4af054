"""Composition at build time: the committed fixture supergraph is what the pinned composer
produces from the fixture subgraphs, composition errors are reported, and
``scripts/supergraph.sh`` composes the services that export SDL."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_DIR = ROOT / "deploy" / "compose"
FIXTURES = Path(__file__).parent / "fixtures"
SUBGRAPHS = sorted((FIXTURES / "subgraphs").glob("*.graphql"))

NODE = shutil.which("node")
pytestmark = [
    pytest.mark.skipif(
        NODE is None, reason="node is not installed: composition tests need Node.js >= 20"
    ),
    pytest.mark.skipif(
        not (COMPOSE_DIR / "node_modules" / "@theguild" / "federation-composition").is_dir(),
        reason="composer not installed: run `npm ci --prefix deploy/compose`",
    ),
]


def compose(*arguments: str) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run(
        [NODE, str(COMPOSE_DIR / "compose.mjs"), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_fixture_supergraph_matches_a_fresh_composition() -> None:
    result = compose(*(str(path) for path in SUBGRAPHS))
    assert result.returncode == 0, result.stderr
    committed = (FIXTURES / "supergraph.graphql").read_text()
    assert result.stdout == committed, (
        "fixtures/supergraph.graphql is out of date; regenerate it with: node "
        "deploy/compose/compose.mjs -o services/gateway/tests/fixtures/supergraph.graphql "
        "services/gateway/tests/fixtures/subgraphs/*.graphql"
    )


def test_composition_errors_fail_with_the_composers_messages(tmp_path: Path) -> None:
    (tmp_path / "a.graphql").write_text(
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])\n'
        'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }\n'
    )
    (tmp_path / "b.graphql").write_text(
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])\n'
        'type Query { you: User }\ntype User @key(fields: "id") { id: ID! name: String }\n'
    )
    result = compose(str(tmp_path / "a.graphql"), str(tmp_path / "b.graphql"))
    assert result.returncode == 1
    assert "INVALID_FIELD_SHARING" in result.stderr
    assert 'Non-shareable field "User.name"' in result.stderr
    assert result.stdout == ""


def test_routing_urls_and_names(tmp_path: Path) -> None:
    output = tmp_path / "supergraph.graphql"
    arguments = ["-o", str(output), "--url", "inventory=http://127.0.0.1:9/graphql"]
    arguments += [f"{p.stem}={p}" for p in SUBGRAPHS]
    result = compose(*arguments)
    assert result.returncode == 0, result.stderr
    text = output.read_text()
    assert 'INVENTORY @join__graph(name: "inventory", url: "http://127.0.0.1:9/graphql")' in text
    assert 'ACCOUNTS @join__graph(name: "accounts", url: "http://accounts/graphql")' in text


def test_supergraph_script_composes_services_that_export_sdl(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for path in SUBGRAPHS:
        command = bin_dir / f"nova-{path.stem}"
        command.write_text(
            "#!/usr/bin/env bash\n"
            'if [[ "$1" == "--help" ]]; then echo "commands: serve export-sdl"; exit 0; fi\n'
            f'[[ "$1" == "export-sdl" ]] && cat "{path}"\n'
        )
        command.chmod(0o755)
    output = tmp_path / "supergraph.graphql"
    environment = {
        **os.environ,
        "NOVA_VENV_BIN": str(bin_dir),
        "NOVA_SUPERGRAPH_SERVICES": " ".join(p.stem for p in SUBGRAPHS) + " missing",
        "NOVA_SUBGRAPH_URL_ACCOUNTS": "http://accounts/graphql",
        "NOVA_SUBGRAPH_URL_INVENTORY": "http://inventory/graphql",
        "NOVA_SUBGRAPH_URL_PRODUCTS": "http://products/graphql",
        "NOVA_SUBGRAPH_URL_REVIEWS": "http://reviews/graphql",
    }
    script = str(ROOT / "scripts" / "supergraph.sh")
    result = subprocess.run(
        [script, str(output)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_text() == (FIXTURES / "supergraph.graphql").read_text()
    check = subprocess.run(
        [script, "--check", str(output)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    output.write_text(output.read_text() + "# edited\n")
    drift = subprocess.run(
        [script, "--check", str(output)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert drift.returncode == 1
    assert "out of date" in drift.stderr
