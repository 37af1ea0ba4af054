"""The chart and the images match what the services actually read, run and serve.

Both sides are read: env var names from each service's pydantic settings class, commands from
its ``cli.parser()``, ports from the settings defaults, probe paths from the running app's
routes. Nothing here lists a setting by hand, so a renamed setting fails this test.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from nova_kit.settings import ServiceSettings, _SharedEnvSource
from tests.deploy.deploy_helpers import (
    PYTHON_SERVICES,
    ROOT,
    VALUE_SETS,
    Manifest,
    Obj,
    by_kind,
    component_of,
    find,
    pod_spec,
    rendered,
    values_file,
)

# Building the apps imports the services, whose dependencies may warn about their own futures.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"nova_{service}.config")
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module.__name__
    ]
    assert len(found) == 1, f"nova_{service}.config defines {found}"
    return found[0]


def cli_parser(service: str) -> argparse.ArgumentParser:
    module = importlib.import_module(f"nova_{service}.cli")
    parser = module.cli.parser()
    assert isinstance(parser, argparse.ArgumentParser)
    return parser


def subcommands(service: str) -> set[str]:
    parser = cli_parser(service)
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(action.choices)


def env_names(service: str) -> set[str]:
    """Every variable the service's settings read: prefixed fields plus the shared names."""
    cls = settings_class(service)
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in cls.model_fields} | set(
        _SharedEnvSource.shared.values()
    )


def image_service(container: Obj) -> str | None:
    """'auth' for an image of nova-auth, None for images that are not Python services."""
    repository = container["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1]
    match = re.fullmatch(r"nova-([a-z]+)", repository)
    if match and match.group(1) in PYTHON_SERVICES:
        return match.group(1)
    return None


def python_containers(manifest: Manifest) -> list[tuple[Obj, Obj, str]]:
    """Containers running a Python service's CLI (not hooks running `python -c` in its image)."""
    found = []
    for obj in manifest:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        for container in pod_spec(obj)["containers"]:
            if "command" in container:
                continue
            service = image_service(container)
            if service is not None:
                found.append((obj, container, service))
    return found


def container_env(manifest: Manifest, container: Obj) -> dict[str, Any]:
    """What the chart sets; a user's own envFrom sources (not in the render) are theirs."""
    rendered_configmaps = {cm["metadata"]["name"] for cm in by_kind(manifest, "ConfigMap")}
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        name = source.get("configMapRef", {}).get("name")
        if name in rendered_configmaps:
            env.update(find(manifest, "ConfigMap", name)["data"])
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


def extra_env_names(value_set: str) -> set[str]:
    """Names a value set adds through components.<name>.extraEnv: the user's, not the chart's."""
    components = VALUE_SETS[value_set]().get("components", {})
    return {env["name"] for c in components.values() for env in c.get("extraEnv", [])}


def test_every_python_component_is_checked(value_set: str) -> None:
    components = {component_of(obj) for obj, _, _ in python_containers(rendered(value_set)[1])}
    assert {"gateway", "auth", "users", "worker", "beat", "migrations"} <= components


def test_env_var_names_are_settings_the_service_reads(value_set: str) -> None:
    manifest = rendered(value_set)[1]
    for obj, container, service in python_containers(manifest):
        unknown = set(container_env(manifest, container)) - env_names(service)
        unknown -= extra_env_names(value_set)
        assert not unknown, (
            f"{obj['kind']}/{obj['metadata']['name']} sets {sorted(unknown)}, which "
            f"nova_{service}.config does not read"
        )


def test_secret_env_names_in_values_are_settings() -> None:
    for name, component in values_file("values.yaml")["components"].items():
        service = image_service({"image": component["image"]["repository"]})
        if service is None:
            continue
        unknown = set(component["secretEnv"]) - env_names(service)
        assert not unknown, f"components.{name}.secretEnv: {sorted(unknown)} are not settings"


SECRET_MARKERS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SIGNING_KEYS",
    "CLIENTS",
    "SECRET",
    "PASSWORD",
    "TWO_FACTOR_KEY",
    "TWO_FACTOR_OLD_KEYS",
)


