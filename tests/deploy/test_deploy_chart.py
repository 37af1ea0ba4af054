"""The umbrella chart renders, lints, validates against Kubernetes 1.31-1.34 and stays hardened."""

from __future__ import annotations

import json
import os
import re
from typing import Any, cast

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from deploy.render import CHART, RenderError, lint, notes, render
from tests.deploy.deploy_helpers import (
    GOLDEN,
    HPA_COMPONENTS,
    ROOT,
    VALUE_SETS,
    Manifest,
    Obj,
    by_kind,
    component_of,
    everything_enabled,
    find,
    hook_of,
    pod_spec,
    rendered,
    values_file,
    workloads,
)

KUBERNETES_VERSIONS = ("1.31.0", "1.32.0", "1.33.0", "1.34.0")

# Custom resources are not in kubernetes-validate's schemas: their shape is checked below.
CUSTOM_KINDS = {
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
    "HTTPRoute": "gateway.networking.k8s.io/v1",
}


# --- rendering, lint, schemas ------------------------------------------------------------------


def test_every_value_set_renders(value_set: str) -> None:
    text, manifest = rendered(value_set)
    assert manifest, f"{value_set}: nothing rendered"
    assert {obj["kind"] for obj in manifest} >= {"Deployment", "Service", "ConfigMap"}
    for obj in manifest:
        assert obj["metadata"]["namespace"] == "nova", obj["metadata"]["name"]
    assert "\t" not in text


def test_helm_lint_strict_is_clean(value_set: str) -> None:
    assert lint(VALUE_SETS[value_set](), strict=True) == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_objects_validate_against_kubernetes(value_set: str, version: str) -> None:
    manifest = rendered(value_set)[1]
    checked = 0
    for obj in manifest:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} on {version}: {error.message}")
        checked += 1
    assert checked > 10


def test_custom_resources_have_the_expected_shape() -> None:
    manifest = rendered("everything")[1]
    services = {svc["metadata"]["name"]: svc for svc in by_kind(manifest, "Service")}
    seen = set()
    for obj in manifest:
        kind = obj["kind"]
        if kind not in CUSTOM_KINDS:
            continue
        seen.add(kind)
        assert obj["apiVersion"] == CUSTOM_KINDS[kind]
        assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
        spec = obj["spec"]
        if kind == "ServiceMonitor":
            labels = spec["selector"]["matchLabels"]
            targets = [
                svc
                for svc in services.values()
                if labels.items() <= svc["metadata"]["labels"].items()
            ]
            assert len(targets) == 1, obj["metadata"]["name"]
            ports = {port["name"] for port in targets[0]["spec"]["ports"]}
            for endpoint in spec["endpoints"]:
                assert endpoint["port"] in ports
                assert endpoint["path"] == "/metrics"
        elif kind == "PrometheusRule":
            rules = [rule for group in spec["groups"] for rule in group["rules"]]
            assert {"NovaHighErrorRate", "NovaHighLatency", "NovaTargetDown"} <= {
                rule["alert"] for rule in rules
            }
            for rule in rules:
                assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
                assert rule["labels"]["severity"] in {"warning", "critical"}
                assert rule["expr"].count("(") == rule["expr"].count(")")
        else:
            assert spec["parentRefs"]
            assert spec["hostnames"]
            for rule in spec["rules"]:
                assert rule["matches"][0]["path"]["type"] == "PathPrefix"
                for backend in rule["backendRefs"]:
                    service = services[backend["name"]]
                    assert backend["port"] in {p["port"] for p in service["spec"]["ports"]}
    assert seen == set(CUSTOM_KINDS)


