"""Run the Helm chart's workloads as real containers on one machine (podman), then smoke-test them.

``make deploy-test`` renders the chart with the kind values (in-chart PostgreSQL and Redis) and
plays it the way ``helm install`` and the kubelet would, with podman:

1. the Secrets ``deploy/kind/dev-secrets.sh`` creates on kind, generated here;
2. ``pre-install`` hook Jobs in hook-weight order, each to completion;
3. every StatefulSet and Deployment (one container per replica), each with exactly its rendered
   command and args, env/envFrom (ConfigMaps, Secrets), volumes (configMap, secret, emptyDir,
   volumeClaimTemplates), security context (user and group, read-only root filesystem, dropped
   capabilities, no privilege escalation) and restart policy, reachable by the names of the
   Services that select it on a private podman network (``--network-alias``);
4. ``post-install`` hook Jobs in hook-weight order once the StatefulSets are ready;
5. readiness probes (httpGet and exec) gate every step;

then the smoke through the gateway as the Ingress routes it, an upgrade (re-render with a changed
value: ``pre-upgrade`` hooks, changed pods replaced) and a killed container that comes back.

podman 4.3's ``kube play`` ignores Services and restarts the initContainers of a Deployment, so
this driver calls ``podman run`` itself (initContainers run to completion, in order, before
the pod's containers start). Not emulated: admission (PodSecurity, webhooks), the CNI's
NetworkPolicy enforcement, scheduling (affinity, spread, resources), a shared network namespace
for the containers of one pod (each has its own address), Service ports that differ from the
container port, and the API server's own behaviour (owner references, garbage collection,
rollout surge).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Obj = dict[str, Any]

KIND_VALUES = ROOT / "deploy" / "helm" / "nova" / "values-kind.yaml"
STANDIN_POSTGRES = "localhost/nova-standin-postgres:17-trixie"
STANDIN_REDIS = "localhost/nova-standin-redis:8-trixie"
SMTP_SINK = "smtp-sink"
CLUSTER_DOMAIN = "cluster.local"


class RunError(RuntimeError):
    """The run failed; the message names the object and the cause."""


# --- the rendered objects ------------------------------------------------------------------------


@dataclass(slots=True)
class Store:
    """What the API server would hold: Secrets and ConfigMaps by name (decoded to bytes)."""

    secrets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    config_maps: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def add(self, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        if obj["kind"] == "Secret":
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            data |= {k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()}
            self.secrets[name] = data
        elif obj["kind"] == "ConfigMap":
            data = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
            data |= {k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}
            self.config_maps[name] = data

    def source(self, kind: str, name: str, where: str) -> dict[str, bytes]:
        found = (self.secrets if kind == "Secret" else self.config_maps).get(name)
        if found is None:
            raise RunError(f"{where}: {kind} {name!r} does not exist (CreateContainerConfigError)")
        return found


def hook_of(obj: Obj) -> tuple[list[str], int] | None:
    """The Helm hook phases and weight of an object, or None for a regular release object."""
    annotations = obj["metadata"].get("annotations") or {}
    phases = annotations.get("helm.sh/hook")
    if not phases:
        return None
    return [p.strip() for p in phases.split(",")], int(annotations.get("helm.sh/hook-weight", "0"))


def hook_jobs(objects: Sequence[Obj], phase: str) -> list[Obj]:
    """The Jobs of a hook phase in Helm's order: weight, then name."""
    jobs = []
    for obj in objects:
        hook = hook_of(obj)
        if obj["kind"] == "Job" and hook is not None and phase in hook[0]:
            jobs.append((hook[1], obj["metadata"]["name"], obj))
    return [job for _, _, job in sorted(jobs, key=lambda item: (item[0], item[1]))]


# --- pod templates -> container specs ----------------------------------------------------------


@dataclass(slots=True)
class Mount:
    host_path: Path
    container_path: str
    read_only: bool


@dataclass(slots=True)
class Probe:
    kind: str  # "http" or "exec"
    path: str = "/"
    port: int = 0
    command: list[str] = field(default_factory=list)
    period: float = 5.0


@dataclass(slots=True)
class ContainerSpec:
    name: str
    workload: str
    image: str
    command: list[str] | None
    args: list[str] | None
    env: dict[str, str]
    mounts: list[Mount]
    user: str | None
    groups: list[int]
    read_only: bool
    cap_drop: list[str]
    cap_add: list[str]
    no_new_privileges: bool
    aliases: list[str]
    restart: str
    ports: dict[str, int]
    readiness: Probe | None
    hostname: str
    stop_timeout: int = 30
    template_hash: str = ""
    init: bool = False


