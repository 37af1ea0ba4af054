"""Admin pages at /admin: administrators only, list, search, filter, restore."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]


async def make_profile(client: Client, callers: Any, name: str) -> str:
    user_id = str(uuid.uuid4())
    response = await client.put(
        f"/internal/profiles/{user_id}",
        json={"display_name": name},
        headers=callers.service().headers,
    )
    assert response.status_code == 201
    return user_id


async def test_non_admins_are_refused(client: Client, callers: Any) -> None:
    assert (await client.get("/admin")).status_code == 401
    for caller in (callers.user(), callers.service()):
        response = await client.get("/admin", headers=caller.headers)
        assert response.status_code == 403
        assert response.json()["code"] == "admin_required"
        assert "<table" not in response.text
    restore = await client.post(
        f"/admin/profiles/{uuid.uuid4()}/restore", headers=callers.user().headers
    )
    assert restore.status_code == 403


async def test_admin_sees_searches_filters_and_restores(client: Client, callers: Any) -> None:
    admin = callers.admin()
    ada = await make_profile(client, callers, "Ada <script>alert(1)</script>")
    alan = await make_profile(client, callers, "Alan Turing")
    await client.delete(f"/internal/profiles/{alan}", headers=callers.service().headers)

    page = await client.get("/admin", headers=admin.headers)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert f'data-user-id="{ada}"' in html
    assert "Ada &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert f'data-user-id="{alan}"' not in html

    deleted = (await client.get("/admin?status=deleted", headers=admin.headers)).text
    assert f'data-user-id="{alan}"' in deleted
    assert f'data-user-id="{ada}"' not in deleted
    assert f'action="/admin/profiles/{alan}/restore"' in deleted

    everyone = (await client.get("/admin?status=all", headers=admin.headers)).text
    assert f'data-user-id="{alan}"' in everyone
    assert f'data-user-id="{ada}"' in everyone
    searched = (await client.get("/admin?status=all&q=turing", headers=admin.headers)).text
    assert f'data-user-id="{alan}"' in searched
    assert f'data-user-id="{ada}"' not in searched

    detail = await client.get(f"/admin/profiles/{alan}", headers=admin.headers)
    assert detail.status_code == 200
    assert "Alan Turing" in detail.text
    assert "deleted" in detail.text

    restored = await client.post(
        f"/admin/profiles/{alan}/restore", headers=admin.headers, follow_redirects=False
    )
    assert restored.status_code == 303
    assert restored.headers["location"] == f"/admin/profiles/{alan}"
    assert (await client.get(f"/api/users/{alan}")).json()["display_name"] == "Alan Turing"
    active = (await client.get("/admin", headers=admin.headers)).text
    assert f'data-user-id="{alan}"' in active

    bad_filter = await client.get("/admin?status=bogus", headers=admin.headers)
    assert bad_filter.status_code == 422
    missing = await client.get(f"/admin/profiles/{uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404


async def test_admin_list_pages_through_many_profiles(client: Client, callers: Any) -> None:
    admin = callers.admin()
    for index in range(55):
        await make_profile(client, callers, f"Member {index:02d}")
    first = (await client.get("/admin", headers=admin.headers)).text
    assert first.count("data-user-id=") == 50
    assert "Member 54" in first
    assert "Member 04" not in first
    marker = 'href="/admin?'
    assert marker in first
    next_url = first.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&")
    second = (await client.get(f"/admin?{next_url}", headers=admin.headers)).text
    assert second.count("data-user-id=") == 5
    assert "Member 00" in second
    assert "Member 54" not in second


async def test_nul_and_control_characters_are_answered_not_a_database_error(
    client: Client, callers: Any
) -> None:
    # PostgreSQL text cannot hold NUL: a search or a bio carrying one used to fail in the query.
    admin = callers.admin()
    await make_profile(client, callers, "Grace Hopper")
    for url in ("/api/users?search=Gr%00ace", "/admin?status=all&q=Gr%00ace"):
        response = await client.get(url, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert "Grace Hopper" not in response.text
    user = callers.user()
    for field, value in [
        ("bio", "a\x00b"),
        ("bio", "bell\x07"),
        ("avatar_url", "https://example.com/a\x00.png"),
        ("avatar_url", "https://exa\x01mple.com/a.png"),
    ]:
        response = await client.patch("/api/users/me", json={field: value}, headers=user.headers)
        assert response.status_code == 422, (field, value, response.text)
        assert response.json()["details"][0]["field"] == field
    lines = await client.patch(
        "/api/users/me", json={"bio": "two\nlines\tand a tab"}, headers=user.headers
    )
    assert lines.status_code == 200, lines.text
