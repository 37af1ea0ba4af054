"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nova_kit.testing.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(database_url, redis_url, tmp_path_factory.mktemp("stack")) as running:
        yield running