def production_requirements(service: str, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The variables whose absence makes the service refuse to start outside dev/test."""
    for name in env_names(service):
        monkeypatch.delenv(name, raising=False)
    settings = settings_class(service)(environment="test")
    return {problem.split(":", 1)[0] for problem in settings.check_production()}


def alternatives(service: str, variable: str) -> tuple[str, ...]:
    """The variable and the shared one that sets the same field (``NOVA_JWKS_URL``...)."""
    prefix = str(settings_class(service).model_config.get("env_prefix", "")).upper()
    shared = _SharedEnvSource.shared.get(variable.removeprefix(prefix).lower())
    return (variable,) if shared is None else (variable, shared)


def test_every_process_gets_what_production_requires(monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = rendered("prod-example")[1]
    required = {
        service: production_requirements(service, monkeypatch) for service in PYTHON_SERVICES
    }
    assert required["auth"], "AuthSettings.check_production asks for nothing any more?"
    for obj, container, service in python_containers(manifest):
        env = container_env(manifest, container)
        missing = {
            name for name in required[service] if not set(alternatives(service, name)) & set(env)
        }
        assert not missing, f"{obj['kind']}/{obj['metadata']['name']} lacks {sorted(missing)}"
        for name, value in env.items():
            if any(marker in name for marker in SECRET_MARKERS):
                assert isinstance(value, dict), f"{name} must come from a Secret"
                assert "secretKeyRef" in value, f"{name} must come from a Secret"


def test_commands_are_ones_the_cli_accepts(value_set: str) -> None:
    manifest = rendered(value_set)[1]
    for obj, container, service in python_containers(manifest):
        args = container.get("args") or []
        assert args, f"{obj['metadata']['name']}: no command"
        assert args[0] in subcommands(service), f"{obj['metadata']['name']}: {args}"
        cli_parser(service).parse_args(args)  # exits (fails the test) on a bad option
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            command = container.get(probe, {}).get("exec", {}).get("command")
            if command:
                assert command[0] == f"nova-{service}"
                cli_parser(service).parse_args(command[1:])


def test_the_process_map_of_the_contract() -> None:
    manifest = rendered("everything")[1]
    commands = {
        component_of(obj): pod_spec(obj)["containers"][0].get("args")
        for obj in by_kind(manifest, "Deployment")
    }
    assert commands["worker"] == ["worker"]
    assert commands["beat"] == ["beat"]
    assert commands["flower"] == ["flower"]
    for name in ("gateway", "auth", "users"):
        assert commands[name] == ["serve"]


def _listen_port_field(component: Obj) -> str:
    return str(component["listenEnv"]["port"]).lower()


def test_container_ports_are_the_settings_defaults() -> None:
    values = values_file("values.yaml")["components"]
    manifest = rendered("everything")[1]
    for name, component in values.items():
        service = image_service({"image": component["image"]["repository"]})
        if service is None or not component["port"]:
            continue
        field = _listen_port_field(component)
        default = settings_class(service).model_fields[field].default
        assert component["port"] == default, f"components.{name}.port vs {field}"
        container = pod_spec(find(manifest, "Deployment", f"nova-{name}"))["containers"][0]
        assert container["ports"][0]["containerPort"] == default
        env = container_env(manifest, container)
        host_var = f"{component['envPrefix']}{component['listenEnv']['host']}"
        assert env[host_var] == "0.0.0.0", f"{name} must listen on every interface"


def test_http_probe_paths_are_routes_the_services_serve() -> None:
    manifest = rendered("everything")[1]
    for name in ("gateway", "auth", "users"):
        app_module = importlib.import_module(f"nova_{name}.app")
        app = app_module.create_app(settings_class(name)(environment="test"))
        routes = {route.path for route in app.routes}
        container = pod_spec(find(manifest, "Deployment", f"nova-{name}"))["containers"][0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["path"] in routes, f"{name} {probe}"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert "/metrics" in routes


def test_worker_probe_paths_are_served_by_its_probe_server() -> None:
    source = (ROOT / "services/worker/src/nova_worker/probes.py").read_text(encoding="utf-8")
    container = pod_spec(find(rendered("defaults")[1], "Deployment", "nova-worker"))["containers"][
        0
    ]
    for probe in ("livenessProbe", "readinessProbe"):
        assert f'"{container[probe]["httpGet"]["path"]}"' in source
    assert '"/metrics"' in source


def test_jwks_url_is_auths_route() -> None:
    manifest = rendered("defaults")[1]
    auth_port = settings_class("auth").model_fields["port"].default
    jwks = find(manifest, "ConfigMap", "nova-users-env")["data"]["NOVA_JWKS_URL"]
    assert jwks == f"http://nova-auth:{auth_port}/.well-known/jwks.json"
    app = importlib.import_module("nova_auth.app").create_app(
        settings_class("auth")(environment="test")
    )
    assert "/.well-known/jwks.json" in {route.path for route in app.routes}


def test_worker_grace_outlasts_every_hard_task_limit() -> None:
    fields = settings_class("worker").model_fields
    limits = {
        name: field.default
        for name, field in fields.items()
        if name.endswith("time_limit_seconds") and "soft" not in name
    }
    assert limits, "WorkerSettings defines no hard time limit any more"
    for value_set in ("defaults", "kind", "prod-example"):
        worker = find(rendered(value_set)[1], "Deployment", "nova-worker")
        assert pod_spec(worker)["terminationGracePeriodSeconds"] > max(limits.values()), limits


def test_each_service_owns_its_schema() -> None:
    manifest = rendered("kind")[1]
    init = find(manifest, "ConfigMap", "nova-postgresql-init")["data"]["10-service-roles.sh"]
    owners = re.search(r"for svc in ([a-z ]+); do", init)
    assert owners is not None
    assert set(owners.group(1).split()) == {"auth", "users", "worker"}
    for service in owners.group(1).split():
        assert settings_class(service).model_fields["database_schema"].default == service


@pytest.mark.parametrize("service", PYTHON_SERVICES)
def test_image_entrypoint_is_the_console_script(service: str) -> None:
    """One Dockerfile: `nova-service` links the SERVICE build arg's console script."""
    dockerfile = (ROOT / "services" / "Dockerfile").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())
    assert f"nova-{service}" in project["project"]["scripts"]
    assert 'ln -s "nova-${SERVICE}" /app/.venv/bin/nova-service' in dockerfile
    entrypoints = re.findall(r'^ENTRYPOINT \["([^"]+)"\]$', dockerfile, re.MULTILINE)
    assert entrypoints == ["nova-dev-reload", "nova-service"]
    for cmd in re.findall(r'^CMD \["([^"]+)"\]$', dockerfile, re.MULTILINE):
        assert cmd in subcommands(service) or service == "worker"
    if service == "worker":
        assert "worker" in subcommands(service)


