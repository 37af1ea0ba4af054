"""``nova_kit.compat`` reaches into Litestar: pinned to the versions it was checked against."""

from __future__ import annotations

from importlib.metadata import version

from litestar import Litestar, get
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send
from packaging.specifiers import SpecifierSet

from nova_kit import compat


def test_litestar_is_a_version_the_wrapper_was_checked_against() -> None:
    for name, checked in compat.CHECKED_VERSIONS.items():
        installed = version(name)
        assert installed in SpecifierSet(checked), (
            f"{name} {installed} is outside {checked}: re-check nova_kit.compat (ADR 0014)"
        )


def test_the_wrapper_sees_matched_and_unmatched_requests_but_not_lifespan() -> None:
    seen: list[tuple[str, str]] = []

    def record(inner: ASGIApp) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append((scope["type"], scope.get("path", "")))
            await inner(scope, receive, send)

        return app

    @get("/here", sync_to_thread=False)
    def here() -> str:
        return "ok"

    app = Litestar([here])
    compat.wrap_asgi_handler(app, record)
    with TestClient(app) as client:
        assert client.get("/here").text == "ok"
        assert client.get("/missing").status_code == 404
        assert client.post("/here").status_code == 405
    assert seen == [("http", "/here"), ("http", "/missing"), ("http", "/here")]
