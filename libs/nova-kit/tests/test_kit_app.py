"""The shared app: health, readiness, metrics, request ids and error bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar import Litestar, MediaType, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.testing import AsyncTestClient

from nova_kit.app import Runtime, StateKey, create_service_app
from nova_kit.errors import ConflictError
from nova_kit.settings import ServiceSettings


@get("/items/{item_id:int}", sync_to_thread=False)
def read_item(item_id: FromPath[int]) -> dict[str, int]:
    if item_id == 0:
        raise ConflictError("item zero is reserved", code="item_reserved")
    if item_id == 13:
        raise RuntimeError("secret internals")
    return {"id": item_id}


@dataclass
class Thing:
    name: str
    size: int


@post("/things", sync_to_thread=False)
def create_thing(data: JSONBody[Thing]) -> Thing:
    return data


@post("/plain", sync_to_thread=False)
def plain_text_error() -> Response[str]:
    # As Strawberry's GraphQL view answers a body it cannot read.
    return Response(
        "Unable to parse request body as JSON", status_code=400, media_type=MediaType.TEXT
    )


@get("/search", sync_to_thread=False)
def search(q: FromQuery[str]) -> dict[str, str]:
    return {"q": q}


def kit_settings(database_url: str, redis_url: str) -> ServiceSettings:
    return ServiceSettings(
        service_name="kit",
        environment="test",
        database_url=database_url,
        database_schema="kit",
        redis_url=redis_url,
        log_json=True,
    )


def make_app(database_url: str, redis_url: str) -> Litestar:
    return create_service_app(
        kit_settings(database_url, redis_url),
        route_handlers=[read_item, create_thing, search, plain_text_error],
        verify_tokens=False,
    )


@pytest.fixture
async def client(database_url: str, redis_url: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(make_app(database_url, redis_url)) as client:
        yield client


async def test_health_and_ready_answer_when_dependencies_are_up(
    client: AsyncTestClient[Litestar],
) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True
    assert ready.json()["checks"]["redis"]["ok"] is True


async def test_request_id_is_echoed_or_generated(client: AsyncTestClient[Litestar]) -> None:
    echoed = await client.get("/items/1", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/items/1", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32
    not_found = await client.get("/nowhere")
    assert not_found.status_code == 404
    assert not_found.headers["x-request-id"]


async def test_errors_have_stable_codes_and_mask_internals(
    client: AsyncTestClient[Litestar],
) -> None:
    conflict = await client.get("/items/0")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "item_reserved"
    assert conflict.json()["message"] == "item zero is reserved"

    invalid = await client.get("/items/abc")
    assert invalid.status_code in (400, 404, 422)
    assert "code" in invalid.json()

    crash = await client.get("/items/13", headers={"X-Request-ID": "trace-me"})
    assert crash.status_code == 500
    body = crash.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "trace-me"
    assert "secret internals" not in crash.text


async def test_metrics_use_route_templates_not_raw_paths(
    client: AsyncTestClient[Litestar],
) -> None:
    for item in (101, 102, 103):
        await client.get(f"/items/{item}")
    await client.get("/definitely/not/here")
    text = (await client.get("/metrics")).text
    assert 'route="/items/{item_id}"' in text
    assert 'route="<unmatched>"' in text
    assert "/items/101" not in text
    assert "http_server_request_duration_seconds_bucket" in text
    assert "http_server_active_requests" in text


async def test_security_headers_are_on_every_response(client: AsyncTestClient[Litestar]) -> None:
    for path in ("/items/1", "/nowhere", "/health"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


async def test_pool_usage_is_exported(client: AsyncTestClient[Litestar]) -> None:
    await client.get("/ready")
    text = (await client.get("/metrics")).text
    assert 'db_client_connections{pool="kit",state="idle"}' in text
    assert 'db_client_connections_max{pool="kit"} 10.0' in text
    assert 'db_client_connection_wait_time_seconds_count{pool="kit"}' in text


async def test_log_lines_are_json_with_request_and_trace_ids(
    client: AsyncTestClient[Litestar], capfd: pytest.CaptureFixture[str]
) -> None:
    await client.get("/items/13", headers={"X-Request-ID": "log-me"})
    lines = [line for line in capfd.readouterr().err.splitlines() if "log-me" in line]
    assert lines, "the unhandled error was not logged"
    entry = json.loads(lines[0])
    assert entry["request_id"] == "log-me"
    assert len(entry["trace_id"]) == 32
    assert entry["level"] == "error"
    assert entry["service"] == "kit"


async def test_invalid_input_is_422_with_field_errors(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/things", json={"name": "x", "size": "huge"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["details"] == [{"field": "size", "message": body["details"][0]["message"]}]
    assert "size" in body["message"]
    missing = await client.get("/search")
    assert missing.status_code == 422
    assert missing.json()["details"][0]["field"] == "q"


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\xff\xfe", "size": 1}', b"\xff\xfe", b'{"name": "x\xc3", "size": 1}'],
    ids=["in-a-string", "whole-body", "truncated-sequence"],
)
async def test_a_body_that_is_not_utf8_is_400_not_500(
    client: AsyncTestClient[Litestar], body: bytes
) -> None:
    response = await client.post(
        "/things", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad_request"
    malformed = await client.post(
        "/things", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "bad_request"


async def test_a_plain_text_4xx_of_a_handler_gets_the_json_error_shape(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.post("/plain")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "bad_request"
    assert body["message"] == "Unable to parse request body as JSON"
    assert (await client.get("/metrics")).headers["content-type"].startswith("text/plain")


async def test_oversized_request_headers_are_431_before_routing(
    client: AsyncTestClient[Litestar],
) -> None:
    big = await client.get("/items/1", headers={"x-big": "a" * 40_000})
    assert big.status_code == 431
    assert big.json()["code"] == "request_header_fields_too_large"
    assert "request_id" in big.json()
    many = await client.get("/items/1", headers=[(f"x-h{i}", "v") for i in range(120)])
    assert many.status_code == 431
    assert "headers" in many.json()["message"]
    usual = await client.get(
        "/items/1", headers={"cookie": "a=" + "b" * 4096, "authorization": "Bearer " + "t" * 2048}
    )
    assert usual.status_code == 200


@dataclass(frozen=True)
class Counter:
    start: int


COUNTER = StateKey[Counter]("test_counter")


def provide_counter(state: State) -> Counter:
    return COUNTER.get(state)


@get("/counter", sync_to_thread=False)
def read_counter(counter: NamedDependency[Counter]) -> dict[str, int]:
    return {"start": counter.start}


async def test_a_start_up_hook_hands_typed_state_to_handlers(
    database_url: str, redis_url: str
) -> None:
    """What a hook stores under a :class:`StateKey` reaches handlers through a typed provider,
    and is gone once the shutdown hook takes it back."""
    taken: list[Counter | None] = []

    def start(runtime: Runtime) -> None:
        COUNTER.put(runtime.state, Counter(start=41))

    def stop(runtime: Runtime) -> None:
        taken.append(COUNTER.pop(runtime.state))

    app = create_service_app(
        kit_settings(database_url, redis_url),
        route_handlers=[read_counter],
        verify_tokens=False,
        on_startup=[start],
        on_shutdown=[stop],
        dependencies={"counter": Provide(provide_counter, sync_to_thread=False)},
    )
    with pytest.raises(RuntimeError, match="test_counter"):
        COUNTER.get(app.state)
    async with AsyncTestClient(app) as client:
        response = await client.get("/counter")
        assert response.status_code == 200
        assert response.json() == {"start": 41}
    assert taken == [Counter(start=41)]
    assert COUNTER.pop(app.state) is None
