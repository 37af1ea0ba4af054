"""The checked-in supergraph is what the services' subgraphs compose to, and the chart ships it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUPERGRAPH = ROOT / "deploy" / "supergraph.graphql"
CHART_COPY = ROOT / "deploy" / "helm" / "nova" / "files" / "supergraph.graphql"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed to compose")
def test_the_checked_in_supergraph_has_not_drifted_from_the_services() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "supergraph.sh"), "--check", str(SUPERGRAPH)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        "deploy/supergraph.graphql is stale: run `make supergraph deploy-supergraph`\n"
        + result.stdout
        + result.stderr
    )


def test_the_chart_ships_the_same_supergraph() -> None:
    assert CHART_COPY.read_text() == SUPERGRAPH.read_text(), "run `make deploy-supergraph`"


def test_both_subgraphs_are_in_it() -> None:
    text = SUPERGRAPH.read_text()
    assert 'AUTH @join__graph(name: "auth"' in text
    assert 'USERS @join__graph(name: "users"' in text
