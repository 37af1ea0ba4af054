"""Admin listing: keyset pagination, search, and stability while rows are being added."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]


async def seed(client: Client, service: Any, names: list[str]) -> list[str]:
    ids = []
    for name in names:
        user_id = str(uuid.uuid4())
        response = await client.put(
            f"/internal/profiles/{user_id}", json={"display_name": name}, headers=service.headers
        )
        assert response.status_code == 201
        ids.append(user_id)
    return ids


async def read_all_pages(client: Client, admin: Any, size: int, **params: Any) -> list[str]:
    seen: list[str] = []
    after: str | None = None
    for _ in range(100):
        query = {"first": size, **params, **({"after": after} if after else {})}
        page = await client.get("/api/users", params=query, headers=admin.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        seen.extend(edge["node"]["id"] for edge in body["edges"])
        if not body["page_info"]["has_next_page"]:
            assert body["page_info"]["end_cursor"] == (
                body["edges"][-1]["cursor"] if body["edges"] else None
            )
            return seen
        after = body["page_info"]["end_cursor"]
    raise AssertionError("pagination did not end")


async def test_pages_are_newest_first_and_complete(client: Client, callers: Any) -> None:
    ids = await seed(client, callers.service(), [f"Person {i}" for i in range(23)])
    seen = await read_all_pages(client, callers.admin(), 5)
    assert seen == list(reversed(ids))


async def test_pagination_is_stable_under_concurrent_inserts(client: Client, callers: Any) -> None:
    """A writer adds profiles between every two pages; the reader sees every profile that
    existed when it started exactly once, in order, and never one twice."""
    service, admin = callers.service(), callers.admin()
    before = await seed(client, service, [f"Before {i}" for i in range(30)])
    inserted: list[str] = []
    progress = asyncio.Condition()
    stop = asyncio.Event()

    async def keep_inserting() -> None:
        for index in range(200):
            if stop.is_set():
                return
            new_ids = await seed(client, service, [f"During {index}"])
            async with progress:
                inserted.extend(new_ids)
                progress.notify_all()

    async def wait_for_inserts(count: int) -> None:
        async with progress:
            await asyncio.wait_for(progress.wait_for(lambda: len(inserted) >= count), 10)

    writer = asyncio.create_task(keep_inserting())
    seen: list[str] = []
    after: str | None = None
    try:
        for page_number in range(1, 50):
            query: dict[str, str | int] = {"first": 4, **({"after": after} if after else {})}
            body = (await client.get("/api/users", params=query, headers=admin.headers)).json()
            seen.extend(edge["node"]["id"] for edge in body["edges"])
            if not body["page_info"]["has_next_page"]:
                break
            after = body["page_info"]["end_cursor"]
            await wait_for_inserts(page_number)
    finally:
        stop.set()
        await writer
    assert len(inserted) >= 7
    assert len(seen) == len(set(seen)), "a profile appeared on two pages"
    assert [user_id for user_id in seen if user_id in set(before)] == list(reversed(before))
    assert not set(seen) & set(inserted), "rows added after the first page are newer"


async def test_search_matches_names_and_ids_and_escapes_wildcards(
    client: Client, callers: Any
) -> None:
    service, admin = callers.service(), callers.admin()
    ids = await seed(client, service, ["Ada Lovelace", "Alan Turing", "Grace_Hopper", "100% Real"])

    async def names(search: str) -> list[str]:
        page = await client.get("/api/users", params={"search": search}, headers=admin.headers)
        assert page.status_code == 200
        return sorted(edge["node"]["display_name"] for edge in page.json()["edges"])

    assert await names("a") == ["100% Real", "Ada Lovelace", "Alan Turing", "Grace_Hopper"]
    assert await names("LOVE") == ["Ada Lovelace"]
    assert await names("_") == ["Grace_Hopper"]
    assert await names("%") == ["100% Real"]
    assert await names(ids[1]) == ["Alan Turing"]
    assert await names("nobody") == []


async def test_page_size_and_cursor_are_validated(client: Client, callers: Any) -> None:
    admin = callers.admin()
    for params in ({"first": 1000}, {"first": 0}, {"first": "many"}):
        response = await client.get("/api/users", params=params, headers=admin.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert response.json()["details"][0]["field"] == "first"
    bad = await client.get("/api/users", params={"after": "not-a-cursor"}, headers=admin.headers)
    assert bad.status_code == 422
    assert bad.json()["details"] == [
        {"field": "after", "message": "is not a cursor returned by this API"}
    ]