def test_golden_renders_are_current(value_set: str) -> None:
    """Regenerate with `make deploy-golden` (NOVA_UPDATE_GOLDEN=1) after an intended change."""
    text = rendered(value_set)[0]
    golden = GOLDEN / f"{value_set}.yaml"
    if os.environ.get("NOVA_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing: run `make deploy-golden`"
    assert text == golden.read_text(encoding="utf-8"), (
        f"the {value_set} render differs from {golden.relative_to(ROOT)}; "
        "review the diff and run `make deploy-golden` if it is intended"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"components": {"auth": {"replica": 2}}}, "additional properties 'replica' not allowed"),
        ({"unknownTopLevel": True}, "additional properties 'unknownTopLevel' not allowed"),
        ({"components": {"auth": {"replicas": "two"}}}, "got string, want integer"),
        ({"global": {"environment": "staging"}}, "/global/environment"),
        ({"networkPolicy": {"enabled": "yes"}}, "got string, want boolean"),
        (
            {"components": {"auth": {"resources": {"limits": {"memory": ["1Gi"]}}}}},
            "/resources/limits/memory",
        ),
        ({"components": {"billing": {"enabled": True}}}, "missing properties"),
        ({"components": {"gateway": {"image": {"digest": "latest"}}}}, "/image/digest"),
    ],
)
def test_invalid_values_are_rejected_by_the_schema(override: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderError, match=r"- at '") as error:
        render(override)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"postgresql": {"enabled": True}}, "postgresql.enabled: the in-cluster PostgreSQL"),
        ({"redis": {"enabled": True}}, "redis.enabled: the in-cluster Redis is for kind/dev"),
        ({"components": {"auth": {"secretValues": {"signing-keys": "x"}}}}, "dev/test only"),
        ({"components": {"beat": {"replicas": 2}}}, "components.beat is a singleton"),
        (
            {
                "global": {"environment": "dev"},
                "components": {"users": {"secretValues": {"redis-url": "redis://r"}}},
            },
            'components.users.secretValues has no key "database-url"',
        ),
        (
            {"ingress": {"enabled": True}, "components": {"frontend": {"enabled": False}}},
            'points at "frontend"',
        ),
    ],
)
def test_unsafe_production_values_fail_with_a_clear_message(
    override: dict[str, Any], message: str
) -> None:
    with pytest.raises(RenderError) as error:
        render(override)
    assert message in str(error.value)


def test_dev_postgresql_requires_its_secret() -> None:
    values = values_file("values-kind.yaml")
    values["postgresql"]["auth"]["existingSecret"] = ""
    with pytest.raises(RenderError, match=r"postgresql\.auth\.existingSecret is required"):
        render(values)


# --- hardening ---------------------------------------------------------------------------------


