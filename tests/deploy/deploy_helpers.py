"""Value sets and lookups shared by the deploy tests (the chart is rendered offline).

Rendering goes through ``deploy/render.py``, the same code ``make helm-template`` runs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import yaml

from deploy.render import CHART, merge_values, objects, render

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS_DIR = Path(__file__).parent / "schemas"
GOLDEN = Path(__file__).resolve().parent / "golden"

Values = dict[str, Any]
Obj = dict[str, Any]
Manifest = list[Obj]

HPA_COMPONENTS = ("gateway", "auth", "users", "frontend", "worker")
PYTHON_SERVICES = ("auth", "users", "gateway", "worker")


def values_file(name: str) -> Values:
    loaded = yaml.safe_load((CHART / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def everything_enabled() -> Values:
    """The kind values plus every opt-in integration switched on."""
    values = copy.deepcopy(values_file("values-kind.yaml"))
    components: Values = {name: {"hpa": {"enabled": True}} for name in HPA_COMPONENTS}
    components["flower"] = {"enabled": True}
    # dev/test only: the chart renders these into a hook Secret instead of reading a Secret
    components["users"]["secretValues"] = {
        "database-url": "postgresql://users:dev-password@nova-postgresql:5432/nova",
        "redis-url": "redis://nova-redis:6379/0",
    }
    # what platform teams add: extra env, volumes, an init container and a sidecar
    components["worker"].update(
        extraEnv=[
            {"name": "SSL_CERT_FILE", "value": "/etc/nova/ca/ca.crt"},
            {
                "name": "NOVA_WORKER_SENTRY_DSN",
                "valueFrom": {"secretKeyRef": {"name": "nova-sentry", "key": "dsn"}},
            },
        ],
        envFrom=[{"configMapRef": {"name": "{{ .Release.Name }}-worker-tuning", "optional": True}}],
        extraVolumes=[{"name": "ca", "configMap": {"name": "company-ca"}}],
        extraVolumeMounts=[{"name": "ca", "mountPath": "/etc/nova/ca", "readOnly": True}],
        initContainers=[
            {
                "name": "wait-for-ca",
                "image": "registry.example.com/tools:1.0",
                "command": ["test", "-s", "/etc/nova/ca/ca.crt"],
                "volumeMounts": [{"name": "ca", "mountPath": "/etc/nova/ca", "readOnly": True}],
                "resources": {
                    "requests": {"cpu": "10m", "memory": "16Mi"},
                    "limits": {"cpu": "100m", "memory": "32Mi"},
                },
            }
        ],
        sidecars=[
            {
                "name": "log-shipper",
                "image": "registry.example.com/log-shipper:2.3.1",
                "resources": {
                    "requests": {"cpu": "10m", "memory": "32Mi"},
                    "limits": {"cpu": "100m", "memory": "64Mi"},
                },
            }
        ],
        podLabels={"team": "platform"},
        podAnnotations={"example.com/owner": "platform"},
        priorityClassName="nova-high",
        topologySpreadConstraints=[
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
            }
        ],
    )
    extra: Values = {
        "global": {"otlpEndpoint": "http://otel-collector.observability:4318"},
        "mail": {"smtp": {"host": "mail-sink.nova.svc", "port": 1025, "security": "none"}},
        "components": components,
        "ingress": {"enabled": True, "tls": [{"secretName": "nova-tls", "hosts": ["localhost"]}]},
        "httpRoute": {"enabled": True},
        "networkPolicy": {"enabled": True},
        "metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}},
    }
    return merge_values(values, extra)


# name -> values; golden files and most checks run over all of them.
VALUE_SETS: dict[str, Callable[[], Values]] = {
    "defaults": dict,
    "kind": lambda: values_file("values-kind.yaml"),
    "prod-example": lambda: values_file("values-prod-example.yaml"),
    "everything": everything_enabled,
}

_CACHE: dict[str, tuple[str, Manifest]] = {}


def rendered(name: str) -> tuple[str, Manifest]:
    """(text, objects) of a named value set, rendered once per test process."""
    if name not in _CACHE:
        text = render(VALUE_SETS[name]())
        _CACHE[name] = (text, objects(text))
    return _CACHE[name]


def by_kind(manifest: Manifest, kind: str) -> list[Obj]:
    return [obj for obj in manifest if obj.get("kind") == kind]


def find(manifest: Manifest, kind: str, name: str) -> Obj:
    for obj in manifest:
        if obj.get("kind") == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no {kind} named {name!r} in the render")


def pod_spec(obj: Obj) -> Obj:
    return cast(Obj, obj["spec"]["template"]["spec"])


def workloads(manifest: Manifest) -> list[Obj]:
    return [obj for obj in manifest if obj.get("kind") in ("Deployment", "StatefulSet", "Job")]


def component_of(obj: Obj) -> str:
    return cast(str, obj["metadata"]["labels"]["app.kubernetes.io/component"])


def hook_of(obj: Obj) -> dict[str, str]:
    annotations = obj["metadata"].get("annotations") or {}
    return {k: v for k, v in annotations.items() if k.startswith("helm.sh/hook")}
