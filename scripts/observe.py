"""``make observe``: Prometheus and Alertmanager next to the local Nova stack, configured from
the Helm chart.

What the chart tells Prometheus Operator, this tells a plain Prometheus:

- one scrape job per ServiceMonitor the chart renders (``metrics.serviceMonitor.enabled``),
  scraping the port the monitor names on ``127.0.0.1`` (the Service's port name resolved to the
  container port, which is also the process's local port), with the target labels the Operator
  adds (``namespace``, ``service``, ``pod``, ``container``, ``job``) so the chart's alerts and
  dashboards read local series unchanged. Beat has no endpoint: the worker reports its series.
- the chart's PrometheusRule rendered to a rules file (``metrics.prometheusRule.enabled``);
- Alertmanager as the rules' destination.

Usage::

    python scripts/observe.py up      # Prometheus :9090 and Alertmanager :9093 for `make dev`
    python scripts/observe.py config  # write the configuration under .nova/observe/ and exit

``make dev OBS=1`` runs both inside the dev stack instead. Ports: ``NOVA_OBSERVE_PROMETHEUS_PORT``
and ``NOVA_OBSERVE_ALERTMANAGER_PORT``. The binaries are Debian's ``prometheus`` and
``prometheus-alertmanager`` (``make observe-deps`` installs them) or whatever ``PROMETHEUS_BIN``
and ``ALERTMANAGER_BIN`` name.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy.render import CHART, DEFAULT_NAMESPACE, DEFAULT_RELEASE, objects, render  # noqa: E402

STATE = Path(os.environ.get("NOVA_DEV_STATE_DIR", ROOT / ".nova")).resolve() / "observe"
PROMETHEUS_PORT = int(os.environ.get("NOVA_OBSERVE_PROMETHEUS_PORT", "9090"))
ALERTMANAGER_PORT = int(os.environ.get("NOVA_OBSERVE_ALERTMANAGER_PORT", "9093"))
COMPONENT_LABEL = "app.kubernetes.io/component"
# Alerts that need Kubernetes (kube-state-metrics) never fire on one machine; their rules stay
# in the file so that what runs here is what the chart ships.
MONITORING = {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}


class ObserveError(RuntimeError):
    """A binary is missing or the chart does not describe what is needed."""


@dataclass(frozen=True)
class ScrapeTarget:
    """One ServiceMonitor endpoint, resolved to the port its process listens on."""

    component: str
    service: str
    namespace: str
    endpoint: str
    port: int
    path: str
    interval: str

    def labels(self) -> dict[str, str]:
        """The target labels Prometheus Operator gives a pod of this Service."""
        return {
            "namespace": self.namespace,
            "service": self.service,
            "pod": f"{self.service}-local",
            "container": self.component,
            "endpoint": self.endpoint,
            "job": self.service,
        }


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        merged[key] = (
            _merge(current, value)
            if isinstance(current, dict) and isinstance(value, Mapping)
            else value
        )
    return merged


def chart_objects(
    values: Mapping[str, Any] | None = None, *, release: str = DEFAULT_RELEASE
) -> list[dict[str, Any]]:
    """The chart rendered with its monitoring switched on (plus ``values``), as the processes run
    on this machine: they serve ``/metrics`` on their HTTP port (no separate metrics port, which
    only the chart's pods have), so each ServiceMonitor endpoint names that port."""
    chart_values = yaml.safe_load((CHART / "values.yaml").read_text())
    local = {
        "components": {
            name: {"metrics": {"port": None}}
            for name, component in chart_values["components"].items()
            if (component.get("metrics") or {}).get("port")
        }
    }
    merged = _merge(_merge({"metrics": MONITORING}, local), values or {})
    return objects(render(merged, release=release, namespace=DEFAULT_NAMESPACE))


def _container_port(deployment: Mapping[str, Any], name: str) -> int | None:
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        for port in container.get("ports", []):
            if port.get("name") == name:
                return int(port["containerPort"])
    return None


def scrape_targets(manifests: Sequence[Mapping[str, Any]]) -> list[ScrapeTarget]:
    """Every endpoint of every rendered ServiceMonitor, with the port number behind its name."""

    def of_kind(kind: str) -> dict[str, Mapping[str, Any]]:
        found = {}
        for item in manifests:
            if item.get("kind") == kind:
                found[item["metadata"]["labels"][COMPONENT_LABEL]] = item
        return found

    services, deployments = of_kind("Service"), of_kind("Deployment")
    targets = []
    for component, monitor in sorted(of_kind("ServiceMonitor").items()):
        service = services.get(component)
        if service is None:
            raise ObserveError(f"ServiceMonitor {component} selects no Service of the chart")
        for endpoint in monitor["spec"]["endpoints"]:
            ports = [p for p in service["spec"]["ports"] if p.get("name") == endpoint["port"]]
            if not ports:
                raise ObserveError(f"Service {component} has no port named {endpoint['port']}")
            target_port = ports[0].get("targetPort", ports[0]["port"])
            number = (
                _container_port(deployments[component], target_port)
                if isinstance(target_port, str) and component in deployments
                else int(target_port)
            )
            if number is None:
                raise ObserveError(f"{component} has no container port named {target_port}")
            targets.append(
                ScrapeTarget(
                    component=component,
                    service=str(service["metadata"]["name"]),
                    namespace=str(monitor["metadata"]["namespace"]),
                    endpoint=str(endpoint["port"]),
                    port=number,
                    path=str(endpoint.get("path", "/metrics")),
                    interval=str(endpoint.get("interval", "30s")),
                )
            )
    return targets


def rule_groups(
    manifests: Sequence[Mapping[str, Any]], *, for_override: str | None = None
) -> list[dict[str, Any]]:
    """The groups of the rendered PrometheusRule, as a Prometheus rules file holds them.

    ``for_override`` replaces every alert's ``for:`` (tests shorten it; the chart is unchanged)."""
    groups: list[dict[str, Any]] = []
    for item in manifests:
        if item.get("kind") == "PrometheusRule":
            for group in item["spec"]["groups"]:
                rules = [dict(rule) for rule in group["rules"]]
                if for_override is not None:
                    for rule in rules:
                        if "alert" in rule:
                            rule["for"] = for_override
                groups.append({**group, "rules": rules})
    if not groups:
        raise ObserveError("the chart rendered no PrometheusRule")
    return groups


def prometheus_config(
    targets: Sequence[ScrapeTarget],
    *,
    rules_file: Path,
    alertmanager: str,
    ports: Mapping[str, int] | None = None,
    scrape_interval: str | None = None,
    evaluation_interval: str = "15s",
) -> dict[str, Any]:
    """A prometheus.yml: one job per endpoint on 127.0.0.1 (``ports`` moves a component)."""
    jobs = []
    for target in targets:
        port = (ports or {}).get(target.component, target.port)
        interval = scrape_interval or target.interval
        jobs.append(
            {
                "job_name": f"{target.service}/{target.endpoint}",
                "scrape_interval": interval,
                "scrape_timeout": interval if _seconds(interval) < 10 else "10s",
                "metrics_path": target.path,
                "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": target.labels()}],
            }
        )
    return {
        "global": {
            "scrape_interval": scrape_interval or "15s",
            "evaluation_interval": evaluation_interval,
        },
        "rule_files": [str(rules_file)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": jobs,
    }


def alertmanager_config(
    webhook: str | None = None, *, group_wait: str = "30s", group_interval: str = "5m"
) -> dict[str, Any]:
    """Alerts grouped by name and namespace; sent to ``webhook`` (resolutions too) if given."""
    receiver: dict[str, Any] = {"name": "nova"}
    if webhook is not None:
        receiver["webhook_configs"] = [{"url": webhook, "send_resolved": True}]
    return {
        "route": {
            "receiver": "nova",
            "group_by": ["alertname", "namespace"],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": "4h",
        },
        "receivers": [receiver],
    }


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for suffix in sorted(units, key=len, reverse=True):
        if duration.endswith(suffix):
            return float(duration[: -len(suffix)]) * units[suffix]
    return float(duration)


def binary(name: str, variable: str) -> str:
    found = os.environ.get(variable) or shutil.which(name)
    if not found:
        raise ObserveError(
            f"{name} is not installed: make observe-deps (Debian: apt-get install -y "
            f"prometheus prometheus-alertmanager), or set {variable}"
        )
    return found


@dataclass(frozen=True)
class Layout:
    """Where the configuration and data of one Prometheus/Alertmanager pair live."""

    directory: Path
    prometheus_port: int
    alertmanager_port: int

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    def write(
        self,
        manifests: Sequence[Mapping[str, Any]],
        *,
        ports: Mapping[str, int] | None = None,
        skip: Sequence[str] = (),
        scrape_interval: str | None = None,
        evaluation_interval: str = "15s",
        for_override: str | None = None,
        webhook: str | None = None,
        group_wait: str = "30s",
        group_interval: str = "5m",
    ) -> list[ScrapeTarget]:
        """Write prometheus.yml, rules.yml and alertmanager.yml; the targets scraped."""
        self.directory.mkdir(parents=True, exist_ok=True)
        targets = [t for t in scrape_targets(manifests) if t.component not in skip]
        rules = self.directory / "rules.yml"
        groups = rule_groups(manifests, for_override=for_override)
        rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
        config = prometheus_config(
            targets,
            rules_file=rules,
            alertmanager=f"127.0.0.1:{self.alertmanager_port}",
            ports=ports,
            scrape_interval=scrape_interval,
            evaluation_interval=evaluation_interval,
        )
        (self.directory / "prometheus.yml").write_text(
            yaml.safe_dump(config, sort_keys=False), encoding="utf-8"
        )
        alerting = alertmanager_config(
            webhook, group_wait=group_wait, group_interval=group_interval
        )
        (self.directory / "alertmanager.yml").write_text(
            yaml.safe_dump(alerting, sort_keys=False), encoding="utf-8"
        )
        return targets

    def prometheus_argv(self) -> list[str]:
        return [
            binary("prometheus", "PROMETHEUS_BIN"),
            f"--config.file={self.directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.directory / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            "--storage.tsdb.retention.time=7d",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ]

    def alertmanager_argv(self) -> list[str]:
        return [
            binary("prometheus-alertmanager", "ALERTMANAGER_BIN"),
            f"--config.file={self.directory / 'alertmanager.yml'}",
            f"--storage.path={self.directory / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
            "--cluster.listen-address=",  # one instance: no gossip port
            "--log.level=warn",
        ]

    def banner(self) -> list[str]:
        return [
            f"  {'prometheus':<12} {self.prometheus_url}/targets   (alerts: /alerts)",
            f"  {'alertmanager':<12} {self.alertmanager_url}",
        ]


def dev_layout() -> Layout:
    return Layout(STATE, PROMETHEUS_PORT, ALERTMANAGER_PORT)


def dev_processes(skip: Sequence[str] = ()) -> list[tuple[str, list[str], str, str]]:
    """For ``make dev OBS=1``: (name, argv, ready URL, URL) of Prometheus and Alertmanager,
    configured for the dev stack's processes (``skip`` = those left out)."""
    layout = dev_layout()
    layout.write(chart_objects(), skip=skip)
    return [
        (
            "prometheus",
            layout.prometheus_argv(),
            f"{layout.prometheus_url}/-/ready",
            f"{layout.prometheus_url}/targets",
        ),
        (
            "alertmanager",
            layout.alertmanager_argv(),
            f"{layout.alertmanager_url}/-/ready",
            layout.alertmanager_url,
        ),
    ]


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signum)


def up() -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # stopped like Ctrl-C: the children stop too
    layout = dev_layout()
    targets = layout.write(chart_objects())
    started: list[subprocess.Popen[bytes]] = []
    try:
        for argv in (layout.alertmanager_argv(), layout.prometheus_argv()):
            started.append(subprocess.Popen(argv, start_new_session=True))  # noqa: S603
        for process, url in zip(
            started, (layout.alertmanager_url, layout.prometheus_url), strict=True
        ):
            if not _wait_ready(f"{url}/-/ready", process):
                raise ObserveError(f"{process.args!r} did not become ready")
        scraped = ", ".join(f"{t.service} :{t.port}" for t in targets)
        print("\n".join(["", "Observing Nova:", *layout.banner(), f"  scraping     {scraped}"]))
        print(f"Press Ctrl-C to stop (data is kept in {layout.directory}).", flush=True)
        while all(process.poll() is None for process in started):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("action", choices=["up", "config"], nargs="?", default="up")
    args = parser.parse_args(argv)
    try:
        if args.action == "config":
            layout = dev_layout()
            for target in layout.write(chart_objects()):
                print(f"{target.service}: 127.0.0.1:{target.port}{target.path}")
            print(f"configuration in {layout.directory}")
            return 0
        return up()
    except ObserveError as error:
        print(f"observe: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
