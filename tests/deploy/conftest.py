"""The deploy tests import ``deploy.render`` and ``tests.deploy.deploy_helpers`` from the root."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.deploy.deploy_helpers import VALUE_SETS, Manifest, rendered  # noqa: E402


@pytest.fixture(params=sorted(VALUE_SETS))
def value_set(request: pytest.FixtureRequest) -> str:
    """The name of each value set we ship and test: defaults, kind, prod-example, everything."""
    return cast(str, request.param)


@pytest.fixture
def manifest(value_set: str) -> Manifest:
    return rendered(value_set)[1]