def resolve_env(
    container: Obj, store: Store, where: str, pod_name: str, namespace: str
) -> dict[str, str]:
    """A container's environment as the kubelet builds it: envFrom first, then env in order."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source:
                ref = source[key]
                try:
                    data = store.source(kind, ref["name"], where)
                except RunError:
                    if ref.get("optional"):
                        continue
                    raise
                env |= {f"{prefix}{k}": v.decode() for k, v in data.items()}
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item:
            env[name] = _expand(str(item["value"]), env)
            continue
        value_from = item.get("valueFrom") or {}
        if "secretKeyRef" in value_from or "configMapKeyRef" in value_from:
            kind = "Secret" if "secretKeyRef" in value_from else "ConfigMap"
            ref = value_from["secretKeyRef" if kind == "Secret" else "configMapKeyRef"]
            try:
                data = store.source(kind, ref["name"], where)
                if ref["key"] not in data:
                    raise RunError(
                        f"{where}: {kind} {ref['name']!r} has no key {ref['key']!r} "
                        "(CreateContainerConfigError)"
                    )
            except RunError:
                if ref.get("optional"):
                    continue
                raise
            env[name] = data[ref["key"]].decode()
        elif "fieldRef" in value_from:
            path = value_from["fieldRef"]["fieldPath"]
            fields = {"metadata.name": pod_name, "metadata.namespace": namespace}
            if path not in fields:
                raise RunError(f"{where}: env {name} uses fieldRef {path}, which is not emulated")
            env[name] = fields[path]
        else:
            raise RunError(f"{where}: env {name} has a valueFrom that is not emulated")
    return env


def _expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of earlier variables ($$ escapes)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", replace, value)


def service_aliases(
    services: Sequence[Obj], labels: Mapping[str, str], namespace: str
) -> list[str]:
    """The DNS names under which a pod with ``labels`` is reachable: every selecting Service's."""
    aliases: list[str] = []
    for service in services:
        selector = service["spec"].get("selector") or {}
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            name = service["metadata"]["name"]
            aliases += [
                name,
                f"{name}.{namespace}",
                f"{name}.{namespace}.svc",
                f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}",
            ]
    return aliases


def check_service_ports(
    services: Sequence[Obj], labels: Mapping[str, str], ports: Mapping[str, int], where: str
) -> None:
    """A network alias reaches the container port itself: a Service must not remap the port."""
    for service in services:
        selector = service["spec"].get("selector") or {}
        if not selector or not all(labels.get(k) == v for k, v in selector.items()):
            continue
        for port in service["spec"].get("ports") or []:
            target = port.get("targetPort", port["port"])
            resolved = ports.get(target) if isinstance(target, str) else int(target)
            if resolved is None:
                raise RunError(
                    f"{where}: Service {service['metadata']['name']} targets port {target!r}, "
                    "which the pod does not name"
                )
            if resolved != port["port"]:
                raise RunError(
                    f"{where}: Service {service['metadata']['name']} maps port {port['port']} to "
                    f"{resolved}; the container run reaches pods on their own ports only"
                )


def _probe(container: Obj, ports: Mapping[str, int]) -> Probe | None:
    probe = container.get("readinessProbe")
    if not probe:
        return None
    period = float(probe.get("periodSeconds", 10))
    if "httpGet" in probe:
        port = probe["httpGet"]["port"]
        number = ports[port] if isinstance(port, str) else int(port)
        return Probe("http", path=probe["httpGet"].get("path", "/"), port=number, period=period)
    if "exec" in probe:
        return Probe("exec", command=list(probe["exec"]["command"]), period=period)
    if "tcpSocket" in probe:
        port = probe["tcpSocket"]["port"]
        number = ports[port] if isinstance(port, str) else int(port)
        return Probe("tcp", port=number, period=period)
    return None


