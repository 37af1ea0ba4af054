"""GraphiQL on the gateway's ``/graphql``, in dev, for browsers.

A ``GET /graphql`` that asks for HTML (a browser opening the URL) and carries no ``query`` gets
GraphiQL's page; every other request is GraphQL over HTTP as before. The page loads GraphiQL,
React and ReactDOM from ``/graphql/explorer/``, served from the npm packages installed under
``NOVA_GATEWAY_DEV_ASSETS`` (``libs/nova-kit/dev-assets/node_modules``, installed by
``make setup``), and a start script shipped with the gateway: nothing comes from a CDN, so the
explorer works offline. Outside ``environment=dev`` the explorer is never served.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from nova_gateway.config import GatewaySettings

ASSETS_PATH = "/graphql/explorer"
_STATIC = Path(__file__).parent / "static"

PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Nova GraphQL explorer</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{assets}/graphiql.min.css">
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="{assets}/react.production.min.js"></script>
    <script src="{assets}/react-dom.production.min.js"></script>
    <script src="{assets}/graphiql.min.js"></script>
    <script src="{assets}/graphiql-start.js"></script>
  </body>
</html>
"""


def asset_directories(settings: GatewaySettings) -> list[Path] | None:
    """Where the explorer's files are, or ``None`` when it is off (not dev, or not installed)."""
    directories = [
        settings.dev_asset_directory("graphiql"),
        settings.dev_asset_directory("react", "umd"),
        settings.dev_asset_directory("react-dom", "umd"),
    ]
    found = [directory for directory in directories if directory is not None]
    if len(found) != len(directories):
        return None
    return [*found, _STATIC]


def wants_explorer(accept: str | None, has_query: bool) -> bool:
    """A browser navigating to ``/graphql``: it asks for HTML and sends no operation."""
    return not has_query and "text/html" in (accept or "").lower()


def explorer_page() -> Response[str]:
    return Response(
        PAGE.format(assets=ASSETS_PATH),
        media_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


def explorer_routes(settings: GatewaySettings) -> list[ControllerRouterHandler]:
    directories = asset_directories(settings)
    if directories is None:
        return []
    return [
        create_static_files_router(
            path=ASSETS_PATH,
            directories=[str(directory) for directory in directories],
            include_in_schema=False,
            opt={"public": True},
        )
    ]