def test_services_read_the_supergraph_setting() -> None:
    assert "NOVA_GATEWAY_SUPERGRAPH" in env_names("gateway")
    assert "NOVA_GATEWAY_SUBGRAPH_URLS" in env_names("gateway")


def test_frontend_listens_where_the_chart_probes() -> None:
    dockerfile = (ROOT / "frontend" / "Dockerfile").read_text(encoding="utf-8")
    container = pod_spec(find(rendered("defaults")[1], "Deployment", "nova-frontend"))[
        "containers"
    ][0]
    port = container["ports"][0]["containerPort"]
    assert f"EXPOSE {port}" in dockerfile
    assert f"PORT={port}" in dockerfile
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/health"
    app_dir = ROOT / "frontend" / "src" / "app"
    routes = list(app_dir.glob("api/health/route.*"))
    assert routes, "the frontend has no src/app/api/health route for the chart's probes"


def test_dockerfile_paths_exist() -> None:
    text = (ROOT / "services" / "Dockerfile").read_text()
    for service in PYTHON_SERVICES:
        for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE):
            path = source.replace("${SERVICE}", service)
            assert (ROOT / path).exists(), f"services/Dockerfile copies {path} for {service}"
    assert Path(ROOT / ".dockerignore").exists()


def test_frontend_env_is_what_the_frontend_reads() -> None:
    sources = [
        path
        for pattern in ("src/**/*.ts", "src/**/*.tsx", "next.config.*")
        for path in (ROOT / "frontend").glob(pattern)
        if "node_modules" not in path.parts
    ]
    assert sources, "the frontend has no sources?"
    read = {
        name
        for path in sources
        for name in re.findall(r"process\.env\.([A-Z0-9_]+)", path.read_text(encoding="utf-8"))
    }
    manifest = rendered("defaults")[1]
    container = pod_spec(find(manifest, "Deployment", "nova-frontend"))["containers"][0]
    # PORT and HOSTNAME are read by the standalone server.js that `next build` generates.
    chart_env = set(container_env(manifest, container)) - {"PORT", "HOSTNAME"}
    assert chart_env, "the chart gives the frontend no setting at all?"
    assert chart_env <= read, f"the frontend does not read {sorted(chart_env - read)}"
    dockerfile = (ROOT / "frontend" / "Dockerfile").read_text(encoding="utf-8")
    for name in chart_env:
        assert f"ARG {name}=" in dockerfile, (
            f"{name} may feed next.config rewrites, fixed at build time: make it a build arg"
        )