def pod_containers(
    workload: Obj,
    *,
    store: Store,
    services: Sequence[Obj],
    namespace: str,
    volumes_root: Path,
    prefix: str,
    replica: int = 0,
) -> list[ContainerSpec]:
    """The podman containers of one replica of a workload's pod template (or a Job's pod)."""
    kind, name = workload["kind"], workload["metadata"]["name"]
    template = workload["spec"]["template"]
    pod = template["spec"]
    labels = template["metadata"].get("labels") or {}
    pod_name = name if kind == "Job" else f"{name}-{replica}"
    where = f"{kind} {name}"
    pod_security = pod.get("securityContext") or {}
    restart = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}[
        pod.get("restartPolicy", "Never" if kind == "Job" else "Always")
    ]
    claims = {
        claim["metadata"]["name"]: claim
        for claim in workload["spec"].get("volumeClaimTemplates") or []
    }
    volume_dirs = _materialise_volumes(
        pod.get("volumes") or [],
        claims=claims,
        store=store,
        root=volumes_root / pod_name,
        where=where,
        owner=(
            pod_security.get("runAsUser"),
            pod_security.get("fsGroup", pod_security.get("runAsGroup")),
        ),
    )
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]
    specs = []
    init_names = {c["name"] for c in pod.get("initContainers") or []}
    for container in [*(pod.get("initContainers") or []), *pod["containers"]]:
        init = container["name"] in init_names
        security = pod_security | (container.get("securityContext") or {})
        user = security.get("runAsUser")
        group = security.get("runAsGroup")
        if security.get("runAsNonRoot") and user in (None, 0):
            raise RunError(
                f"{where}: runAsNonRoot without a non-zero runAsUser (the kubelet refuses it)"
            )
        ports = {
            p.get("name", str(p["containerPort"])): int(p["containerPort"])
            for p in container.get("ports") or []
        }
        if not init:
            check_service_ports(services, labels, ports, where)
        mounts = []
        for mount in container.get("volumeMounts") or []:
            if mount["name"] not in volume_dirs:
                raise RunError(f"{where}: volumeMount {mount['name']!r} names no volume")
            host = volume_dirs[mount["name"]]
            if mount.get("subPath"):
                host = host / mount["subPath"]
            mounts.append(Mount(host, mount["mountPath"], bool(mount.get("readOnly"))))
        capabilities = security.get("capabilities") or {}
        specs.append(
            ContainerSpec(
                name=f"{prefix}-{pod_name}-{container['name']}",
                workload=name,
                image=container["image"],
                command=container.get("command"),
                args=container.get("args"),
                env=resolve_env(container, store, where, pod_name, namespace),
                mounts=mounts,
                user=None if user is None else f"{user}:{group if group is not None else user}",
                groups=[
                    int(g)
                    for g in [
                        pod_security.get("fsGroup"),
                        *(pod_security.get("supplementalGroups") or []),
                    ]
                    if g is not None
                ],
                read_only=bool(security.get("readOnlyRootFilesystem")),
                cap_drop=list(capabilities.get("drop") or []),
                cap_add=list(capabilities.get("add") or []),
                no_new_privileges=security.get("allowPrivilegeEscalation") is False,
                aliases=[] if init else service_aliases(services, labels, namespace),
                restart="no" if init else restart,
                ports=ports,
                readiness=None if init else _probe(container, ports),
                hostname=pod_name,
                stop_timeout=int(pod.get("terminationGracePeriodSeconds", 30)),
                template_hash=digest,
                init=init,
            )
        )
    return specs


def _materialise_volumes(
    volumes: Sequence[Obj],
    *,
    claims: Mapping[str, Obj],
    store: Store,
    root: Path,
    where: str,
    owner: tuple[int | None, int | None],
) -> dict[str, Path]:
    """Host directories standing in for the pod's volumes (kept across container restarts).

    configMap and secret volumes are written from the store, with their items and modes;
    emptyDir and claim volumes are directories owned by the pod's user and fsGroup.
    """
    dirs: dict[str, Path] = {}
    for volume in volumes:
        name = volume["name"]
        path = root / name
        if "configMap" in volume or "secret" in volume:
            kind = "ConfigMap" if "configMap" in volume else "Secret"
            source = volume["configMap" if kind == "ConfigMap" else "secret"]
            ref = source.get("name") or source.get("secretName")
            data = store.source(kind, ref, where)
            items = source.get("items") or [{"key": k, "path": k} for k in data]
            mode = int(source.get("defaultMode", 0o644))
            if path.exists():
                shutil.rmtree(path)
            path.mkdir(parents=True)
            path.chmod(0o755)
            for item in items:
                if item["key"] not in data:
                    raise RunError(f"{where}: {kind} {ref!r} has no key {item['key']!r}")
                target = path / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data[item["key"]])
                target.chmod(int(item.get("mode", mode)))
                _chown(target, None, owner[1])
        elif "emptyDir" in volume or name in claims or "persistentVolumeClaim" in volume:
            path.mkdir(parents=True, exist_ok=True)
            _chown(path, owner[0], owner[1])
            path.chmod(0o770 if owner[1] is not None else 0o777)
        else:
            raise RunError(f"{where}: volume {name!r} of this type is not emulated")
        dirs[name] = path
    for claim in claims:
        if claim not in dirs:
            path = root / claim
            path.mkdir(parents=True, exist_ok=True)
            _chown(path, owner[0], owner[1])
            dirs[claim] = path
    return dirs


def _chown(path: Path, uid: int | None, gid: int | None) -> None:
    if os.geteuid() == 0 and (uid is not None or gid is not None):
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)


def podman_run_args(spec: ContainerSpec, network: str, label: str) -> list[str]:
    """``podman run`` arguments reproducing a container spec."""
    args = [
        "run", "--detach", "--name", spec.name, "--hostname", spec.hostname,
        "--network", network, "--label", label, "--label", f"nova.run/workload={spec.workload}",
        "--label", f"nova.run/template={spec.template_hash}",
        "--restart", spec.restart, "--stop-timeout", str(spec.stop_timeout),
        "--pull", "never",
    ]  # fmt: skip
    for alias in spec.aliases:
        args += ["--network-alias", alias]
    if spec.user:
        args += ["--user", spec.user]
    for group in spec.groups:
        args += ["--group-add", str(group)]
    if spec.read_only:
        args += ["--read-only", "--read-only-tmpfs=false"]
    for cap in spec.cap_drop:
        args += ["--cap-drop", cap]
    for cap in spec.cap_add:
        args += ["--cap-add", cap]
    if spec.no_new_privileges:
        args += ["--security-opt", "no-new-privileges"]
    for mount in spec.mounts:
        args += [
            "--volume",
            f"{mount.host_path}:{mount.container_path}{':ro' if mount.read_only else ''}",
        ]
    for name in sorted(spec.env):
        args += ["--env", name]  # values go through the environment, never the command line
    if spec.command is not None:
        args += ["--entrypoint", json.dumps(spec.command)]
    args.append(spec.image)
    args += spec.args or []
    return args


