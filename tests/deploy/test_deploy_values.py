"""Values a platform team sets: hostile ones are refused naming the key, the extras render.

Every refusal comes either from ``values.schema.json`` (Helm reports the JSON pointer of the
key) or from ``nova.validate`` in the templates (cross-field rules, named as dotted keys).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy.render import RenderError, notes, objects, render
from tests.deploy.deploy_helpers import (
    Manifest,
    Obj,
    by_kind,
    component_of,
    find,
    hook_of,
    pod_spec,
    rendered,
    values_file,
)

DNS_1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
RESOURCES = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}


def _auth(**entry: Any) -> dict[str, Any]:
    return {"components": {"auth": entry}}


def _worker(**entry: Any) -> dict[str, Any]:
    return {"components": {"worker": entry}}


# (values, text the refusal must contain: the key it names)
HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    # quantities, addresses, ports, counts
    (
        "memory limit lots",
        _auth(resources={**RESOURCES, "limits": {"memory": "lots"}}),
        "/components/auth/resources/limits/memory",
    ),
    (
        "cpu request fast",
        _auth(resources={**RESOURCES, "requests": {"cpu": "fast", "memory": "1Gi"}}),
        "/components/auth/resources/requests/cpu",
    ),
    (
        "CIDR /33",
        {"networkPolicy": {"postgresql": {"cidrs": ["10.0.0.0/33"]}}},
        "/networkPolicy/postgresql/cidrs/0",
    ),
    (
        "CIDR octet 300",
        {"networkPolicy": {"redis": {"cidrs": ["300.1.1.0/24"]}}},
        "/networkPolicy/redis/cidrs/0",
    ),
    (
        "DNS peer CIDR without prefix",
        {"networkPolicy": {"dns": {"to": [{"ipBlock": {"cidr": "10.0.0.10"}}]}}},
        "/networkPolicy/dns/to/0/ipBlock/cidr",
    ),
    (
        "HPA min above max",
        {"components": {"gateway": {"hpa": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}}}},
        "components.gateway.hpa.minReplicas (5) is above components.gateway.hpa.maxReplicas (3)",
    ),
    (
        "negative replicas",
        {"components": {"users": {"replicas": -1}}},
        "/components/users/replicas",
    ),
    ("port 70000", _auth(port=70000), "/components/auth/port"),
    (
        "data service port 0",
        {"networkPolicy": {"postgresql": {"port": 0}}},
        "/networkPolicy/postgresql/port",
    ),
    ("no DNS port", {"networkPolicy": {"dns": {"ports": []}}}, "/networkPolicy/dns/ports"),
    ("SMTP port 0", {"mail": {"smtp": {"port": 0}}}, "/mail/smtp/port"),
    (
        "probe period 0",
        _auth(probes={"liveness": {"periodSeconds": 0}}),
        "/components/auth/probes/liveness/periodSeconds",
    ),
    (
        "PDB maxUnavailable half",
        _auth(pdb={"maxUnavailable": "half"}),
        "/components/auth/pdb/maxUnavailable",
    ),
    (
        "pre-stop sleep longer than the grace period",
        _auth(preStopSleepSeconds=60, terminationGracePeriodSeconds=30),
        "components.auth.preStopSleepSeconds (60) must be below "
        "components.auth.terminationGracePeriodSeconds (30)",
    ),
    ("storage size big", {"postgresql": {"storage": {"size": "big"}}}, "/postgresql/storage/size"),
    # unknown keys at every level
    (
        "unknown top-level key",
        {"unknownTopLevel": True},
        "additional properties 'unknownTopLevel' not allowed",
    ),
    (
        "unknown global key",
        {"global": {"registry": "r.example.com"}},
        "additional properties 'registry' not allowed",
    ),
    ("unknown component key", _auth(replica=2), "additional properties 'replica' not allowed"),
    (
        "unknown image key",
        _auth(image={"repository": "nova-auth", "version": "1"}),
        "additional properties 'version' not allowed",
    ),
    ("unknown HPA key", _auth(hpa={"min": 2}), "additional properties 'min' not allowed"),
    (
        "unknown securityContext key",
        {"containerSecurityContext": {"readOnlyRoot": True}},
        "additional properties 'readOnlyRoot' not allowed",
    ),
    (
        "unknown DNS key",
        {"networkPolicy": {"dns": {"servers": ["10.0.0.10"]}}},
        "additional properties 'servers' not allowed",
    ),
    (
        "unknown mail key",
        {"mail": {"smtp": {"tls": True}}},
        "additional properties 'tls' not allowed",
    ),
    (
        "unknown TLS entry key",
        {"ingress": {"tls": [{"secret": "nova-tls"}]}},
        "additional properties 'secret' not allowed",
    ),
    (
        "unknown toleration key",
        _auth(tolerations=[{"key": "gpu", "operator": "Exists", "effects": "NoSchedule"}]),
        "additional properties 'effects' not allowed",
    ),
    (
        "unknown sidecar key",
        _worker(sidecars=[{"name": "s", "image": "s:1", "resource": {}}]),
        "additional properties 'resource' not allowed",
    ),
    (
        "unknown extraEgress key",
        _worker(networkPolicy={"extraEgress": [{"to": [], "port": 25}]}),
        "additional properties 'port' not allowed",
    ),
    # malformed strings and enums
    (
        "image tag with a space",
        _auth(image={"repository": "nova-auth", "tag": "1.0 beta"}),
        "/components/auth/image/tag",
    ),
    (
        "image tag with a colon",
        _auth(image={"repository": "nova-auth", "tag": "v1:2"}),
        "/components/auth/image/tag",
    ),
    (
        "image repository in capitals",
        _auth(image={"repository": "Nova/Auth"}),
        "/components/auth/image/repository",
    ),
    (
        "pull policy Sometimes",
        _auth(image={"repository": "nova-auth", "pullPolicy": "Sometimes"}),
        "/components/auth/image/pullPolicy",
    ),
    (
        "service type External",
        {"components": {"gateway": {"service": {"type": "External"}}}},
        "/components/gateway/service/type",
    ),
    ("environment staging", {"global": {"environment": "staging"}}, "/global/environment"),
    ("SMTP security ssl", {"mail": {"smtp": {"security": "ssl"}}}, "/mail/smtp/security"),
    (
        "anti-affinity preset medium",
        _auth(podAntiAffinityPreset="medium"),
        "/components/auth/podAntiAffinityPreset",
    ),
    (
        "whenUnsatisfiable Maybe",
        _auth(
            topologySpreadConstraints=[
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"}
            ]
        ),
        "/components/auth/topologySpreadConstraints/0/whenUnsatisfiable",
    ),
    (
        "label value with a space",
        _auth(podLabels={"team": "platform team"}),
        "/components/auth/podLabels/team",
    ),
    (
        "Secret name with capitals",
        _auth(existingSecret="Auth_Secret"),
        "/components/auth/existingSecret",
    ),
    (
        "OTLP endpoint without scheme",
        {"global": {"otlpEndpoint": "otel:4318"}},
        "/global/otlpEndpoint",
    ),
    ("ingress host with a space", {"ingress": {"hosts": ["nova example.com"]}}, "/ingress/hosts/0"),
    (
        "scrape interval in words",
        {"metrics": {"serviceMonitor": {"interval": "30 seconds"}}},
        "/metrics/serviceMonitor/interval",
    ),
    (
        "env name with a dash",
        _auth(extraEnv=[{"name": "LOG-LEVEL", "value": "debug"}]),
        "/components/auth/extraEnv/0/name",
    ),
    (
        "sidecar without image",
        _worker(sidecars=[{"name": "shipper"}]),
        "/components/worker/sidecars/0",
    ),
    # cross-field rules (nova.validate)
    (
        "typo in networkPolicy.to",
        {"components": {"gateway": {"networkPolicy": {"to": ["auth", "usres"]}}}},
        'components.gateway.networkPolicy.to: no component named "usres"',
    ),
    (
        "typo in networkPolicy.from",
        _auth(networkPolicy={"from": ["gatway"]}),
        'components.auth.networkPolicy.from: no component named "gatway"',
    ),
    (
        "route to an unknown component",
        {"routes": [{"path": "/", "component": "frontent"}]},
        'routes: / points at "frontent", which is not a component',
    ),
    (
        "mount of an undefined volume",
        _worker(extraVolumeMounts=[{"name": "ca", "mountPath": "/ca"}]),
        'components.worker.extraVolumeMounts: no volume named "ca"',
    ),
    (
        "volume name the chart uses",
        _worker(extraVolumes=[{"name": "supergraph", "emptyDir": {}}]),
        'components.worker.extraVolumes: the volume name "supergraph" is taken',
    ),
    (
        "sidecar named like the component",
        _worker(sidecars=[{"name": "worker", "image": "s:1"}]),
        'components.worker.sidecars: the container name "worker" is taken',
    ),
    (
        "pod label the selectors own",
        _auth(podLabels={"app.kubernetes.io/component": "api"}),
        "components.auth.podLabels: app.kubernetes.io/component is set by the chart",
    ),
    (
        "SMTP user without a password Secret",
        {"mail": {"smtp": {"host": "smtp.example.com", "username": "nova"}}},
        "mail.smtp.username needs mail.smtp.passwordSecret.name",
    ),
]


@pytest.mark.parametrize(
    ("values", "message"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
def test_hostile_values_are_refused_naming_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderError) as error:
        render(values)
    assert message in str(error.value)


def test_the_hostile_table_is_large_and_covers_both_layers() -> None:
    assert len(HOSTILE) >= 30
    assert len({case[0] for case in HOSTILE}) == len(HOSTILE)
    schema = [
        case for case in HOSTILE if case[2].startswith("/") or "additional properties" in case[2]
    ]
    assert len(schema) >= 30
    assert len(HOSTILE) - len(schema) >= 8


def test_the_schema_accepts_every_value_set_we_ship_and_the_extras() -> None:
    """The strict schema still takes real-world shapes (the everything set uses the extras)."""
    for name in ("defaults", "kind", "prod-example", "everything"):
        assert rendered(name)[1]
    render(
        {
            "components": {
                "auth": {
                    "resources": {
                        "requests": {"cpu": 0.25, "memory": 268435456},
                        "limits": {"cpu": "1500m", "memory": "1.5Gi"},
                    }
                }
            },
            "networkPolicy": {"redis": {"cidrs": ["10.0.0.0/8", "fd00::/8", "0.0.0.0/0"]}},
        }
    )


# --- defect: unknown component names in policies -----------------------------------------------


def test_a_known_but_disabled_component_in_a_policy_is_not_a_typo() -> None:
    manifest = objects(
        render(
            {
                "networkPolicy": {"enabled": True},
                "components": {
                    "flower": {"enabled": False, "networkPolicy": {"from": [], "to": []}},
                    "auth": {"networkPolicy": {"from": ["gateway", "flower"]}},
                },
            }
        )
    )
    sources = [
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for rule in find(manifest, "NetworkPolicy", "nova-auth")["spec"]["ingress"]
        for peer in rule["from"]
        if "podSelector" in peer and "namespaceSelector" not in peer
    ]
    assert sources == ["gateway"]


# --- defect: telemetry and mail flow under the prod example's policies -------------------------


def _egress(manifest: Manifest, policy: str) -> set[tuple[str, int]]:
    """(peer, port) pairs a policy allows; a peer is 'any', a CIDR, or 'ns=<ns>,pod=<labels>'."""
    pairs: set[tuple[str, int]] = set()
    for rule in find(manifest, "NetworkPolicy", policy)["spec"].get("egress", []):
        peers = []
        for peer in rule.get("to", [{}]):
            if not peer:
                peers.append("any")
            elif "ipBlock" in peer:
                peers.append(peer["ipBlock"]["cidr"])
            else:
                ns = peer.get("namespaceSelector", {}).get("matchLabels", {})
                pods = peer.get("podSelector", {}).get("matchLabels", {})
                label = ",".join(f"{k}={v}" for k, v in sorted({**ns, **pods}.items()))
                peers.append(
                    f"ns={'all' if 'namespaceSelector' in peer and not ns else 'own'}:{label}"
                )
        for port in rule["ports"]:
            pairs |= {(peer, port["port"]) for peer in peers}
    return pairs


COLLECTOR = (
    "ns=own:app.kubernetes.io/name=opentelemetry-collector,"
    "kubernetes.io/metadata.name=observability"
)


def test_prod_example_telemetry_reaches_the_collector_from_every_pod_and_nothing_else() -> None:
    manifest = rendered("prod-example")[1]
    env_endpoint = values_file("values-prod-example.yaml")["global"]["otlpEndpoint"]
    assert env_endpoint.endswith(":4318")
    exporting = set()
    for configmap in by_kind(manifest, "ConfigMap"):
        if configmap["data"].get("OTEL_EXPORTER_OTLP_ENDPOINT") == env_endpoint:
            exporting.add(component_of(configmap))
    assert exporting == {"gateway", "auth", "users", "frontend", "worker", "beat"}
    for name in [*sorted(exporting), "migrations"]:
        pairs = _egress(manifest, f"nova-{name}")
        assert (COLLECTOR, 4318) in pairs, name
        assert {pair for pair in pairs if pair[1] == 4318} == {(COLLECTOR, 4318)}, name
        assert not any(peer == "any" for peer, _ in pairs), f"{name} may reach any address"


def test_prod_example_mail_flows_from_the_worker_to_the_relay_only() -> None:
    manifest = rendered("prod-example")[1]
    env = find(manifest, "ConfigMap", "nova-worker-env")["data"]
    assert env["NOVA_WORKER_SMTP_HOST"] == "smtp.example.com"
    assert env["NOVA_WORKER_SMTP_PORT"] == "587"
    assert (env["NOVA_WORKER_SMTP_STARTTLS"], env["NOVA_WORKER_SMTP_TLS"]) == ("true", "false")
    assert env["NOVA_WORKER_SMTP_USERNAME"] == "nova"
    assert "NOVA_WORKER_SMTP_PASSWORD" not in env
    worker = pod_spec(find(manifest, "Deployment", "nova-worker"))["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in worker["env"]}
    assert refs["NOVA_WORKER_SMTP_PASSWORD"] == {"name": "nova-smtp", "key": "smtp-password"}
    assert ("10.20.2.10/32", 587) in _egress(manifest, "nova-worker")
    for name in ("gateway", "auth", "users", "frontend", "beat", "migrations"):
        assert not any(port == 587 for _, port in _egress(manifest, f"nova-{name}")), name
        if name != "migrations":
            data = find(manifest, "ConfigMap", f"nova-{name}-env")["data"]
            assert not any("SMTP" in key for key in data), name


def test_prod_example_worker_egress_is_exactly_its_flows() -> None:
    dns = {("ns=all:k8s-app=kube-dns", 53), ("169.254.20.10/32", 53)}
    pods = {
        (
            f"ns=own:app.kubernetes.io/component={c},app.kubernetes.io/instance=nova,"
            f"app.kubernetes.io/name=nova",
            port,
        )
        for c, port in (("auth", 8001), ("users", 8002))
    }
    expected = (
        dns
        | pods
        | {
            (COLLECTOR, 4318),
            ("10.20.0.0/24", 5432),
            ("10.20.1.0/24", 6379),
            ("10.20.2.10/32", 587),
        }
    )
    assert _egress(rendered("prod-example")[1], "nova-worker") == expected


@pytest.mark.parametrize(
    ("endpoint", "port"),
    [("http://collector:4318", 4318), ("https://otlp.example.com", 443), ("http://c.obs.svc", 80)],
)
def test_otlp_egress_port_follows_the_endpoint(endpoint: str, port: int) -> None:
    values = {"global": {"otlpEndpoint": endpoint}, "networkPolicy": {"enabled": True}}
    assert ("any", port) in _egress(objects(render(values)), "nova-gateway")
    values["networkPolicy"] = {"enabled": True, "otlp": {"port": 4317}}
    pairs = _egress(objects(render(values)), "nova-gateway")
    assert ("any", 4317) in pairs
    assert ("any", port) not in pairs


def test_without_an_otlp_endpoint_or_a_mail_host_no_such_egress_is_opened() -> None:
    manifest = objects(render({"networkPolicy": {"enabled": True}}))
    ports = {
        port["port"]
        for policy in by_kind(manifest, "NetworkPolicy")
        for rule in policy["spec"].get("egress", [])
        for port in rule["ports"]
    }
    assert ports == {53, 5432, 6379, 8000, 8001, 8002}
    assert "NOVA_WORKER_SMTP_HOST" not in find(manifest, "ConfigMap", "nova-worker-env")["data"]


@pytest.mark.parametrize(
    ("security", "starttls", "tls"), [("none", "false", "false"), ("tls", "false", "true")]
)
def test_smtp_security_maps_to_the_worker_settings(security: str, starttls: str, tls: str) -> None:
    values = {"mail": {"smtp": {"host": "10.0.0.25", "port": 465, "security": security}}}
    env = find(objects(render(values)), "ConfigMap", "nova-worker-env")["data"]
    assert (env["NOVA_WORKER_SMTP_STARTTLS"], env["NOVA_WORKER_SMTP_TLS"]) == (starttls, tls)
    assert "NOVA_WORKER_SMTP_USERNAME" not in env


# --- defect: DNS egress is configurable ---------------------------------------------------------


def test_dns_egress_defaults_to_kube_dns_and_node_local_dns_cache() -> None:
    manifest = rendered("kind")[1]
    for policy in by_kind(manifest, "NetworkPolicy"):
        if "egress" not in policy["spec"]:  # default deny, the data services: no egress at all
            continue
        dns = {pair for pair in _egress(manifest, policy["metadata"]["name"]) if pair[1] == 53}
        assert dns == {("ns=all:k8s-app=kube-dns", 53), ("169.254.20.10/32", 53)}, policy


def test_dns_egress_takes_any_peers_and_ports() -> None:
    values = {
        "networkPolicy": {
            "enabled": True,
            "dns": {
                "ports": [53, 5353],
                "to": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                        },
                        "podSelector": {"matchLabels": {"k8s-app": "node-local-dns"}},
                    },
                    {"ipBlock": {"cidr": "10.96.0.10/32"}},
                ],
            },
        }
    }
    pairs = _egress(objects(render(values)), "nova-auth")
    peers = {
        "ns=own:k8s-app=node-local-dns,kubernetes.io/metadata.name=kube-system",
        "10.96.0.10/32",
    }
    assert {pair for pair in pairs if pair[1] in (53, 5353)} == {
        (peer, port) for peer in peers for port in (53, 5353)
    }


# --- defect: long release names ------------------------------------------------------------------

LONG_RELEASE = "payments-platform-nova-staging-eu-west-1-blue-green-a"  # 53 characters


def test_a_53_character_release_gives_every_object_its_own_valid_name() -> None:
    assert len(LONG_RELEASE) == 53
    values = values_file("values-kind.yaml")
    manifest = objects(render(values, release=LONG_RELEASE))
    seen: dict[tuple[str, str], int] = {}
    for obj in manifest:
        name = obj["metadata"]["name"]
        assert len(name) <= 63, name
        assert DNS_1123_SUBDOMAIN.match(name), name
        seen[(obj["kind"], name)] = seen.get((obj["kind"], name), 0) + 1
    assert [key for key, count in seen.items() if count > 1] == []
    dashboards = [cm for cm in by_kind(manifest, "ConfigMap") if component_of(cm) == "dashboards"]
    assert len(dashboards) == len(
        list((Path(__file__).parents[2] / "deploy/helm/nova/dashboards").glob("*.json"))
    )
    assert len({cm["metadata"]["name"] for cm in dashboards}) == len(dashboards) >= 5


def test_a_long_release_still_points_every_url_at_a_service_it_renders() -> None:
    manifest = objects(render(values_file("values-kind.yaml"), release=LONG_RELEASE))
    services = {svc["metadata"]["name"] for svc in by_kind(manifest, "Service")}
    hosts = set()
    for configmap in by_kind(manifest, "ConfigMap"):
        for key, value in (configmap.get("data") or {}).items():
            if not key.endswith(".graphql"):  # the supergraph's URLs are overridden by env
                hosts |= set(re.findall(r"http://([a-z0-9.-]+):\d+", value))
    assert hosts
    assert hosts <= services, hosts - services
    paths = {
        path["backend"]["service"]["name"]
        for ingress in by_kind(manifest, "Ingress")
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert paths <= services


# --- defect: a missing Secret fails the install early --------------------------------------------


def _preflight(manifest: Manifest) -> tuple[Obj, list[dict[str, Any]]]:
    job = find(manifest, "Job", "nova-preflight")
    container = pod_spec(job)["containers"][0]
    return job, json.loads(container["args"][0])


def test_preflight_checks_every_secret_the_release_reads_before_anything_else() -> None:
    manifest = rendered("prod-example")[1]
    job, checks = _preflight(manifest)
    assert {check["secret"]: check["keys"] for check in checks} == {
        "nova-auth-secrets": [
            "database-url",
            "redis-url",
            "service-clients",
            "signing-keys",
            "two-factor-key",
        ],
        "nova-gateway-secrets": ["redis-url"],
        "nova-smtp": ["smtp-password"],
        "nova-users-secrets": ["database-url", "redis-url"],
        "nova-worker-secrets": ["database-url", "redis-url", "service-client-secret"],
    }
    referenced = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for obj in [*by_kind(manifest, "Deployment"), *by_kind(manifest, "Job")]
        for container in pod_spec(obj)["containers"]
        for env in container.get("env", [])
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    assert referenced == {check["secret"] for check in checks}
    spec = pod_spec(job)
    volumes = {v["name"]: v["secret"] for v in spec["volumes"]}
    for mount in spec["containers"][0]["volumeMounts"]:
        secret = volumes[mount["name"]]
        assert secret["optional"] is True, (
            "a missing Secret must reach the check, not block the Pod"
        )
        assert {"secret": secret["secretName"], "path": mount["mountPath"]}.items() <= next(
            c for c in checks if c["secret"] == secret["secretName"]
        ).items()
    assert (
        spec["containers"][0]["image"]
        == pod_spec(find(manifest, "Deployment", "nova-gateway"))["containers"][0]["image"]
    )
    assert job["spec"]["backoffLimit"] == 0
    weight = int(hook_of(job)["helm.sh/hook-weight"])
    assert hook_of(job)["helm.sh/hook"] == "pre-install,pre-upgrade"
    for other in by_kind(manifest, "Job"):
        if other is not job:
            assert int(hook_of(other)["helm.sh/hook-weight"]) > weight
    assert (
        int(hook_of(find(manifest, "ServiceAccount", "nova-preflight"))["helm.sh/hook-weight"])
        < weight
    )


def test_preflight_covers_dev_data_service_secrets_and_extra_env_and_can_be_turned_off() -> None:
    _, checks = _preflight(rendered("everything")[1])
    by_secret = {check["secret"]: check for check in checks}
    assert by_secret["nova-postgresql"]["keys"] == [
        "auth-password",
        "postgres-password",
        "users-password",
        "worker-password",
    ]
    assert by_secret["nova-sentry"] == {
        "secret": "nova-sentry",
        "keys": ["dsn"],
        "readers": ["components.worker.extraEnv"],
        "path": by_secret["nova-sentry"]["path"],
    }
    # users reads the chart's dev hook Secret, made before the check runs
    assert "nova-users" in by_secret
    manifest = objects(render({"preflight": {"enabled": False}}))
    assert "preflight" not in {component_of(obj) for obj in manifest}


def _run_preflight(
    checks: list[dict[str, Any]], root: Path, script: str
) -> subprocess.CompletedProcess[str]:
    moved = [{**check, "path": str(root / check["path"].lstrip("/"))} for check in checks]
    return subprocess.run(
        [sys.executable, "-c", script, json.dumps(moved)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _project_secret(directory: Path, data: dict[str, str]) -> None:
    """Lay a Secret out the way the kubelet projects it: ..data symlinks to a timestamped dir."""
    stamp = directory / "..2026_12_06_00_00_00.000000000"
    stamp.mkdir(parents=True)
    for key, value in data.items():
        (stamp / key).write_text(value, encoding="utf-8")
        (directory / key).symlink_to(f"..data/{key}")
    (directory / "..data").symlink_to(stamp.name)


def test_the_rendered_preflight_names_each_missing_secret_and_key(tmp_path: Path) -> None:
    job, checks = _preflight(rendered("prod-example")[1])
    script = pod_spec(job)["containers"][0]["command"][2]
    mounts = {check["secret"]: tmp_path / check["path"].lstrip("/") for check in checks}
    for directory in mounts.values():
        directory.mkdir(parents=True)  # an optional Secret volume: an empty directory
    present = {
        "nova-auth-secrets": {
            "database-url": "u",
            "redis-url": "r",
            "signing-keys": "k",
            "two-factor-key": "t",
        },
        "nova-gateway-secrets": {"redis-url": "r"},
        "nova-users-secrets": {"database-url": "u", "redis-url": ""},
        "nova-worker-secrets": {
            "database-url": "u",
            "redis-url": "r",
            "service-client-secret": "s",
        },
    }
    for secret, data in present.items():
        mounts[secret].rmdir()
        mounts[secret].mkdir()
        _project_secret(mounts[secret], data)
    result = _run_preflight(checks, tmp_path, script)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("preflight: Secret")]
    assert lines == [
        'preflight: Secret "nova-auth-secrets" has no key "service-clients" '
        "(read by components.auth)",
        'preflight: Secret "nova-smtp" is missing (read by mail.smtp.passwordSecret): '
        "create it with the keys smtp-password",
        'preflight: Secret "nova-users-secrets" key "redis-url" is empty '
        "(read by components.users)",
    ]
    (mounts["nova-auth-secrets"] / "..data" / "service-clients").write_text("c", encoding="utf-8")
    (mounts["nova-auth-secrets"] / "service-clients").symlink_to("..data/service-clients")
    (mounts["nova-users-secrets"] / "..data" / "redis-url").write_text("r", encoding="utf-8")
    _project_secret(mounts["nova-smtp"], {"smtp-password": "p"})
    result = _run_preflight(checks, tmp_path, script)
    assert result.returncode == 0, result.stderr
    assert "5 Secret(s) present" in result.stdout


# --- helm test -----------------------------------------------------------------------------------


def test_helm_test_pod_checks_the_gateway_in_its_own_image() -> None:
    manifest = rendered("prod-example")[1]
    (pod,) = by_kind(manifest, "Pod")
    assert hook_of(pod)["helm.sh/hook"] == "test"
    assert "hook-succeeded" in hook_of(pod)["helm.sh/hook-delete-policy"]
    container = pod["spec"]["containers"][0]
    gateway = pod_spec(find(manifest, "Deployment", "nova-gateway"))["containers"][0]
    assert container["image"] == gateway["image"]
    assert container["command"][:2] == ["python", "-c"]
    assert "{ __typename }" in container["command"][2]
    assert "/ready" in container["command"][2]
    assert container["args"] == ["http://nova-gateway:8000"]
    assert pod["spec"]["restartPolicy"] == "Never"
    ingress = find(manifest, "NetworkPolicy", "nova-gateway")["spec"]["ingress"]
    assert any(
        peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
        == "tests"
        for rule in ingress
        for peer in rule["from"]
    )
    assert by_kind(objects(render({"tests": {"enabled": False}})), "Pod") == []
    assert "helm test nova -n nova" in notes({})
    assert "logs job/nova-preflight" in notes({})
    assert "helm test" not in notes({"tests": {"enabled": False}})


# --- what platform teams reach for next ----------------------------------------------------------


def test_extra_env_env_from_volumes_and_containers_render_on_the_worker() -> None:
    manifest = rendered("everything")[1]
    spec = pod_spec(find(manifest, "Deployment", "nova-worker"))
    main = spec["containers"][0]
    names = [env["name"] for env in main["env"]]
    assert names[-2:] == ["SSL_CERT_FILE", "NOVA_WORKER_SENTRY_DSN"], "extraEnv follows the chart's"
    assert main["envFrom"][0] == {"configMapRef": {"name": "nova-worker-env"}}
    assert main["envFrom"][1] == {"configMapRef": {"name": "nova-worker-tuning", "optional": True}}
    assert {"name": "ca", "configMap": {"name": "company-ca"}} in spec["volumes"]
    assert {"name": "ca", "mountPath": "/etc/nova/ca", "readOnly": True} in main["volumeMounts"]
    (init,) = spec["initContainers"]
    assert init["name"] == "wait-for-ca"
    assert [c["name"] for c in spec["containers"]] == ["worker", "log-shipper"]
    chart_context = values_file("values.yaml")["containerSecurityContext"]
    for container in (init, spec["containers"][1]):
        assert container["securityContext"] == chart_context
    # the migration Job gets the same environment and volumes, not the containers
    job = pod_spec(find(manifest, "Job", "nova-worker-migrate"))
    assert [e["name"] for e in job["containers"][0]["env"]][-2:] == names[-2:]
    assert job["containers"][0]["envFrom"] == main["envFrom"][1:]
    assert {"name": "ca", "configMap": {"name": "company-ca"}} in job["volumes"]
    assert "initContainers" not in job
    assert len(job["containers"]) == 1


def test_extra_containers_keep_their_own_security_context_over_the_chart_s() -> None:
    sidecar = {"name": "proxy", "image": "proxy:1", "securityContext": {"runAsUser": 20000}}
    manifest = objects(render(_auth(sidecars=[sidecar])))
    context = pod_spec(find(manifest, "Deployment", "nova-auth"))["containers"][1][
        "securityContext"
    ]
    assert context["runAsUser"] == 20000
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}


def test_pod_labels_annotations_priority_and_spread() -> None:
    manifest = rendered("everything")[1]
    worker = find(manifest, "Deployment", "nova-worker")
    template = worker["spec"]["template"]
    assert template["metadata"]["labels"]["team"] == "platform"
    assert template["metadata"]["annotations"]["example.com/owner"] == "platform"
    assert worker["spec"]["selector"]["matchLabels"].get("team") is None
    spec = template["spec"]
    assert spec["priorityClassName"] == "nova-high"
    (spread,) = spec["topologySpreadConstraints"]
    assert spread["labelSelector"] == {"matchLabels": worker["spec"]["selector"]["matchLabels"]}
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"


def _anti_affinity(values: dict[str, Any], name: str = "auth") -> Any:
    deployment = find(objects(render(values)), "Deployment", f"nova-{name}")
    return pod_spec(deployment).get("affinity", {}).get("podAntiAffinity")


def test_soft_anti_affinity_is_on_by_default_for_more_than_one_replica() -> None:
    soft = _anti_affinity({})
    (term,) = soft["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["weight"] == 100
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert (
        term["podAffinityTerm"]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"]
        == "auth"
    )
    assert _anti_affinity(_auth(replicas=1)) is None
    assert _anti_affinity(_auth(replicas=1, hpa={"enabled": True})) is not None
    assert _anti_affinity({}, "beat") is None, "a singleton has nothing to spread"
    hard = _anti_affinity(_auth(podAntiAffinityPreset="hard"))
    assert list(hard) == ["requiredDuringSchedulingIgnoredDuringExecution"]
    assert _anti_affinity(_auth(podAntiAffinityPreset="none")) is None
    own = {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {
                "topologyKey": "topology.kubernetes.io/zone",
                "labelSelector": {"matchLabels": {"a": "b"}},
            }
        ]
    }
    assert _anti_affinity(_auth(affinity={"podAntiAffinity": own})) == own
    for deployment in by_kind(rendered("kind")[1], "Deployment"):
        assert "affinity" not in pod_spec(deployment), "kind runs one replica of each"


def test_the_rendered_helm_test_fails_naming_the_check_when_the_gateway_is_down() -> None:
    (pod,) = by_kind(rendered("defaults")[1], "Pod")
    command = pod["spec"]["containers"][0]["command"]
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        result = subprocess.run(
            [sys.executable, *command[1:], f"http://127.0.0.1:{port}", "1"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"the gateway at http://127.0.0.1:{port} failed: /ready:" in result.stderr


def test_the_readme_values_reference_names_every_key() -> None:
    root = Path(__file__).resolve().parents[2]
    schema = json.loads((root / "deploy/helm/nova/values.schema.json").read_text(encoding="utf-8"))
    text = (root / "deploy/README.md").read_text(encoding="utf-8")
    reference = text[text.index("## Values reference") :]
    missing = [
        f"components.<name>.{key}"
        for key in schema["definitions"]["component"]["properties"]
        if f"`{key}`" not in reference and f"`{key}." not in reference
    ]
    for key, entry in schema["properties"].items():
        if key == "components":
            continue
        if f"`{key}`" not in reference and f"`{key}." not in reference:
            missing.append(key)
        rows = [line for line in reference.splitlines() if f"`{key}" in line]
        for sub in entry.get("properties", {}):
            # `ingress.hosts`, or `ingress.enabled`, `.hosts` in one row, or the whole `ingress`
            named = (f"{key}.{sub}", f"`.{sub}`", f"`{key}`")
            if not any(any(name in row for name in named) for row in rows):
                missing.append(f"{key}.{sub}")
    assert missing == [], f"deploy/README.md's values reference lacks {missing}"


OPTIONS: dict[str, Any] = {
    "networkPolicy": {"enabled": True, "otlp": {"port": 4317}},
    "global": {"otlpEndpoint": "https://otlp.example.com"},
    "mail": {
        "smtp": {
            "host": "smtp.example.com",
            "security": "tls",
            "port": 465,
            "username": "nova",
            "passwordSecret": {"name": "smtp", "key": "password"},
        }
    },
    "components": {
        "gateway": {
            "podAntiAffinityPreset": "hard",
            "networkPolicy": {
                "extraIngress": [
                    {
                        "from": [{"ipBlock": {"cidr": "10.30.0.0/16", "except": ["10.30.1.0/24"]}}],
                        "ports": [{"port": 8000, "protocol": "TCP"}],
                    }
                ],
                "extraEgress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [
                                        {"key": "team", "operator": "In", "values": ["payments"]}
                                    ]
                                }
                            }
                        ],
                        "ports": [{"port": 9000, "endPort": 9010, "protocol": "TCP"}],
                    }
                ],
            },
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "edge", "effect": "NoSchedule"}
            ],
            "nodeSelector": {"kubernetes.io/os": "linux"},
        },
        "auth": {
            "replicas": 3,
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/arch",
                                        "operator": "In",
                                        "values": ["amd64"],
                                    }
                                ]
                            }
                        ]
                    }
                }
            },
        },
    },
}


def test_every_option_renders_objects_kubernetes_accepts() -> None:
    import kubernetes_validate  # type: ignore[import-untyped]

    manifest = objects(render(OPTIONS))
    for obj in manifest:
        if obj["kind"] in {"ServiceMonitor", "PrometheusRule", "HTTPRoute"}:
            continue
        kubernetes_validate.validate(obj, "1.34.0", strict=True)
    gateway = find(manifest, "NetworkPolicy", "nova-gateway")["spec"]
    extra = OPTIONS["components"]["gateway"]["networkPolicy"]
    assert extra["extraIngress"][0] in gateway["ingress"]
    assert extra["extraEgress"][0] in gateway["egress"]
    assert ("any", 4317) in _egress(manifest, "nova-gateway")
    assert ("any", 465) in _egress(manifest, "nova-worker")
    spec = pod_spec(find(manifest, "Deployment", "nova-auth"))
    assert set(spec["affinity"]) == {"nodeAffinity", "podAntiAffinity"}
    required = pod_spec(find(manifest, "Deployment", "nova-gateway"))["affinity"]["podAntiAffinity"]
    assert list(required) == ["requiredDuringSchedulingIgnoredDuringExecution"]


def test_a_new_component_without_the_optional_keys_renders_with_their_defaults() -> None:
    """Adding a service is a values entry: the platform keys are optional."""
    entry = dict(values_file("values.yaml")["components"]["users"])
    optional = (
        "extraEnv envFrom extraVolumes extraVolumeMounts initContainers sidecars mail "
        "podAntiAffinityPreset podAnnotations podLabels affinity topologySpreadConstraints "
        "priorityClassName tolerations nodeSelector"
    )
    for key in optional.split():
        del entry[key]
    entry["networkPolicy"] = {"from": ["gateway"], "to": ["auth"]}
    manifest = objects(
        render({"components": {"billing": entry}, "networkPolicy": {"enabled": True}})
    )
    spec = pod_spec(find(manifest, "Deployment", "nova-billing"))
    assert "preferredDuringSchedulingIgnoredDuringExecution" in spec["affinity"]["podAntiAffinity"]
    assert [c["name"] for c in spec["containers"]] == ["billing"]
    assert "initContainers" not in spec
    assert find(manifest, "NetworkPolicy", "nova-billing")


def test_notes_warn_when_production_mail_goes_nowhere() -> None:
    assert "WARNING: mail.smtp.host is empty, so the e-mail of worker goes to" in notes({})
    assert "WARNING" not in notes(values_file("values-prod-example.yaml"))
    assert "WARNING" not in notes(values_file("values-kind.yaml")), "dev mails its local sink"


# --- the model admins: off by default in prod, on in dev/kind, the edge follows -----------------


def _admin_switch(manifest: Manifest) -> tuple[str, str, dict[str, str], list[str]]:
    env = {name: find(manifest, "ConfigMap", f"nova-{name}-env")["data"] for name in SERVED}
    ingress = by_kind(manifest, "Ingress")
    paths = [
        path["path"]
        for obj in ingress
        for rule in obj["spec"]["rules"]
        for path in rule["http"]["paths"]
        if path["path"].startswith("/admin")
    ]
    return (
        env["auth"]["NOVA_AUTH_ADMIN"],
        env["users"]["NOVA_USERS_ADMIN"],
        json.loads(env["gateway"]["NOVA_GATEWAY_ADMIN_ROUTES"]),
        paths,
    )


SERVED = ("auth", "users", "gateway")


def test_the_model_admins_are_off_in_prod_unless_enabled() -> None:
    off = objects(render({"ingress": {"enabled": True}}))
    assert _admin_switch(off) == ("false", "false", {}, [])
    on = objects(render({"ingress": {"enabled": True}, "adminUi": {"enabled": True}}))
    auth, users, routes, paths = _admin_switch(on)
    assert (auth, users) == ("true", "true")
    assert routes == {
        "/admin/data/auth": "http://nova-auth:8001",
        "/admin/data/users": "http://nova-users:8002",
    }
    assert paths == ["/admin/data/auth", "/admin/data/users"]
    backends = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in by_kind(on, "Ingress")[0]["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    # The admin paths reach the gateway (which checks the role), never a service directly, and
    # the frontend keeps its own /admin pages.
    assert backends["/admin/data/auth"] == backends["/admin/data/users"] == "nova-gateway"
    assert backends["/"] == "nova-frontend"


def test_the_model_admins_are_on_in_the_kind_values_and_can_be_turned_off() -> None:
    auth, users, routes, paths = _admin_switch(rendered("kind")[1])
    assert (auth, users, sorted(routes)) == (
        "true",
        "true",
        ["/admin/data/auth", "/admin/data/users"],
    )
    assert paths == ["/admin/data/auth", "/admin/data/users"]
    dev_off = {**values_file("values-kind.yaml"), "adminUi": {"enabled": False}}
    assert _admin_switch(objects(render(dev_off)))[:3] == ("false", "false", {})
