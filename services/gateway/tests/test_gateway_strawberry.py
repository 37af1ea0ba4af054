"""A Strawberry federation subgraph — what Nova's services run — composed with the fixture
subgraphs by the real composer and federated by the gateway (``_service``/``_entities`` as
Strawberry implements them)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import strawberry
import strawberry.federation
from litestar import Litestar
from litestar.testing import AsyncTestClient
from strawberry.litestar import make_graphql_controller

from nova_kit.testing.servers import ThreadedServer

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "deploy" / "compose" / "compose.mjs"
FIXTURES = Path(__file__).parent / "fixtures" / "subgraphs"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None
    or not (ROOT / "deploy/compose/node_modules/@theguild/federation-composition").is_dir(),
    reason="needs node and `npm ci --prefix deploy/compose` to compose the supergraph",
)

CARRIERS = {"1": "DHL", "2": "Freight Co", "3": "DHL", "4": "Post"}


@strawberry.federation.type(keys=["upc"])
class Product:
    upc: str
    carrier: str

    @classmethod
    def resolve_reference(cls, upc: str) -> Product:
        return Product(upc=upc, carrier=CARRIERS[upc])


@strawberry.type
class Query:
    @strawberry.field
    def carriers(self) -> list[str]:
        return sorted(set(CARRIERS.values()))


SCHEMA = strawberry.federation.Schema(query=Query, types=[Product], federation_version="2.9")
SHIPPING_APP = Litestar(route_handlers=[make_graphql_controller(SCHEMA, path="/graphql")])


@pytest.fixture(scope="module")
def shipping_url() -> Iterator[str]:
    with ThreadedServer(SHIPPING_APP, path="/graphql", lifespan="off") as server:
        yield server.url


@pytest.fixture
def supergraph_with_shipping(tmp_path: Path) -> Path:
    sdl = tmp_path / "shipping.graphql"
    sdl.write_text(SCHEMA.as_str())
    output = tmp_path / "supergraph.graphql"
    assert NODE is not None
    subgraphs = [str(path) for path in sorted(FIXTURES.glob("*.graphql"))]
    result = subprocess.run(
        [NODE, str(COMPOSE), "-o", str(output), *subgraphs, f"shipping={sdl}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return output


async def test_strawberry_subgraph_is_federated(
    make_gateway: Callable[..., AsyncTestClient[Any]],
    subgraphs: dict[str, Any],
    shipping_url: str,
    supergraph_with_shipping: Path,
) -> None:
    urls = {name: app.url for name, app in subgraphs.items()} | {"shipping": shipping_url}
    async with make_gateway(supergraph=str(supergraph_with_shipping), subgraph_urls=urls) as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ carriers reviews { body product { name carrier } } }"},
        )
    assert response.json() == {
        "data": {
            "carriers": ["DHL", "Freight Co", "Post"],
            "reviews": [
                {"body": "Love it", "product": {"name": "Table", "carrier": "DHL"}},
                {"body": "Too expensive", "product": {"name": "Couch", "carrier": "Freight Co"}},
                {"body": "Could be better", "product": {"name": "Chair", "carrier": "DHL"}},
                {"body": "Sturdy", "product": {"name": "Table", "carrier": "DHL"}},
            ],
        }
    }
