"""The container run's pure logic: rendered manifests -> podman containers, hook order, Ingress.

The full run (real images, podman) is `make deploy-test`, its own CI step; these tests pin what it
does with a render, so a chart change that the run could not play shows up in `make test`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from deploy.containers.run import (
    ContainerSpec,
    RunError,
    Store,
    _expand,
    dev_secrets,
    hook_jobs,
    ingress_routes,
    pod_containers,
    podman_run_args,
    resolve_env,
    route,
)
from tests.deploy.deploy_helpers import find, rendered

Obj = dict[str, Any]


def kind_manifest() -> list[Obj]:
    return copy.deepcopy(rendered("kind")[1])


def store_for(manifest: list[Obj]) -> Store:
    store = Store()
    for obj in [*dev_secrets("nova"), *manifest]:
        store.add(obj)
    return store


def containers(manifest: list[Obj], kind: str, name: str, tmp_path: Path) -> list[ContainerSpec]:
    return pod_containers(
        find(manifest, kind, name),
        store=store_for(manifest),
        services=[o for o in manifest if o["kind"] == "Service"],
        namespace="nova",
        volumes_root=tmp_path,
        prefix="t",
    )


def test_hook_jobs_run_by_phase_then_weight() -> None:
    manifest = kind_manifest()
    post_install = [job["metadata"]["name"] for job in hook_jobs(manifest, "post-install")]
    # in-cluster PostgreSQL: the database exists only after install, so migrations are post-install
    assert post_install == ["nova-auth-migrate", "nova-users-migrate", "nova-worker-migrate"]
    # the preflight (every Secret the release reads exists) runs before anything else
    pre_install = [job["metadata"]["name"] for job in hook_jobs(manifest, "pre-install")]
    assert pre_install == ["nova-preflight"]
    pre_upgrade = [j["metadata"]["name"] for j in hook_jobs(manifest, "pre-upgrade")]
    assert pre_upgrade == ["nova-preflight", *post_install]
    job = find(manifest, "Job", "nova-users-migrate")
    job["metadata"]["annotations"]["helm.sh/hook-weight"] = "-5"
    assert hook_jobs(manifest, "post-install")[0]["metadata"]["name"] == "nova-users-migrate"


def test_a_deployment_becomes_a_hardened_container_reachable_by_its_service(
    tmp_path: Path,
) -> None:
    (auth,) = containers(kind_manifest(), "Deployment", "nova-auth", tmp_path)
    assert auth.image == "nova-auth:latest" or auth.image.startswith("nova-auth")
    assert auth.args == ["serve"]
    assert auth.command is None
    assert auth.user == "10001:10001"
    assert auth.read_only
    assert auth.cap_drop == ["ALL"]
    assert auth.no_new_privileges
    assert auth.restart == "always"
    assert "nova-auth" in auth.aliases
    assert "nova-auth.nova.svc.cluster.local" in auth.aliases
    assert auth.env["NOVA_AUTH_DATABASE_URL"].startswith("postgresql://auth:")
    assert auth.env["NOVA_AUTH_PORT"] == "8001"
    assert auth.readiness is not None
    assert (auth.readiness.kind, auth.readiness.path, auth.readiness.port) == (
        "http",
        "/ready",
        8001,
    )
    tmp = next(m for m in auth.mounts if m.container_path == "/tmp")
    assert tmp.host_path.is_dir()
    assert not tmp.read_only


def test_run_arguments_carry_the_security_context_but_never_a_secret_value(
    tmp_path: Path,
) -> None:
    (auth,) = containers(kind_manifest(), "Deployment", "nova-auth", tmp_path)
    args = podman_run_args(auth, "net", "nova.run=t")
    joined = " ".join(args)
    for flag in (
        "--user 10001:10001",
        "--read-only --read-only-tmpfs=false",
        "--cap-drop ALL",
        "--security-opt no-new-privileges",
        "--restart always",
        "--network net",
        "--network-alias nova-auth",
    ):
        assert flag in joined
    assert "--env NOVA_AUTH_DATABASE_URL" in joined
    assert auth.env["NOVA_AUTH_DATABASE_URL"] not in joined
    assert args[-2:] == [auth.image, "serve"]


def test_a_command_replaces_the_entrypoint(tmp_path: Path) -> None:
    manifest = kind_manifest()
    deployment = find(manifest, "Deployment", "nova-users")
    deployment["spec"]["template"]["spec"]["containers"][0]["command"] = ["nova-users", "x"]
    (users,) = containers(manifest, "Deployment", "nova-users", tmp_path)
    args = podman_run_args(users, "net", "l")
    assert args[args.index("--entrypoint") + 1] == '["nova-users", "x"]'


def test_configmap_and_claim_volumes_of_the_statefulset(tmp_path: Path) -> None:
    (postgres,) = containers(kind_manifest(), "StatefulSet", "nova-postgresql", tmp_path)
    init = next(m for m in postgres.mounts if m.container_path == "/docker-entrypoint-initdb.d")
    assert init.read_only
    assert "CREATE ROLE" in (init.host_path / "10-service-roles.sh").read_text()
    data = next(m for m in postgres.mounts if m.container_path == "/var/lib/postgresql/data")
    assert data.host_path.is_dir()
    assert postgres.user == "999:999"
    assert postgres.env["AUTH_PASSWORD"]
    assert postgres.readiness is not None
    assert postgres.readiness.kind == "exec"


def test_a_missing_secret_fails_naming_it(tmp_path: Path) -> None:
    manifest = kind_manifest()
    store = Store()
    for obj in manifest:
        store.add(obj)
    with pytest.raises(RunError, match=r"Secret 'nova-auth' does not exist"):
        pod_containers(
            find(manifest, "Deployment", "nova-auth"),
            store=store,
            services=[],
            namespace="nova",
            volumes_root=tmp_path,
            prefix="t",
        )


def test_env_resolution_follows_the_kubelet() -> None:
    store = Store()
    store.add({"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "secret"}})
    store.add({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"A": "1", "B": "2"}})
    container = {
        "envFrom": [{"configMapRef": {"name": "c"}, "prefix": "P_"}],
        "env": [
            {"name": "P_A", "value": "override"},
            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {
                "name": "X",
                "valueFrom": {"secretKeyRef": {"name": "s", "key": "no", "optional": True}},
            },
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "REF", "value": "$(S)-$(P_B)-$$(S)-$(UNKNOWN)"},
        ],
    }
    env = resolve_env(container, store, "test", "pod-0", "ns")
    assert env == {
        "P_A": "override",
        "P_B": "2",
        "S": "secret",
        "POD": "pod-0",
        "REF": "secret-2-$(S)-$(UNKNOWN)",
    }
    missing_key = {
        "env": [{"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "no"}}}]
    }
    with pytest.raises(RunError, match="Secret 's' has no key 'no'"):
        resolve_env(missing_key, store, "test", "pod-0", "ns")
    assert _expand("$(A)", {}) == "$(A)"


def test_a_service_that_remaps_the_port_is_refused(tmp_path: Path) -> None:
    manifest = kind_manifest()
    service = find(manifest, "Service", "nova-auth")
    service["spec"]["ports"][0]["port"] = 80
    with pytest.raises(RunError, match="maps port 80 to 8001"):
        containers(manifest, "Deployment", "nova-auth", tmp_path)


def test_the_ingress_sends_api_and_graphql_to_the_gateway_and_the_rest_to_the_frontend() -> None:
    routes = ingress_routes(kind_manifest())
    assert route(routes, "/api/auth/register") == ("nova-gateway", 8000)
    assert route(routes, "/api/users/me") == ("nova-gateway", 8000)
    assert route(routes, "/graphql") == ("nova-gateway", 8000)
    assert route(routes, "/graphqlx") == ("nova-frontend", 3000)
    assert route(routes, "/login") == ("nova-frontend", 3000)
    with pytest.raises(RunError):
        route([("/api", "x", 1)], "/other")


def test_dev_secrets_match_what_the_chart_reads(tmp_path: Path) -> None:
    manifest = kind_manifest()
    store = store_for(manifest)
    for kind in ("Deployment", "StatefulSet", "Job"):
        for workload in (o for o in manifest if o["kind"] == kind):
            pod_containers(
                workload,
                store=store,
                services=[],
                namespace="nova",
                volumes_root=tmp_path,
                prefix="t",
            )


def test_every_url_a_container_is_given_names_a_container_of_the_run(tmp_path: Path) -> None:
    """In-cluster addresses resolve on the run's network: no loopback, no unknown Service."""
    import re

    manifest = kind_manifest()
    store = store_for(manifest)
    services = [o for o in manifest if o["kind"] == "Service"]
    specs = [
        spec
        for workload in manifest
        if workload["kind"] in {"Deployment", "StatefulSet"}
        for spec in pod_containers(
            workload,
            store=store,
            services=services,
            namespace="nova",
            volumes_root=tmp_path,
            prefix="t",
        )
    ]
    aliases = {alias for spec in specs for alias in spec.aliases}
    checked = 0
    for spec in specs:
        for name, value in spec.env.items():
            for host in re.findall(
                r"\b(?:https?|postgresql|redis)://(?:[^@/\s\"]*@)?([\w.-]+)", value
            ):
                assert host in aliases, f"{spec.workload}: {name} points at {host}"
                checked += 1
    assert checked >= 10


def test_init_containers_come_first_and_run_once(tmp_path: Path) -> None:
    manifest = kind_manifest()
    pod = find(manifest, "Deployment", "nova-users")["spec"]["template"]["spec"]
    main = pod["containers"][0]
    pod["initContainers"] = [
        {"name": "wait", "image": main["image"], "args": ["check-config"], "env": main["env"]}
    ]
    init, users = containers(manifest, "Deployment", "nova-users", tmp_path)
    assert (init.init, init.restart, init.aliases, init.readiness) == (True, "no", [], None)
    assert init.args == ["check-config"]
    assert init.user == "10001:10001"
    assert not users.init
    assert "nova-users" in users.aliases
