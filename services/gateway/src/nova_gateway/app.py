"""The nova-gateway application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc

from litestar import Litestar
from litestar.types import ASGIApp

from nova_gateway.config import GatewaySettings
from nova_gateway.edge import build_edge
from nova_gateway.edge.hotpath import HotPath
from nova_gateway.explorer import explorer_routes
from nova_gateway.federation.engine import EngineConfig, FederationEngine
from nova_gateway.federation.execution.transport import TransportConfig
from nova_gateway.federation.limits import OperationLimits
from nova_gateway.federation.supergraph.loader import SupergraphLoader
from nova_gateway.graphql_route import ENGINE_KEY, graphql_get, graphql_post
from nova_kit.app import Runtime, StateKey, create_service_app

POLL_TASK_KEY = StateKey[asyncio.Task[None]]("supergraph_poll_task")


def engine_config(settings: GatewaySettings) -> EngineConfig:
    return EngineConfig(
        limits=OperationLimits(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_root_fields=settings.max_root_fields,
            max_tokens=settings.max_tokens,
            max_fields=settings.max_fields,
            max_repeated_fields=settings.max_repeated_fields,
            max_field_merges=settings.max_field_merges,
            introspection=settings.introspection_enabled,
        ),
        plan_cache_size=settings.plan_cache_size,
        transport=TransportConfig(
            default_timeout_seconds=settings.subgraph_timeout_seconds,
            timeouts=dict(settings.subgraph_timeouts),
            max_connections=settings.subgraph_max_connections,
            deduplicate_queries=settings.subgraph_deduplicate_queries,
        ),
        subgraph_urls=dict(settings.subgraph_urls),
        check_invariants=settings.invariant_checks_enabled,
    )


def settle_heap() -> None:
    """Take the objects alive now out of the cyclic garbage collector's scans.

    After a supergraph load nearly every object in the process (the app, the schemas, the
    libraries) lives until the next load. Left in the collector's oldest generation, each full
    collection walks all of them and stops the event loop for hundreds of milliseconds under
    load — the gateway's p99. Frozen, they are skipped. The previous load's objects are unfrozen
    and collected first, so a reload does not keep the old supergraph alive.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def create_app(settings: GatewaySettings) -> Litestar:
    engine = FederationEngine(engine_config(settings))
    edge = build_edge(settings)
    hot_paths: list[HotPath] = []

    def hot_path(stack: ASGIApp) -> ASGIApp:
        hot = HotPath(stack, settings, rate_limits=edge.rate_limits, proxies=edge.proxies)
        hot_paths.append(hot)
        return hot

    async def start_federation(runtime: Runtime) -> None:
        loader = SupergraphLoader(
            settings.supergraph,
            engine,
            runtime.http,
            on_loaded=settle_heap if settings.freeze_heap else None,
        )
        ENGINE_KEY.put(runtime.state, engine)
        await loader.load()
        for hot in hot_paths:
            hot.start(runtime)
        if settings.supergraph_poll_seconds > 0:
            POLL_TASK_KEY.put(
                runtime.state, asyncio.create_task(loader.poll(settings.supergraph_poll_seconds))
            )

    async def stop_federation(runtime: Runtime) -> None:
        task = POLL_TASK_KEY.pop(runtime.state)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await engine.close()

    async def supergraph_loaded() -> str:
        digest = engine.supergraph_hash
        if digest is None:
            raise RuntimeError("no supergraph loaded")
        return f"sha256 {digest}"

    return create_service_app(
        settings,
        route_handlers=[
            graphql_post,
            graphql_get,
            *explorer_routes(settings),
            *edge.route_handlers,
        ],
        uses_database=False,
        uses_redis=settings.redis_url is not None,
        verify_tokens=settings.jwks_url is not None,
        user_tokens_only=True,
        checks={"supergraph": supergraph_loaded},
        on_startup=[start_federation, *edge.on_startup],
        on_shutdown=[stop_federation, *edge.on_shutdown],
        middleware=edge.middleware,
        edge_middleware=edge.edge_middleware,
        hot_path=hot_path,
        cors_allow_headers=edge.cors_allow_headers,
        max_body_bytes=settings.max_body_bytes,
        access_log=True,
    )
