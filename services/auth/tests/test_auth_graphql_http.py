"""The auth subgraph speaks GraphQL over HTTP as the specification asks (nova-kit's transport)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from nova_kit.testing.graphql_http import check_one_field_error, run_cases_on


async def test_every_graphql_over_http_spec_case(client: AsyncTestClient[Litestar]) -> None:
    await run_cases_on(client)


async def test_a_field_error_keeps_data_and_200(client: AsyncTestClient[Litestar]) -> None:
    await check_one_field_error(client, "{ account { id } }", "account", "unauthenticated")
