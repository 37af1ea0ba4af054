"""The model admin at /admin/data/users: administrators only on every route; profiles listed,
searched, filtered, sorted and shown; soft-delete and restore go through ProfileService."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from nova_kit.admin import admin_site_of
from nova_users.admin import USERS_ADMIN_PATH
from nova_users.app import create_app
from nova_users.config import UsersSettings

Client = AsyncTestClient[Litestar]
PROFILES = f"{USERS_ADMIN_PATH}/profile"
ROW_ACTION = f"{USERS_ADMIN_PATH}/_api/profile/row-action"


async def make_profile(client: Client, callers: Any, name: str) -> str:
    user_id = str(uuid.uuid4())
    response = await client.put(
        f"/internal/profiles/{user_id}",
        json={"display_name": name},
        headers=callers.service().headers,
    )
    assert response.status_code == 201
    return user_id


def changes(metric: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("nova_users_profile_changes_total", {"change": metric}) or 0.0


async def test_every_admin_route_refuses_anyone_but_an_administrator(
    client: Client, callers: Any
) -> None:
    routes = admin_site_of(client.app).route_samples()
    assert any(path.endswith("/profile/list") for _, path in routes)
    assert any(method == "POST" and "row-action" in path for method, path in routes)
    for method, path in routes:
        assert (await client.request(method, path)).status_code == 401, (method, path)
        for caller in (callers.user(), callers.service()):
            refused = await client.request(method, path, headers=caller.headers)
            assert refused.status_code == 403, (method, path, caller.name)
            if method != "HEAD":
                assert refused.json()["code"] == "admin_required"
                assert "<table" not in refused.text
    page = await client.get(
        f"{PROFILES}/list", headers={**callers.user().headers, "Accept": "text/html"}
    )
    assert page.status_code == 403
    assert "Administrators only" in page.text


async def test_admin_lists_searches_filters_sorts_and_shows(client: Client, callers: Any) -> None:
    admin = callers.admin()
    ada = await make_profile(client, callers, "Ada <script>alert(1)</script>")
    alan = await make_profile(client, callers, "Alan Turing")
    await client.delete(f"/internal/profiles/{alan}", headers=callers.service().headers)

    listed = await client.get(f"{PROFILES}/list", headers=admin.headers)
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith("text/html")
    assert "Ada &lt;script&gt;alert(1)&lt;/script&gt;" in listed.text
    assert "<script>alert(1)</script>" not in listed.text
    assert ada in listed.text
    assert alan in listed.text  # administrators see soft-deleted profiles too

    deleted = (
        await client.get(f"{PROFILES}/list?filter=deleted_at__is_not_null", headers=admin.headers)
    ).text
    assert alan in deleted
    assert ada not in deleted
    live = (
        await client.get(f"{PROFILES}/list?filter=deleted_at__is_null", headers=admin.headers)
    ).text
    assert ada in live
    assert alan not in live
    by_name = (await client.get(f"{PROFILES}/list?q=turing", headers=admin.headers)).text
    assert alan in by_name
    assert ada not in by_name
    by_id = (await client.get(f"{PROFILES}/list?q={ada[:8]}", headers=admin.headers)).text
    assert ada in by_id
    ordered = (
        await client.get(f"{PROFILES}/list?sort=display_name__desc", headers=admin.headers)
    ).text
    assert ordered.index(alan) < ordered.index(ada)

    detail = await client.get(f"{PROFILES}/detail?pk={alan}", headers=admin.headers)
    assert detail.status_code == 200
    assert "Alan Turing" in detail.text
    assert "Restore" in detail.text
    missing = await client.get(f"{PROFILES}/detail?pk={uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404
    for editing in ("create", f"edit?pk={ada}"):
        assert (await client.get(f"{PROFILES}/{editing}", headers=admin.headers)).status_code == 403


async def test_soft_delete_and_restore_go_through_the_service(
    client: Client, callers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    admin = callers.admin()
    ada = await make_profile(client, callers, "Ada Lovelace")
    deleted_before, restored_before = changes("deleted"), changes("restored")

    with caplog.at_level(logging.INFO, logger="nova_kit.admin"):
        gone = await client.post(f"{ROW_ACTION}?pk={ada}&name=soft_delete", headers=admin.headers)
    assert gone.status_code == 200, gone.text
    assert changes("deleted") == deleted_before + 1
    [line] = [r for r in caplog.records if r.getMessage().startswith("admin action soft_delete")]
    assert line.__dict__["admin_id"] == str(admin.user_id)
    assert line.__dict__["targets"] == [ada]
    assert (await client.get(f"/api/users/{ada}")).status_code == 404
    twice = await client.post(f"{ROW_ACTION}?pk={ada}&name=soft_delete", headers=admin.headers)
    assert twice.status_code == 400  # only offered for a live profile

    back = await client.post(f"{ROW_ACTION}?pk={ada}&name=restore", headers=admin.headers)
    assert back.status_code == 200, back.text
    assert changes("restored") == restored_before + 1
    assert (await client.get(f"/api/users/{ada}")).json()["display_name"] == "Ada Lovelace"
    unknown = await client.post(f"{ROW_ACTION}?pk=nope&name=restore", headers=admin.headers)
    assert unknown.status_code == 400


async def test_the_admin_is_off_in_prod_and_when_turned_off(
    users_settings: UsersSettings, callers: Any
) -> None:
    off = create_app(users_settings.model_copy(update={"admin": False}))
    with pytest.raises(LookupError):
        admin_site_of(off)
    assert UsersSettings(environment="dev").admin_enabled is True
    assert UsersSettings(environment="test", admin=False).admin_enabled is False