def _containers(obj: Obj) -> list[Obj]:
    spec = pod_spec(obj) if obj["kind"] != "Pod" else obj["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_every_container_is_hardened(manifest: Manifest) -> None:
    for obj in [*workloads(manifest), *by_kind(manifest, "Pod")]:
        spec = pod_spec(obj) if obj["kind"] != "Pod" else obj["spec"]
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert "hostNetwork" not in spec, where
        assert "hostPID" not in spec, where
        for container in _containers(obj):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["runAsUser"] >= 999, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys(), where
            assert {"cpu", "memory"} <= resources["limits"].keys(), where
            if obj["kind"] != "Job" and container["name"] == component_of(obj):
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    assert probe in container, f"{where}: no {probe}"
            assert "@" in container["image"] or ":" in container["image"].rsplit("/", 1)[-1]
            assert not container["image"].endswith(":latest"), where


def test_writable_paths_are_empty_dirs_and_nothing_else_is_writable(manifest: Manifest) -> None:
    for deployment in by_kind(manifest, "Deployment"):
        spec = pod_spec(deployment)
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        mounts = spec["containers"][0]["volumeMounts"]
        assert "/tmp" in {mount["mountPath"] for mount in mounts}
        for mount in mounts:
            volume = volumes[mount["name"]]
            assert "emptyDir" in volume or mount.get("readOnly") is True, mount
            assert "subPath" not in mount


def test_liveness_differs_from_readiness_for_http_services(manifest: Manifest) -> None:
    for deployment in by_kind(manifest, "Deployment"):
        container = pod_spec(deployment)["containers"][0]
        live, ready = container["livenessProbe"], container["readinessProbe"]
        if component_of(deployment) in {"gateway", "auth", "users", "worker"}:
            assert live["httpGet"]["path"] == "/health"
            assert ready["httpGet"]["path"] == "/ready"


def test_termination_grace_covers_the_pre_stop_sleep_and_the_drain(manifest: Manifest) -> None:
    for deployment in by_kind(manifest, "Deployment"):
        spec = pod_spec(deployment)
        container = spec["containers"][0]
        sleep = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        grace = spec["terminationGracePeriodSeconds"]
        if component_of(deployment) in {"gateway", "auth", "users", "frontend"}:
            assert sleep > 0, deployment["metadata"]["name"]
        assert grace > sleep + 20, deployment["metadata"]["name"]


def test_every_service_account_keeps_its_token_out_of_pods(manifest: Manifest) -> None:
    for account in by_kind(manifest, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def test_beat_is_a_single_recreated_pod_without_pdb_or_hpa() -> None:
    manifest = rendered("everything")[1]
    beat = find(manifest, "Deployment", "nova-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    probe = pod_spec(beat)["containers"][0]["livenessProbe"]
    assert probe["exec"]["command"] == ["nova-worker", "healthcheck", "--beat"]
    for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler"):
        assert "beat" not in {component_of(obj) for obj in by_kind(manifest, kind)}


def test_multi_replica_components_have_a_pdb(manifest: Manifest) -> None:
    protected = {component_of(pdb) for pdb in by_kind(manifest, "PodDisruptionBudget")}
    for deployment in by_kind(manifest, "Deployment"):
        replicas = deployment["spec"].get("replicas")
        if replicas is not None and replicas > 1:
            assert component_of(deployment) in protected, deployment["metadata"]["name"]


def test_hpa_is_opt_in_per_component() -> None:
    assert by_kind(rendered("defaults")[1], "HorizontalPodAutoscaler") == []
    manifest = rendered("everything")[1]
    scaled = {
        obj["spec"]["scaleTargetRef"]["name"]
        for obj in by_kind(manifest, "HorizontalPodAutoscaler")
    }
    assert scaled == {f"nova-{name}" for name in HPA_COMPONENTS}
    for name in HPA_COMPONENTS:
        assert "replicas" not in find(manifest, "Deployment", f"nova-{name}")["spec"]


def test_images_can_be_pinned_by_digest() -> None:
    digest = "sha256:" + "a" * 64
    manifest = render({"components": {"auth": {"image": {"tag": "1.2.3", "digest": digest}}}})
    deployment = next(
        obj
        for obj in yaml.safe_load_all(manifest)
        if obj and obj["metadata"]["name"] == "nova-auth" and obj["kind"] == "Deployment"
    )
    assert pod_spec(deployment)["containers"][0]["image"] == f"nova-auth:1.2.3@{digest}"


# --- configuration, secrets, hooks ------------------------------------------------------------


def test_env_comes_from_a_configmap_with_a_checksum(manifest: Manifest) -> None:
    for deployment in by_kind(manifest, "Deployment"):
        container = pod_spec(deployment)["containers"][0]
        source = container["envFrom"][0]  # the chart's; components.<name>.envFrom follow
        configmap = find(manifest, "ConfigMap", source["configMapRef"]["name"])
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert len(annotations["checksum/env"]) == 64
        assert all(isinstance(value, str) for value in configmap["data"].values())


def test_a_config_change_rolls_the_pods() -> None:
    def checksum(values: dict[str, Any]) -> str:
        for obj in yaml.safe_load_all(render(values)):
            if obj and obj["kind"] == "Deployment" and obj["metadata"]["name"] == "nova-users":
                return str(obj["spec"]["template"]["metadata"]["annotations"]["checksum/env"])
        raise AssertionError("no users Deployment")

    assert checksum({}) != checksum(
        {"components": {"users": {"env": {"NOVA_USERS_LOG_LEVEL": "DEBUG"}}}}
    )


CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@\"]*(:[^/\s@\"]*)?@", re.IGNORECASE)


def test_no_secret_value_is_rendered_outside_dev() -> None:
    for name in ("defaults", "prod-example"):
        manifest = rendered(name)[1]
        assert by_kind(manifest, "Secret") == [], name
        for configmap in by_kind(manifest, "ConfigMap"):
            for key, value in configmap["data"].items():
                assert "PASSWORD" not in key
                assert "SECRET" not in key
                assert "KEY" not in key
                assert not CREDENTIALS_IN_URL.search(value), f"credentials in {key}"


def test_secret_env_references_the_configured_secret() -> None:
    manifest = rendered("prod-example")[1]
    auth = pod_spec(find(manifest, "Deployment", "nova-auth"))["containers"][0]
    refs = {env["name"]: env["valueFrom"]["secretKeyRef"] for env in auth["env"]}
    values = values_file("values.yaml")["components"]["auth"]["secretEnv"]
    assert set(refs) == set(values)
    assert {ref["name"] for ref in refs.values()} == {"nova-auth-secrets"}
    beat = pod_spec(find(manifest, "Deployment", "nova-beat"))["containers"][0]
    assert {env["valueFrom"]["secretKeyRef"]["name"] for env in beat["env"]} == {
        "nova-worker-secrets"
    }


def test_migrations_are_hook_jobs_with_their_prerequisites_first(value_set: str) -> None:
    manifest = rendered(value_set)[1]
    jobs = [job for job in by_kind(manifest, "Job") if component_of(job) == "migrations"]
    migrated = {job["metadata"]["labels"]["nova.dev/migrates"] for job in jobs}
    assert migrated == {"auth", "users", "worker"}
    account = find(manifest, "ServiceAccount", "nova-migrations")
    dev_postgres = VALUE_SETS[value_set]().get("postgresql", {}).get("enabled", False)
    phase = "post-install,pre-upgrade" if dev_postgres else "pre-install,pre-upgrade"
    for job in jobs:
        hook = hook_of(job)
        assert hook["helm.sh/hook"] == phase
        assert "before-hook-creation" in hook["helm.sh/hook-delete-policy"]
        assert "hook-failed" not in hook["helm.sh/hook-delete-policy"]
        assert job["spec"]["backoffLimit"] >= 1
        assert job["spec"]["activeDeadlineSeconds"] > 0
        spec = pod_spec(job)
        assert spec["restartPolicy"] == "Never"
        assert spec["serviceAccountName"] == account["metadata"]["name"]
        container = spec["containers"][0]
        assert container["args"] == ["migrate"]
        chart_configmaps = {cm["metadata"]["name"] for cm in by_kind(manifest, "ConfigMap")}
        for source in container.get("envFrom", []):  # only components.<name>.envFrom
            assert source.get("configMapRef", {}).get("name") not in chart_configmaps, (
                "hooks run before the release's ConfigMaps exist"
            )
        weight = int(hook["helm.sh/hook-weight"])
        assert int(hook_of(account)["helm.sh/hook-weight"]) < weight
        for secret in by_kind(manifest, "Secret"):
            secret_hook = hook_of(secret)
            assert "pre-install" in secret_hook["helm.sh/hook"], "hooks read this Secret"
            assert int(secret_hook["helm.sh/hook-weight"]) < weight
            assert secret_hook["helm.sh/hook-delete-policy"] == "before-hook-creation"


def test_migration_env_matches_the_service_env() -> None:
    manifest = rendered("prod-example")[1]
    for name in ("auth", "users", "worker"):
        job = pod_spec(find(manifest, "Job", f"nova-{name}-migrate"))["containers"][0]
        deployment = pod_spec(find(manifest, "Deployment", f"nova-{name}"))["containers"][0]
        configmap = find(manifest, "ConfigMap", f"nova-{name}-env")["data"]
        job_env = {env["name"]: env for env in job["env"]}
        for key, value in configmap.items():
            assert job_env[key]["value"] == value
        for env in deployment["env"]:
            assert job_env[env["name"]] == env
        assert job["image"] == deployment["image"]


def test_supergraph_is_mounted_as_a_directory_for_hot_reload() -> None:
    manifest = rendered("defaults")[1]
    configmap = find(manifest, "ConfigMap", "nova-supergraph")
    chart_copy = (CHART / "files" / "supergraph.graphql").read_text(encoding="utf-8")
    assert configmap["data"]["supergraph.graphql"] == chart_copy
    gateway = pod_spec(find(manifest, "Deployment", "nova-gateway"))
    volume = next(
        v for v in gateway["volumes"] if v.get("configMap", {}).get("name") == "nova-supergraph"
    )
    mount = next(m for m in gateway["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    assert "subPath" not in mount, "a subPath mount never sees ConfigMap updates"
    env = find(manifest, "ConfigMap", "nova-gateway-env")["data"]
    assert env["NOVA_GATEWAY_SUPERGRAPH"] == f"{mount['mountPath']}/supergraph.graphql"
    annotations = find(manifest, "Deployment", "nova-gateway")["spec"]["template"]["metadata"]
    assert not any("supergraph" in key for key in annotations["annotations"]), (
        "a supergraph checksum would restart the gateway instead of letting it hot-reload"
    )


def test_chart_supergraph_is_a_copy_of_the_composed_one() -> None:
    composed = ROOT / "deploy" / "supergraph.graphql"
    chart_copy = CHART / "files" / "supergraph.graphql"
    assert chart_copy.read_text(encoding="utf-8") == composed.read_text(encoding="utf-8"), (
        "copy deploy/supergraph.graphql to deploy/helm/nova/files/supergraph.graphql"
    )


# --- network policies --------------------------------------------------------------------------

EXPECTED_INGRESS = {
    "gateway": {"frontend", "tests", "ingress-controller", "prometheus"},
    "auth": {"gateway", "users", "worker", "prometheus"},
    "users": {"gateway", "worker", "prometheus"},
    "frontend": {"ingress-controller"},
    "worker": {"prometheus"},
    "beat": set(),
    "flower": {"prometheus"},
}
# The everything value set exports traces (otlp) and gives the worker an SMTP relay.
EXPECTED_EGRESS = {
    "gateway": {"auth", "users", "redis", "dns", "otlp"},
    "auth": {"postgresql", "redis", "dns", "otlp"},
    "users": {"auth", "postgresql", "redis", "dns", "otlp"},
    "frontend": {"gateway", "dns", "otlp"},
    "worker": {"auth", "users", "postgresql", "redis", "dns", "otlp", "smtp"},
    "beat": {"redis", "dns", "otlp"},
    "flower": {"redis", "dns", "otlp"},
}
# Rules without peers (any address) are told apart by their port.
PORT_TARGETS = {53: "dns", 5432: "postgresql", 6379: "redis", 4318: "otlp", 1025: "smtp"}


def _peer(peer: Obj) -> str:
    pods = peer.get("podSelector", {}).get("matchLabels", {})
    namespaces = peer.get("namespaceSelector", {}).get("matchLabels", {})
    if pods.get("k8s-app") == "kube-dns":
        return "dns"
    if namespaces.get("kubernetes.io/metadata.name") == "ingress-nginx":
        return "ingress-controller"
    if namespaces.get("kubernetes.io/metadata.name") == "monitoring":
        return "prometheus"
    if "ipBlock" in peer:
        return "external"
    return str(pods["app.kubernetes.io/component"])


def _egress_targets(rule: Obj) -> set[str]:
    ports = {port["port"] for port in rule["ports"]}
    if ports == {53}:
        return {"dns"}
    if "to" not in rule:
        return {PORT_TARGETS[port] for port in ports}
    return {_peer(peer) for peer in rule["to"]}


def test_network_policies_allow_exactly_the_architecture_flows() -> None:
    manifest = rendered("everything")[1]
    policies = {policy["metadata"]["name"]: policy for policy in by_kind(manifest, "NetworkPolicy")}
    deny = policies.pop("nova-default-deny")["spec"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "nova"}}
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    for name, expected in EXPECTED_INGRESS.items():
        spec = policies[f"nova-{name}"]["spec"]
        sources = {_peer(peer) for rule in spec.get("ingress") or [] for peer in rule["from"]}
        assert sources == expected, f"ingress of {name}"
        targets = set().union(*(_egress_targets(rule) for rule in spec["egress"]))
        assert targets == EXPECTED_EGRESS[name], f"egress of {name}"
    migrations = policies["nova-migrations"]["spec"]
    assert set().union(*(_egress_targets(rule) for rule in migrations["egress"])) == {
        "dns",
        "otlp",
        "postgresql",
    }
    tests = policies["nova-tests"]["spec"]
    assert "ingress" not in tests
    assert set().union(*(_egress_targets(rule) for rule in tests["egress"])) == {"dns", "gateway"}


def test_network_policies_use_cidrs_for_external_data_services() -> None:
    manifest = rendered("prod-example")[1]
    auth = find(manifest, "NetworkPolicy", "nova-auth")["spec"]["egress"]
    blocks = {
        peer["ipBlock"]["cidr"]
        for rule in auth
        for peer in rule.get("to", [])
        if "ipBlock" in peer and rule["ports"][0]["port"] != 53
    }
    assert blocks == {"10.20.0.0/24", "10.20.1.0/24"}
    assert by_kind(rendered("defaults")[1], "NetworkPolicy") == []


# --- edge, observability, notes ----------------------------------------------------------------


def test_ingress_routes_api_and_graphql_to_the_gateway_and_the_rest_to_the_frontend() -> None:
    manifest = rendered("everything")[1]
    (ingress,) = by_kind(manifest, "Ingress")
    paths = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert paths == {
        "/admin/data/auth": "nova-gateway",  # the model admins (on outside prod)
        "/admin/data/users": "nova-gateway",
        "/graphql": "nova-gateway",
        "/api/auth/resume": "nova-frontend",  # the frontend's session resume, before /api/auth
        "/api/auth": "nova-gateway",
        "/api/users": "nova-gateway",
        "/": "nova-frontend",
    }
    (route,) = by_kind(manifest, "HTTPRoute")
    assert {
        r["matches"][0]["path"]["value"]: r["backendRefs"][0]["name"]
        for r in route["spec"]["rules"]
    } == paths
    assert by_kind(rendered("defaults")[1], "Ingress") == []
    assert by_kind(rendered("defaults")[1], "HTTPRoute") == []


def test_observability_objects_are_opt_in_and_dashboards_ship() -> None:
    defaults = rendered("defaults")[1]
    assert not by_kind(defaults, "ServiceMonitor")
    assert not by_kind(defaults, "PrometheusRule")
    dashboards = [
        cm
        for cm in by_kind(defaults, "ConfigMap")
        if cm["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    files = sorted(path.name for path in (CHART / "dashboards").glob("*.json"))
    assert sorted(key for cm in dashboards for key in cm["data"]) == files
    overview = json.loads(
        next(cm for cm in dashboards if "nova-overview.json" in cm["data"])["data"][
            "nova-overview.json"
        ]
    )
    exprs = [target["expr"] for panel in overview["panels"] for target in panel["targets"]]
    assert exprs
    assert all("http_server_request_duration_seconds" in expr for expr in exprs)
    monitored = {component_of(obj) for obj in by_kind(rendered("everything")[1], "ServiceMonitor")}
    assert monitored == {"gateway", "auth", "users", "worker", "flower"}


def test_templates_never_probe_the_cluster() -> None:
    for template in (CHART / "templates").iterdir():
        text = template.read_text(encoding="utf-8")
        assert ".Capabilities" not in text, template.name
        assert "lookup" not in text, template.name


def test_notes_tell_how_to_reach_the_app() -> None:
    assert "port-forward svc/nova-frontend 3000:3000" in notes({})
    assert "port-forward svc/nova-gateway 8000:8000" in notes({})
    kind_notes = notes(values_file("values-kind.yaml"))
    assert "http://localhost/" in kind_notes
    assert "port-forward svc/nova-flower" in kind_notes
    assert "https://localhost/graphql" in notes(everything_enabled())


@pytest.mark.parametrize(
    ("release", "prefix"), [("prod", "prod-nova"), ("nova-staging", "nova-staging")]
)
def test_names_follow_the_release(release: str, prefix: str) -> None:
    manifest = yaml.safe_load_all(render({}, release=release, namespace="apps"))
    objs = [obj for obj in manifest if obj]
    names = {obj["metadata"]["name"] for obj in objs}
    assert f"{prefix}-auth" in names
    assert f"{prefix}-auth-migrate" in names
    assert all(obj["metadata"]["namespace"] == "apps" for obj in objs)
    env = next(o for o in objs if o["metadata"]["name"] == f"{prefix}-users-env")["data"]
    assert env["NOVA_JWKS_URL"] == f"http://{prefix}-auth:8001/.well-known/jwks.json"
    gateway_env = next(o for o in objs if o["metadata"]["name"] == f"{prefix}-gateway-env")["data"]
    assert f"http://{prefix}-users:8002/graphql" in gateway_env["NOVA_GATEWAY_SUBGRAPH_URLS"]


def test_trusted_proxies_become_the_forwarded_allow_ips_setting() -> None:
    def env(values: dict[str, Any], name: str) -> dict[str, str]:
        for obj in yaml.safe_load_all(render(values)):
            if obj and obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == f"{name}-env":
                return cast(dict[str, str], obj["data"])
        raise AssertionError(f"no ConfigMap {name}-env")

    # by default nothing is trusted: no client can choose its address through a header
    assert "NOVA_GATEWAY_FORWARDED_ALLOW_IPS" not in env({}, "nova-gateway")
    behind_ingress = {
        "components": {
            "gateway": {"trustedProxies": ["10.244.0.0/16", "fd00::/8"]},
            "auth": {"trustedProxies": ["10.244.0.0/16"]},
        }
    }
    gateway = env(behind_ingress, "nova-gateway")
    assert gateway["NOVA_GATEWAY_FORWARDED_ALLOW_IPS"] == "10.244.0.0/16,fd00::/8"
    assert env(behind_ingress, "nova-auth")["NOVA_AUTH_FORWARDED_ALLOW_IPS"] == "10.244.0.0/16"
    kind = yaml.safe_load_all(rendered("kind")[0])
    kind_env = {
        obj["metadata"]["name"]: obj["data"]
        for obj in kind
        if obj and obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-env")
    }
    assert kind_env["nova-gateway-env"]["NOVA_GATEWAY_FORWARDED_ALLOW_IPS"] == "10.244.0.0/16"
    # the production example trusts its pod network at the gateway and behind it, so auth's and
    # users' per-client limits see the client, not one gateway pod
    prod = yaml.safe_load_all(rendered("prod-example")[0])
    prod_env = {
        obj["metadata"]["name"]: obj["data"]
        for obj in prod
        if obj and obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-env")
    }
    for name in ("gateway", "auth", "users"):
        assert prod_env[f"nova-{name}-env"][f"NOVA_{name.upper()}_FORWARDED_ALLOW_IPS"]


def test_the_gateway_serves_metrics_on_a_port_only_prometheus_reaches() -> None:
    objects = [
        obj
        for obj in yaml.safe_load_all(
            render({"metrics": {"serviceMonitor": {"enabled": True}}, "networkPolicy": {}})
        )
        if obj
    ]

    def named(kind: str, name: str) -> dict[str, Any]:
        return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)

    service_ports = {
        p["name"]: p["port"] for p in named("Service", "nova-gateway")["spec"]["ports"]
    }
    assert service_ports == {"http": 8000, "metrics": 9000}
    monitor = named("ServiceMonitor", "nova-gateway")
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    env = named("ConfigMap", "nova-gateway-env")["data"]
    assert env["NOVA_GATEWAY_METRICS_PORT"] == "9000"
    container = pod_spec(named("Deployment", "nova-gateway"))["containers"][0]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "http": 8000,
        "metrics": 9000,
    }
    policies = [
        o for o in objects if o["kind"] == "NetworkPolicy" and "gateway" in o["metadata"]["name"]
    ]
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            ports = [p["port"] for p in rule.get("ports", [])]
            selectors = [f.get("namespaceSelector") for f in rule.get("from", [])]
            if ports == ["metrics"]:
                assert any(selectors), "the metrics port is open to Prometheus only"
            else:
                assert "metrics" not in ports
