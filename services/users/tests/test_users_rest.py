"""REST profile API: ``/api/users/*`` against real PostgreSQL with real signed tokens."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from nova_kit import tracing

Client = AsyncTestClient[Litestar]


@pytest.fixture(params=["driver", "traced"])
def statements(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Statements on the driver, and through SQLAlchemy as while statements are traced."""
    if request.param == "traced":
        monkeypatch.setattr(tracing, "sql_traced", lambda engine: True)
    return str(request.param)


async def test_me_creates_the_profile_on_first_read_and_returns_it_after(
    client: Client, callers: Any
) -> None:
    alice = callers.user()
    first = await client.get("/api/users/me", headers=alice.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["id"] == str(alice.user_id)
    assert body["display_name"] == "New user"
    assert body["deleted_at"] is None
    assert body["created_at"].endswith(("+00:00", "Z"))
    again = await client.get("/api/users/me", headers=alice.headers)
    assert again.json() == body


async def test_me_uses_the_name_in_the_token_when_there_is_one(
    client: Client, callers: Any
) -> None:
    bob = callers.user(name="  Bob Builder ")
    body = (await client.get("/api/users/me", headers=bob.headers)).json()
    assert body["display_name"] == "Bob Builder"


async def test_patch_me_changes_only_the_fields_sent_and_null_clears(
    client: Client, callers: Any, statements: str
) -> None:
    alice = callers.user()
    changed = await client.patch(
        "/api/users/me",
        headers=alice.headers,
        json={
            "display_name": "  Alice  ",
            "bio": "Hello",
            "avatar_url": "https://cdn.example.com/a.png",
            "locale": "fr_fr",
            "timezone": "Europe/Paris",
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["display_name"] == "Alice"
    assert body["locale"] == "fr-FR"
    assert body["timezone"] == "Europe/Paris"
    assert body["updated_at"] >= body["created_at"]

    cleared = await client.patch("/api/users/me", headers=alice.headers, json={"bio": None})
    assert cleared.json()["bio"] is None
    assert cleared.json()["display_name"] == "Alice"
    assert cleared.json()["avatar_url"] == "https://cdn.example.com/a.png"
    assert (await client.get("/api/users/me", headers=alice.headers)).json() == cleared.json()


async def test_an_empty_patch_answers_the_profile_as_it_is(client: Client, callers: Any) -> None:
    carol = callers.user(name="Carol")
    first = await client.patch("/api/users/me", headers=carol.headers, json={})
    assert first.status_code == 200, first.text  # created on first use, like a first read
    assert first.json()["display_name"] == "Carol"
    again = await client.patch("/api/users/me", headers=carol.headers, json={})
    assert again.json() == first.json()  # nothing written: updated_at kept
    assert (await client.delete("/api/users/me", headers=carol.headers)).status_code == 204
    gone = await client.patch("/api/users/me", headers=carol.headers, json={})
    assert gone.status_code == 410
    assert gone.json()["code"] == "profile_deleted"


async def test_invalid_input_is_a_422_with_field_errors(client: Client, callers: Any) -> None:
    alice = callers.user()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 65}, "display_name"),
        ({"display_name": None}, "display_name"),
        ({"bio": "b" * 501}, "bio"),
        ({"avatar_url": "http://cdn.example.com/a.png"}, "avatar_url"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"locale": "xx-YY"}, "locale"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"display_name": 42}, "display_name"),
        ({"email": "alice@example.com"}, "email"),
    ]
    for payload, field in cases:
        response = await client.patch("/api/users/me", headers=alice.headers, json=payload)
        assert response.status_code == 422, (payload, response.text)
        body = response.json()
        assert body["code"] == "validation_error"
        assert body["message"]
        assert [entry["field"] for entry in body["details"]] == [field], (payload, body)
        assert all(entry["message"] for entry in body["details"])

    several = await client.patch(
        "/api/users/me", headers=alice.headers, json={"bio": "b" * 501, "timezone": "Nowhere"}
    )
    assert {entry["field"] for entry in several.json()["details"]} == {"bio", "timezone"}

    malformed = await client.patch(
        "/api/users/me",
        headers={**alice.headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "bad_request"

    unchanged = (await client.get("/api/users/me", headers=alice.headers)).json()
    assert unchanged["display_name"] == "New user"
    assert unchanged["bio"] is None


async def test_public_profile_hides_private_fields_from_others(
    client: Client, callers: Any
) -> None:
    alice, bob, admin = callers.user(), callers.user(), callers.admin()
    await client.patch(
        "/api/users/me",
        headers=alice.headers,
        json={"display_name": "Alice", "locale": "en-GB", "timezone": "Europe/London"},
    )
    path = f"/api/users/{alice.user_id}"

    anonymous = (await client.get(path)).json()
    other = (await client.get(path, headers=bob.headers)).json()
    own = (await client.get(path, headers=alice.headers)).json()
    as_admin = (await client.get(path, headers=admin.headers)).json()

    for view in (anonymous, other):
        assert view["display_name"] == "Alice"
        assert view["locale"] is None
        assert view["timezone"] is None
    for view in (own, as_admin):
        assert view["locale"] == "en-GB"
        assert view["timezone"] == "Europe/London"

    missing = await client.get(f"/api/users/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "user_not_found"
    malformed = await client.get("/api/users/not-a-uuid")  # no route matches a non-UUID id
    assert malformed.status_code == 404
    assert malformed.json()["code"] == "not_found"


async def test_permission_matrix(client: Client, callers: Any) -> None:
    """Who may call what: anonymous, a user, another user, an administrator, a service."""
    alice, admin, service = callers.user(), callers.admin(), callers.service()
    await client.get("/api/users/me", headers=alice.headers)
    target = alice.user_id
    anonymous = callers.anonymous()
    other = callers.user()

    def expect(method: str, path: str, caller: Any, status: int, **kwargs: Any) -> Any:
        async def run() -> None:
            response = await client.request(method, path, headers=caller.headers, **kwargs)
            assert response.status_code == status, (method, path, caller.name, response.text)
            if status >= 400:
                assert response.json()["code"]

        return run()

    # the caller's own profile: users only (not anonymous, not services)
    await expect("GET", "/api/users/me", anonymous, 401)
    await expect("GET", "/api/users/me", service, 403)
    await expect("PATCH", "/api/users/me", anonymous, 401, json={"bio": "x"})
    await expect("DELETE", "/api/users/me", anonymous, 401)
    await expect("GET", "/api/users/me", other, 200)
    await expect("GET", "/api/users/me", admin, 200)
    # public profiles: everyone; deleted ones on request: administrators only
    for caller in (anonymous, other, alice, admin, service):
        await expect("GET", f"/api/users/{target}", caller, 200)
    for caller in (other, alice):
        await expect("GET", f"/api/users/{target}?include_deleted=true", caller, 403)
    await expect("GET", f"/api/users/{target}?include_deleted=true", anonymous, 403)
    await expect("GET", f"/api/users/{target}?include_deleted=true", admin, 200)
    # the list and restore: administrators only
    await expect("GET", "/api/users", anonymous, 401)
    for caller in (other, alice, service):
        await expect("GET", "/api/users", caller, 403)
        await expect("POST", f"/api/users/{target}/restore", caller, 403)
    await expect("POST", f"/api/users/{target}/restore", anonymous, 401)
    await expect("GET", "/api/users", admin, 200)
    await expect("POST", f"/api/users/{target}/restore", admin, 200)
    # the internal API: service tokens only
    internal = f"/internal/profiles/{uuid.uuid4()}"
    for caller in (other, admin):
        await expect("PUT", internal, caller, 403, json={"display_name": "X"})
        await expect("DELETE", internal, caller, 403)
    await expect("PUT", internal, anonymous, 401, json={"display_name": "X"})
    await expect("PUT", internal, service, 201, json={"display_name": "X"})
    await expect("DELETE", internal, service, 204)
    # a bad token is a 401 everywhere, even on public routes
    bad = {"Authorization": "Bearer not.a.token"}
    assert (await client.get(f"/api/users/{target}", headers=bad)).status_code == 401


async def test_delete_me_hides_the_profile_until_an_admin_restores_it(
    client: Client, callers: Any
) -> None:
    alice, bob, admin = callers.user(), callers.user(), callers.admin()
    await client.patch("/api/users/me", headers=alice.headers, json={"display_name": "Alice"})
    path = f"/api/users/{alice.user_id}"

    deleted = await client.delete("/api/users/me", headers=alice.headers)
    assert deleted.status_code == 204
    assert (await client.delete("/api/users/me", headers=alice.headers)).status_code == 204

    assert (await client.get(path, headers=bob.headers)).status_code == 404
    assert (await client.get(path, headers=admin.headers)).status_code == 404
    gone = await client.get("/api/users/me", headers=alice.headers)
    assert gone.status_code == 410
    assert gone.json()["code"] == "profile_deleted"
    patched = await client.patch("/api/users/me", headers=alice.headers, json={"bio": "back"})
    assert patched.status_code == 410

    listed = (await client.get("/api/users", headers=admin.headers)).json()
    assert str(alice.user_id) not in [edge["node"]["id"] for edge in listed["edges"]]
    with_deleted = (
        await client.get("/api/users?include_deleted=true", headers=admin.headers)
    ).json()
    nodes = {edge["node"]["id"]: edge["node"] for edge in with_deleted["edges"]}
    assert nodes[str(alice.user_id)]["deleted_at"] is not None

    seen = await client.get(f"{path}?include_deleted=true", headers=admin.headers)
    assert seen.status_code == 200
    assert seen.json()["deleted_at"] is not None

    restored = await client.post(f"/api/users/{alice.user_id}/restore", headers=admin.headers)
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert restored.json()["display_name"] == "Alice"
    assert (await client.get(path, headers=bob.headers)).json()["display_name"] == "Alice"
    assert (await client.get("/api/users/me", headers=alice.headers)).status_code == 200

    missing = await client.post(f"/api/users/{uuid.uuid4()}/restore", headers=admin.headers)
    assert missing.status_code == 404


async def test_openapi_documents_the_users_routes(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/api/users/me",
        "/api/users/{user_id}",
        "/api/users",
        "/internal/profiles/{user_id}",
    ):
        assert path in paths, sorted(paths)
    assert not [path for path in paths if path.startswith("/admin")]  # the admin is no API


async def test_oversized_and_non_object_bodies_are_refused(client: Client, callers: Any) -> None:
    alice = callers.user()
    huge = await client.patch("/api/users/me", headers=alice.headers, json={"bio": "x" * 70_000})
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"
    for body in ([1, 2], "text", 42):
        response = await client.patch("/api/users/me", headers=alice.headers, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
    long_search = await client.get(
        "/api/users", params={"search": "s" * 201}, headers=callers.admin().headers
    )
    assert long_search.status_code == 422
    assert long_search.json()["details"][0]["field"] == "search"


async def test_the_list_narrows_to_the_ids_asked_for_deleted_ones_included_on_request(
    client: Client, callers: Any
) -> None:
    admin = callers.admin()
    people = [callers.user(name=f"Person {index}") for index in range(3)]
    for person in people:
        assert (await client.get("/api/users/me", headers=person.headers)).status_code == 200
    gone = people[2]
    assert (await client.delete("/api/users/me", headers=gone.headers)).status_code == 204
    wanted = [str(people[0].user_id), str(gone.user_id), str(uuid.uuid4())]

    live = await client.get("/api/users", params={"ids": wanted}, headers=admin.headers)
    assert live.status_code == 200, live.text
    assert [edge["node"]["id"] for edge in live.json()["edges"]] == [wanted[0]]
    every = await client.get(
        "/api/users", params={"ids": wanted, "include_deleted": "true"}, headers=admin.headers
    )
    assert sorted(edge["node"]["id"] for edge in every.json()["edges"]) == sorted(wanted[:2])

    too_many = [str(uuid.uuid4()) for _ in range(101)]
    refused = await client.get("/api/users", params={"ids": too_many}, headers=admin.headers)
    assert refused.status_code in {400, 422}
    assert refused.json()["code"] == "validation_error"
    malformed = await client.get("/api/users", params={"ids": "nope"}, headers=admin.headers)
    assert malformed.status_code in {400, 422}
    assert malformed.json()["code"] == "validation_error"
    member = await client.get("/api/users", params={"ids": wanted}, headers=people[0].headers)
    assert member.status_code == 403