# --- the Ingress ---------------------------------------------------------------------------------


def ingress_routes(objects: Sequence[Obj]) -> list[tuple[str, str, int]]:
    """(path prefix, Service, port number) of every Ingress rule, longest prefix first."""
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    routes = []
    for ingress in (o for o in objects if o["kind"] == "Ingress"):
        for rule in ingress["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = path["backend"]["service"]
                port = backend["port"].get("number")
                if port is None:
                    service = services.get(backend["name"])
                    named = [
                        p["port"]
                        for p in (service or {"spec": {}})["spec"].get("ports") or []
                        if p.get("name") == backend["port"].get("name")
                    ]
                    if not named:
                        raise RunError(
                            f"Ingress {ingress['metadata']['name']}: {backend['name']} has no "
                            f"port named {backend['port'].get('name')!r}"
                        )
                    port = named[0]
                routes.append((path["path"], backend["name"], int(port)))
    return sorted(set(routes), key=lambda route: (-len(route[0]), route[0]))


def route(routes: Sequence[tuple[str, str, int]], path: str) -> tuple[str, int]:
    """The Service and port an Ingress with Prefix paths sends ``path`` to."""
    for prefix, service, port in routes:
        if prefix in {"/", path} or path.startswith(prefix.rstrip("/") + "/"):
            return service, port
    raise RunError(f"the Ingress routes no path for {path}")


# --- generated dev Secrets (the ones deploy/kind/dev-secrets.sh creates on kind) -------------


def dev_secrets(release: str) -> list[Obj]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def random() -> str:
        return secrets.token_hex(24)

    passwords = {name: random() for name in ("postgres", "auth", "users", "worker")}
    client_secret = random()
    db = f"{release}-postgresql:5432/nova"
    redis = f"redis://{release}-redis:6379/0"
    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    signing_keys = json.dumps([{"kid": f"run-{uuid.uuid4().hex[:8]}", "pem": pem}])

    def secret(name: str, data: dict[str, str]) -> Obj:
        return {"kind": "Secret", "metadata": {"name": f"{release}-{name}"}, "stringData": data}

    return [
        secret("postgresql", {f"{k}-password": v for k, v in passwords.items()}),
        secret(
            "auth",
            {
                "database-url": f"postgresql://auth:{passwords['auth']}@{db}",
                "redis-url": redis,
                "signing-keys": signing_keys,
                "service-clients": json.dumps({"worker": client_secret}),
                "two-factor-key": base64.b64encode(secrets.token_bytes(32)).decode(),
            },
        ),
        secret(
            "users",
            {"database-url": f"postgresql://users:{passwords['users']}@{db}", "redis-url": redis},
        ),
        secret(
            "worker",
            {
                "database-url": f"postgresql://worker:{passwords['worker']}@{db}",
                "redis-url": redis,
                "service-client-secret": client_secret,
            },
        ),
        secret("gateway", {"redis-url": redis}),
    ]


# --- podman ------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} deploy-test | {message}", flush=True)


class Podman:
    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(
        self,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603 - podman with arguments this module builds
            ["podman", *args],  # noqa: S607 - podman from PATH, as every make target finds it
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
        )
        if check and result.returncode != 0:
            raise RunError(
                f"podman {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def inspect(self, name: str) -> Obj:
        result = self("inspect", "--type", "container", name, check=False)
        if result.returncode != 0:
            return {}
        loaded = json.loads(result.stdout)
        return loaded[0] if loaded else {}

    def logs(self, name: str, tail: int = 30) -> str:
        result = self("logs", "--tail", str(tail), name, check=False)
        return result.stdout + result.stderr


@dataclass(slots=True)
class Cluster:
    """The running release: objects, the store, the containers per workload."""

    podman: Podman
    network: str
    prefix: str
    state: Path
    namespace: str
    store: Store = field(default_factory=Store)
    running: dict[str, list[ContainerSpec]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"nova.run={self.prefix}"

    def start(self, spec: ContainerSpec) -> None:
        self.podman("rm", "--force", "--ignore", spec.name)
        self.podman(*podman_run_args(spec, self.network, self.label), env=spec.env)

    def ip(self, name: str) -> str:
        networks = self.podman.inspect(name).get("NetworkSettings", {}).get("Networks", {})
        address = (networks.get(self.network) or {}).get("IPAddress", "")
        if not address:
            raise RunError(f"{name} has no address on {self.network}")
        return str(address)

    def run_job(self, job: Obj, timeout: float) -> None:
        name = job["metadata"]["name"]
        limit = int(job["spec"].get("backoffLimit", 6))
        deadline = time.monotonic() + min(
            timeout, float(job["spec"].get("activeDeadlineSeconds", timeout))
        )
        attempt = 0
        while True:
            (spec,) = pod_containers(
                job,
                store=self.store,
                services=[],
                namespace=self.namespace,
                volumes_root=self.state / "volumes",
                prefix=self.prefix,
            )
            self.start(spec)
            code = self._wait_exit(spec.name, deadline)
            output = self.exited_logs(spec.name)
            if code == 0:
                last = output.splitlines()[-1] if output else ""
                log(f"hook Job {name} succeeded: {last}")
                self.podman("rm", "--force", "--ignore", spec.name)
                return
            attempt += 1
            if attempt > limit or time.monotonic() > deadline:
                raise RunError(
                    f"hook Job {name} failed (exit {code}) after {attempt} attempt(s):\n"
                    + _indent(output)
                )
            log(
                f"hook Job {name} failed (exit {code}), retry {attempt}/{limit}: "
                + (output.splitlines()[-1] if output else "")
            )
            time.sleep(min(10 * 2 ** (attempt - 1), 20))

    def exited_logs(self, name: str) -> str:
        """The last log lines of an exited container (conmon may still be writing them)."""
        output = ""
        for _ in range(5):
            output = self.podman.logs(name, tail=40).strip()
            if output:
                break
            time.sleep(1)
        return output

    def _wait_exit(self, name: str, deadline: float) -> int:
        while time.monotonic() < deadline:
            state = self.podman.inspect(name).get("State", {})
            if state.get("Status") in ("exited", "stopped") and not state.get("Restarting"):
                return int(state.get("ExitCode", 1))
            time.sleep(1)
        self.podman("stop", "--time", "5", name, check=False)
        raise RunError(f"{name} did not finish before its deadline")

    def start_workload(self, workload: Obj, services: Sequence[Obj]) -> list[ContainerSpec]:
        replicas = int(workload["spec"].get("replicas", 1))
        specs = [
            spec
            for replica in range(replicas)
            for spec in pod_containers(
                workload,
                store=self.store,
                services=services,
                namespace=self.namespace,
                volumes_root=self.state / "volumes",
                prefix=self.prefix,
                replica=replica,
            )
        ]
        for spec in specs:
            self.start(spec)
            if spec.init:  # each init container runs to completion before the next one starts
                code = self._wait_exit(spec.name, time.monotonic() + 300)
                if code != 0:
                    raise RunError(
                        f"init container {spec.name} failed (exit {code}):\n"
                        + _indent(self.exited_logs(spec.name))
                    )
                log(f"init container {spec.name} completed")
                self.podman("rm", "--force", "--ignore", spec.name)
        main = [spec for spec in specs if not spec.init]
        self.running[workload["metadata"]["name"]] = main
        return main

    def stop_workload(self, name: str) -> None:
        for spec in self.running.pop(name, []):
            self.podman(
                "stop",
                "--time",
                str(min(spec.stop_timeout, 30)),
                spec.name,
                check=False,
                timeout=60,
            )
            self.podman("rm", "--force", "--ignore", spec.name)

    def ready(self, spec: ContainerSpec) -> tuple[bool, str]:
        state = self.podman.inspect(spec.name).get("State", {})
        if state.get("Status") != "running":
            return False, f"{state.get('Status', 'missing')} (exit {state.get('ExitCode')})"
        probe = spec.readiness
        if probe is None:
            return True, "running"
        if probe.kind == "exec":
            result = self.podman("exec", spec.name, *probe.command, check=False, timeout=30)
            return result.returncode == 0, (result.stdout + result.stderr).strip()[-200:]
        import httpx

        address = self.ip(spec.name)
        if probe.kind == "tcp":
            import socket

            try:
                socket.create_connection((address, probe.port), timeout=2).close()
            except OSError as error:
                return False, str(error)
            return True, "open"
        try:
            response = httpx.get(f"http://{address}:{probe.port}{probe.path}", timeout=3)
        except httpx.HTTPError as error:
            return False, f"{type(error).__name__}: {error}"
        return 200 <= response.status_code < 400, f"{response.status_code} {response.text[:300]}"

    def wait_ready(self, names: Sequence[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = {spec.name: spec for name in names for spec in self.running[name]}
        last: dict[str, str] = {}
        while pending:
            for spec_name, spec in list(pending.items()):
                ok, detail = self.ready(spec)
                last[spec_name] = detail
                if ok:
                    log(f"{spec.workload} ready ({spec_name})")
                    del pending[spec_name]
            if not pending:
                return
            if time.monotonic() > deadline:
                report = "\n".join(
                    f"- {name}: {last.get(name, '')}\n{_indent(self.podman.logs(name, tail=20))}"
                    for name in pending
                )
                raise RunError(f"not ready after {timeout:.0f}s:\n{report}")
            time.sleep(2)

    def remove_all(self) -> None:
        listed = self.podman(
            "ps", "--all", "--quiet", "--filter", f"label={self.label}", check=False
        ).stdout.split()
        if listed:
            self.podman("rm", "--force", "--time", "5", *listed, check=False, timeout=180)
        self.podman("network", "rm", "--force", self.network, check=False)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines()[-40:])


# --- the release --------------------------------------------------------------------------------


def run_values(args: argparse.Namespace, images: Mapping[str, str]) -> dict[str, Any]:
    """values-kind.yaml plus the locally built images and the SMTP sink."""
    import yaml

    from deploy.render import merge_values

    values = yaml.safe_load(KIND_VALUES.read_text(encoding="utf-8"))
    overrides: dict[str, Any] = {
        "components": {
            name: {"image": {"repository": repository, "tag": args.tag}}
            for name, repository in images.items()
        },
        "postgresql": {"image": _image_value(args.postgres_image)},
        "redis": {"image": _image_value(args.redis_image)},
    }
    overrides["components"]["worker"]["env"] = {
        "NOVA_WORKER_SMTP_HOST": SMTP_SINK,
        "NOVA_WORKER_SMTP_PORT": "1025",
    }
    values = merge_values(values, overrides)
    for path in args.values or []:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        values = merge_values(values, loaded)
    for extra in args.set or []:
        import helm_python as helm

        values = merge_values(values, helm.parse_set_string(extra))
    return values


def _image_value(reference: str) -> dict[str, str]:
    repository, _, tag = reference.rpartition(":")
    return {"repository": repository, "tag": tag}


COMPONENT_IMAGES = {
    "gateway": "nova-gateway", "auth": "nova-auth", "users": "nova-users",
    "frontend": "nova-frontend", "worker": "nova-worker", "beat": "nova-worker",
    "flower": "nova-worker",
}  # fmt: skip


def render_objects(values: dict[str, Any], release: str, namespace: str) -> list[Obj]:
    from deploy.render import RenderError, objects, render

    try:
        return objects(render(values, release=release, namespace=namespace))
    except RenderError as error:
        raise RunError(f"the chart does not render: {error}") from error


def install(cluster: Cluster, objects: Sequence[Obj], phase: str, timeout: float) -> float:
    """helm install/upgrade, played: hooks, then workloads; returns seconds to all-ready."""
    started = time.monotonic()
    for obj in objects:
        cluster.store.add(obj)
    services = [o for o in objects if o["kind"] == "Service"]
    for job in hook_jobs(objects, f"pre-{phase}"):
        cluster.run_job(job, timeout)
    stateful = [o for o in objects if o["kind"] == "StatefulSet"]
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    replaced = roll(cluster, stateful, services)
    cluster.wait_ready([w["metadata"]["name"] for w in stateful], timeout)
    replaced += roll(cluster, deployments, services)
    for job in hook_jobs(objects, f"post-{phase}"):
        cluster.run_job(job, timeout)
    cluster.wait_ready([w["metadata"]["name"] for w in deployments], timeout)
    elapsed = time.monotonic() - started
    log(
        f"{phase}: every workload ready in {elapsed:.0f}s "
        f"(started: {', '.join(replaced) or 'none'})"
    )
    return elapsed


def roll(cluster: Cluster, workloads: Sequence[Obj], services: Sequence[Obj]) -> list[str]:
    """(Re)start the workloads whose pod template changed; returns their names."""
    started = []
    for workload in workloads:
        name = workload["metadata"]["name"]
        if _unchanged(cluster, workload):
            continue
        cluster.stop_workload(name)
        cluster.start_workload(workload, services)
        started.append(name)
        log(f"{workload['kind']} {name} started")
    return started


def _unchanged(cluster: Cluster, workload: Obj) -> bool:
    running = cluster.running.get(workload["metadata"]["name"])
    if not running:
        return False
    digest = hashlib.sha256(
        json.dumps(workload["spec"]["template"], sort_keys=True).encode()
    ).hexdigest()[:16]
    return all(spec.template_hash == digest for spec in running)


# --- the smoke ------------------------------------------------------------------------------------


def smoke(cluster: Cluster, objects: Sequence[Obj], release: str, maildir: Path) -> None:
    """Through the gateway as the Ingress routes it: what a user and an SRE would try first."""
    routes = ingress_routes(objects)
    hosts = [
        rule.get("host") for o in objects if o["kind"] == "Ingress" for rule in o["spec"]["rules"]
    ]

    def url(path: str) -> str:
        service, port = route(routes, path)
        (spec, *_) = [
            s for specs in cluster.running.values() for s in specs if service in s.aliases
        ]
        return f"http://{cluster.ip(spec.name)}:{port}{path}"

    email = user_journey(url, hosts[0] if hosts and hosts[0] else "localhost")
    deadline = time.monotonic() + 90
    while True:
        delivered = [p for p in maildir.glob("new/*") if email in p.read_text(errors="replace")]
        if delivered:
            log(f"smoke: welcome e-mail for {email} delivered to the SMTP sink container")
            break
        if time.monotonic() > deadline:
            raise RunError(f"smoke: no welcome e-mail for {email} reached the SMTP sink in 90s")
        time.sleep(2)
    check_metrics(cluster, objects)
    log(f"smoke: /metrics of every service of release {release} answers")


def user_journey(url: Callable[[str], str], host: str) -> str:
    """Register, log in, GraphQL ``me`` across both subgraphs, REST ``/api/users/me``.

    ``url`` turns a path into the address the Ingress would send it to. Returns the e-mail.
    """
    import httpx

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Host": host, **kwargs.pop("headers", {})}
        return httpx.request(method, url(path), headers=headers, timeout=30, **kwargs)

    def expect(response: httpx.Response, status: int, what: str) -> Any:
        if response.status_code != status:
            raise RunError(
                f"smoke: {what} answered {response.status_code} (expected {status}): "
                + response.text[:500]
            )
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

    email = f"smoke-{uuid.uuid4().hex[:8]}@example.com"
    password = secrets.token_urlsafe(16)
    front = call("GET", "/")
    if front.status_code >= 400:
        raise RunError(f"smoke: GET / (frontend) answered {front.status_code}")
    account = {"email": email, "password": password, "display_name": "Smoke"}
    # Registration answers alike for new and taken addresses (no enumeration): 202, then sign in.
    registered = expect(
        call("POST", "/api/auth/register", json=account), 202, "POST /api/auth/register"
    )
    if registered.get("status") != "accepted":
        raise RunError(f"smoke: POST /api/auth/register returned {registered}")
    log(f"smoke: registered {email} through the Ingress's /api/auth route")
    credentials = {"email": email, "password": password}
    tokens = expect(call("POST", "/api/auth/login", json=credentials), 200, "POST /api/auth/login")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    log("smoke: logged in")
    query = {"query": "{ me { id email displayName roles } }"}
    me = expect(call("POST", "/graphql", json=query, headers=bearer), 200, "GraphQL me")
    if me.get("errors") or not me.get("data", {}).get("me"):
        raise RunError(f"smoke: GraphQL me across both subgraphs failed: {me}")
    profile = me["data"]["me"]
    if profile["email"] != email or profile["displayName"] != "Smoke":
        raise RunError(f"smoke: GraphQL me returned {profile}")
    log("smoke: GraphQL me resolved across auth (email, roles) and users (displayName)")
    rest = expect(call("GET", "/api/users/me", headers=bearer), 200, "GET /api/users/me")
    if rest["id"] != profile["id"]:
        raise RunError(f"smoke: /api/users/me is {rest}, GraphQL said {profile}")
    log("smoke: REST /api/users/me through the gateway's proxy")
    return email


def check_metrics(cluster: Cluster, objects: Sequence[Obj]) -> None:
    """Every Service with a metrics or http port of a Nova service answers Prometheus text."""
    import httpx

    for service in (o for o in objects if o["kind"] == "Service"):
        name = service["metadata"]["name"]
        ports = {p["name"]: p["port"] for p in service["spec"].get("ports") or [] if "name" in p}
        if name.endswith(("-frontend", "-postgresql", "-redis")):
            continue
        port = ports.get("metrics") or ports.get("http")
        if port is None:
            continue
        (spec, *_) = [s for specs in cluster.running.values() for s in specs if name in s.aliases]
        metrics = httpx.get(f"http://{cluster.ip(spec.name)}:{port}/metrics", timeout=10)
        if metrics.status_code != 200 or "# TYPE" not in metrics.text:
            raise RunError(f"smoke: /metrics of {name} answered {metrics.status_code}")


def kill_and_recover(cluster: Cluster, workload: str, timeout: float) -> None:
    spec = cluster.running[workload][0]
    pid = int(cluster.podman.inspect(spec.name)["State"]["Pid"])
    before = int(cluster.podman.inspect(spec.name).get("RestartCount", 0))
    os.kill(pid, signal.SIGKILL)
    log(f"killed the main process of {spec.name} (pid {pid})")
    deadline = time.monotonic() + timeout
    while int(cluster.podman.inspect(spec.name).get("RestartCount", 0)) <= before:
        if time.monotonic() > deadline:
            raise RunError(f"{spec.name} was not restarted after it was killed")
        time.sleep(1)
    cluster.wait_ready([workload], timeout)
    log(f"{spec.name} came back (restart policy Always) and is ready again")


def start_smtp_sink(cluster: Cluster, image: str, timeout: float) -> Path:
    """The SMTP sink the worker mails to (``nova-worker smtp-sink``): its Maildir on the host."""
    maildir = cluster.state / "mail"
    for folder in ("", "new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True, exist_ok=True)
        _chown(maildir / folder, 10001, 10001)
    sink = ContainerSpec(
        name=f"{cluster.prefix}-{SMTP_SINK}",
        workload=SMTP_SINK,
        image=image,
        command=None,
        args=["smtp-sink", "--host", "0.0.0.0", "--port", "1025", "--maildir", "/mail"],  # noqa: S104
        env={},
        mounts=[Mount(maildir, "/mail", read_only=False)],
        user="10001:10001",
        groups=[],
        read_only=True,
        cap_drop=["ALL"],
        cap_add=[],
        no_new_privileges=True,
        aliases=[SMTP_SINK],
        restart="always",
        ports={"smtp": 1025},
        readiness=Probe("tcp", port=1025),
        hostname=SMTP_SINK,
    )
    cluster.start(sink)
    cluster.running[SMTP_SINK] = [sink]
    cluster.wait_ready([SMTP_SINK], timeout)
    return maildir


# --- main --------------------------------------------------------------------------------------


def choose_data_images(args: argparse.Namespace, podman: Podman) -> None:
    """The chart's PostgreSQL and Redis images when present, else the local stand-ins."""
    for flag, standin, official in (
        ("postgres_image", STANDIN_POSTGRES, "postgres:17.6-bookworm"),
        ("redis_image", STANDIN_REDIS, "redis:8.2.2-bookworm"),
    ):
        if not getattr(args, flag):
            exists = podman("image", "exists", official, check=False).returncode == 0
            setattr(args, flag, official if exists else standin)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--release", default="nova")
    parser.add_argument("--namespace", default="nova")
    parser.add_argument("--tag", default=os.environ.get("IMAGE_TAG", "dev"))
    parser.add_argument("--postgres-image", default=os.environ.get("NOVA_POSTGRES_IMAGE", ""))
    parser.add_argument("--redis-image", default=os.environ.get("NOVA_REDIS_IMAGE", ""))
    parser.add_argument(
        "-f", "--values", action="append", type=Path, help="an extra values file (like helm -f)"
    )
    parser.add_argument(
        "--set", action="append", help="an extra values expression (like helm --set)"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds a step may take")
    parser.add_argument("--keep", action="store_true", help="leave the containers running")
    parser.add_argument("--skip-upgrade", action="store_true")
    parser.add_argument("--state", type=Path, default=ROOT / ".nova" / "deploy-run")
    parser.add_argument(
        "--smoke-url",
        default="",
        help="only run the user journey against an installed release's Ingress (e.g. on kind)",
    )
    parser.add_argument("--smoke-host", default="localhost", help="Host header for --smoke-url")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.smoke_url:
        base = args.smoke_url.rstrip("/")
        try:
            user_journey(lambda path: f"{base}{path}", args.smoke_host)
        except RunError as error:
            print(f"deploy-test: FAILED: {error}", file=sys.stderr)
            return 1
        return 0
    if shutil.which("podman") is None:
        print("deploy-test: needs podman (apt-get install podman buildah runc)", file=sys.stderr)
        return 1
    if "CONTAINERS_CONF" not in os.environ:
        conf = ROOT / ".nova" / "containers" / "containers.conf"
        if conf.exists():
            os.environ["CONTAINERS_CONF"] = str(conf)
    podman = Podman("")
    choose_data_images(args, podman)
    prefix = f"{args.release}-run"
    cluster = Cluster(
        podman=podman,
        network=f"{prefix}-net",
        prefix=prefix,
        state=args.state,
        namespace=args.namespace,
    )
    cluster.remove_all()
    if args.state.exists():
        shutil.rmtree(args.state)
    args.state.mkdir(parents=True)
    started = time.monotonic()
    try:
        podman("network", "create", cluster.network)
        log(
            f"network {cluster.network}; images tagged {args.tag}; "
            f"data services {args.postgres_image}, {args.redis_image}"
        )
        values = run_values(args, COMPONENT_IMAGES)
        objects = render_objects(values, args.release, args.namespace)
        for secret in dev_secrets(args.release):
            cluster.store.add(secret)
        maildir = start_smtp_sink(cluster, f"{COMPONENT_IMAGES['worker']}:{args.tag}", args.timeout)
        ready_after = install(cluster, objects, "install", args.timeout)
        log(
            f"all ready {time.monotonic() - started:.0f}s after the run started "
            f"(install took {ready_after:.0f}s)"
        )
        smoke(cluster, objects, args.release, maildir)
        if not args.skip_upgrade:
            marker = {"global": {"env": {"NOVA_RELEASE_MARK": uuid.uuid4().hex[:8]}}}
            from deploy.render import merge_values

            upgraded = render_objects(merge_values(values, marker), args.release, args.namespace)
            log("upgrade: re-rendered with global.env.NOVA_RELEASE_MARK changed")
            install(cluster, upgraded, "upgrade", args.timeout)
            smoke(cluster, upgraded, args.release, maildir)
            objects = upgraded
        kill_and_recover(cluster, f"{args.release}-auth", args.timeout)
        smoke(cluster, objects, args.release, maildir)
        log(f"passed in {time.monotonic() - started:.0f}s")
        return 0
    except RunError as error:
        print(f"deploy-test: FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            cluster.remove_all()


if __name__ == "__main__":
    sys.exit(main())