def test_gateway_routes_every_subgraph_of_the_supergraph_in_cluster() -> None:
    supergraph = ROOT / "deploy" / "helm" / "nova" / "files" / "supergraph.graphql"
    names = re.findall(
        r'@join__graph\(\s*name:\s*"([^"]+)"', supergraph.read_text(encoding="utf-8")
    )
    assert names, "the chart's supergraph names no subgraph (make supergraph, then copy it)"
    manifest = rendered("defaults")[1]
    urls = json.loads(
        find(manifest, "ConfigMap", "nova-gateway-env")["data"]["NOVA_GATEWAY_SUBGRAPH_URLS"]
    )
    assert set(urls) == set(names)
    services = {svc["metadata"]["name"]: svc for svc in by_kind(manifest, "Service")}
    for url in urls.values():
        host, port = re.fullmatch(r"http://([a-z0-9-]+):(\d+)/graphql", url).groups()  # type: ignore[union-attr]
        assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}


@pytest.mark.parametrize("value_set", ["defaults", "kind", "prod-example"])
def test_every_gateway_upstream_comes_from_values_and_is_in_cluster(value_set: str) -> None:
    """The REST proxy and the subgraphs reach Services of the release, never the pod's loopback.

    Without NOVA_GATEWAY_ROUTES the proxy keeps its code defaults (127.0.0.1): /ready says 200
    while every /api/auth and /api/users request answers 502 upstream_unreachable.
    """
    from nova_gateway.edge.settings import DEFAULT_ROUTES

    manifest = rendered(value_set)[1]
    env = find(manifest, "ConfigMap", "nova-gateway-env")["data"]
    routes = json.loads(env["NOVA_GATEWAY_ROUTES"])
    assert set(DEFAULT_ROUTES) <= set(routes), "a route the gateway serves is not set by values"
    upstreams = [*routes.values(), *json.loads(env["NOVA_GATEWAY_SUBGRAPH_URLS"]).values()]
    services = {svc["metadata"]["name"]: svc for svc in by_kind(manifest, "Service")}
    for url in upstreams:
        match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)(/graphql)?", url)
        assert match, f"{url} is not an in-cluster Service URL"
        host, port = match.group(1), int(match.group(2))
        assert host in services, f"{url}: no Service {host} in the release"
        assert port in {p["port"] for p in services[host]["spec"]["ports"]}, url
    # Every REST prefix the Ingress sends to the gateway is a route the gateway proxies.
    ingress_paths = {
        path["path"]
        for ingress in by_kind(manifest, "Ingress")
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
        if path["backend"]["service"]["name"] == "nova-gateway" and path["path"].startswith("/api/")
    }
    assert ingress_paths <= set(routes)


def test_termination_grace_outlasts_pre_stop_plus_the_services_drain() -> None:
    for value_set in ("defaults", "prod-example"):
        manifest = rendered(value_set)[1]
        for name in ("gateway", "auth", "users"):
            spec = pod_spec(find(manifest, "Deployment", f"nova-{name}"))
            drain = settings_class(name).model_fields["graceful_shutdown_seconds"].default
            pre_stop = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert spec["terminationGracePeriodSeconds"] > pre_stop + drain, name
