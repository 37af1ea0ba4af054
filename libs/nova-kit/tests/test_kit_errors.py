"""Failures of PostgreSQL and Redis are 503s a client may retry; other errors stay masked 500s."""

from __future__ import annotations

import asyncpg
import msgspec
import pytest
import sqlalchemy.exc
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from nova_kit.embedded import free_port
from nova_kit.errors import decode_error_details, dependency_failure, exception_handlers


async def refused_database_error() -> BaseException:
    try:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", timeout=2)
    except OSError as error:
        return error
    raise AssertionError("nothing should listen on a free port")


async def refused_redis_error() -> BaseException:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as error:
        return error
    finally:
        await client.aclose()
    raise AssertionError("nothing should listen on a free port")


async def test_unreachable_database_is_unavailable() -> None:
    error = await refused_database_error()
    assert dependency_failure(error) == (
        "database_unavailable",
        "the database is unavailable; retry shortly",
    )


async def test_unreachable_redis_is_unavailable() -> None:
    error = await refused_redis_error()
    failure = dependency_failure(error)
    assert failure is not None
    assert failure[0] == "redis_unavailable"


def test_pool_timeout_is_busy() -> None:
    failure = dependency_failure(sqlalchemy.exc.TimeoutError("QueuePool limit reached"))
    assert failure is not None
    assert failure[0] == "database_busy"


def test_wrapped_statement_timeout_is_a_timeout() -> None:
    cancelled = asyncpg.exceptions.QueryCanceledError("canceling statement: statement timeout")
    wrapped = sqlalchemy.exc.DBAPIError("SELECT 1", {}, cancelled)
    failure = dependency_failure(wrapped)
    assert failure is not None
    assert failure[0] == "database_timeout"


def test_a_connection_out_of_step_is_unavailable() -> None:
    # what asyncpg raises on a pooled connection whose backend was terminated meanwhile
    error = asyncpg.exceptions.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    assert dependency_failure(error) == (
        "database_unavailable",
        "the database is unavailable; retry shortly",
    )


@pytest.mark.parametrize(
    "error",
    [ValueError("bad"), OSError("disk full"), KeyError("x"), ConnectionRefusedError("elsewhere")],
)
def test_other_errors_are_not_dependency_failures(error: Exception) -> None:
    assert dependency_failure(error) is None


async def test_handlers_answer_503_with_retry_after_and_mask_the_rest() -> None:
    @get("/busy")
    async def busy() -> None:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached")

    @get("/down")
    async def down() -> None:
        raise await refused_database_error()

    @get("/bug")
    async def bug() -> None:
        raise RuntimeError("secret detail")

    app = Litestar([busy, down, bug], exception_handlers=exception_handlers())
    async with AsyncTestClient(app) as client:
        response = await client.get("/busy")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["code"] == "database_busy"
        response = await client.get("/down")
        assert response.status_code == 503
        assert response.json()["code"] == "database_unavailable"
        response = await client.get("/bug")
        assert response.status_code == 500
        assert response.json()["code"] == "internal_error"
        assert "secret" not in response.text


class _Address(msgspec.Struct, forbid_unknown_fields=True):
    city: str


class _Person(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    address: _Address | None = None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": 1}, "name"),
        ({"name": "a", "nickname": "b"}, "nickname"),
        ({"name": "a", "address": {"city": "x", "zip": "1"}}, "address.zip"),
        ({"name": "a", "address": {"city": 2}}, "address.city"),
        ([], "body"),
    ],
)
def test_decode_errors_name_the_field_an_unknown_field_by_its_own_name(
    data: object, field: str
) -> None:
    with pytest.raises(msgspec.ValidationError) as raised:
        msgspec.convert(data, _Person)
    details = decode_error_details(raised.value)
    assert details["field"] == field
    assert details["message"]
    assert " - at `" not in details["message"]
