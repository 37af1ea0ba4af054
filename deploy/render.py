"""Render, lint and schema-check the Nova Helm chart offline, with no ``helm`` binary.

Uses the Helm v4 engine through PyPI's ``helm-python-sdk`` (no cluster is contacted)::

    python deploy/render.py template -f deploy/helm/nova/values-kind.yaml > nova.yaml
    python deploy/render.py lint -f deploy/helm/nova/values-prod-example.yaml
    python deploy/render.py lint --all     # defaults + every values-*.yaml of the chart

The Makefile targets ``helm-template`` / ``helm-lint`` and the tests under ``tests/deploy`` use
the same functions, so what CI checks is what a developer renders.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHART = Path(__file__).resolve().parent / "helm" / "nova"
DEFAULT_RELEASE = "nova"
DEFAULT_NAMESPACE = "nova"
NOTES = "templates/NOTES.txt"


class RenderError(RuntimeError):
    """The values were rejected or a template failed; the message says why."""


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's ``-f a.yaml -f b.yaml`` merge: maps merge recursively, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = merge_values(current, value)
        else:
            merged[key] = value
    return merged


def load_values(files: Sequence[Path] = (), sets: Sequence[str] = ()) -> dict[str, Any]:
    """Values from ``-f`` files then ``--set`` expressions, merged in order."""
    values: dict[str, Any] = {}
    for path in files:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise RenderError(f"{path}: a values file must hold a mapping")
        values = merge_values(values, loaded)
    for expression in sets:
        values = merge_values(values, helm.parse_set_string(expression))
    return values


def render_templates(
    values: dict[str, Any] | None = None,
    *,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    chart: Path = CHART,
) -> dict[str, str]:
    """Every rendered template (path relative to the chart -> text), NOTES.txt included."""
    try:
        with helm.Chart.load(chart) as loaded:
            loaded.validate_schema(values or {})
            rendered = loaded.render(values or {}, name=release, namespace=namespace)
    except helm.HelmError as error:
        raise RenderError(str(error)) from error
    prefix = f"{chart.name}/"
    return {path.removeprefix(prefix): text for path, text in rendered.items()}


def render(
    values: dict[str, Any] | None = None,
    *,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    chart: Path = CHART,
) -> str:
    """The manifests as one multi-document YAML stream, in a stable order (like helm template)."""
    templates = render_templates(values, release=release, namespace=namespace, chart=chart)
    documents: list[str] = []
    for path in sorted(templates):
        if path == NOTES or not path.endswith((".yaml", ".yml")):
            continue
        for document in templates[path].split("\n---"):
            body = document.strip("\n").removeprefix("---").strip("\n")
            if not yaml.safe_load(body or "null"):
                continue
            documents.append(f"---\n# Source: {chart.name}/{path}\n{body}\n")
    return "".join(documents)


def objects(manifest: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of a rendered stream."""
    return [doc for doc in yaml.safe_load_all(manifest) if isinstance(doc, dict)]


def notes(
    values: dict[str, Any] | None = None,
    *,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
) -> str:
    """The rendered NOTES.txt."""
    return render_templates(values, release=release, namespace=namespace).get(NOTES, "")


def lint(
    values: dict[str, Any] | None = None, *, strict: bool = True, chart: Path = CHART
) -> list[str]:
    """``helm lint [--strict]`` findings of warning level or worse (empty = clean)."""
    report = helm.lint(chart, values or {}, strict=strict)
    threshold = 2 if strict else 3
    findings = [
        f"{message['path']}: {message['error']}"
        for message in report.get("messages", [])
        if int(message.get("severity", 0)) >= threshold
    ]
    findings.extend(str(error) for error in report.get("errors", []) or [])
    return findings


def values_files(chart: Path = CHART) -> list[Path]:
    """The example values files shipped with the chart."""
    return sorted(chart.glob("values-*.yaml"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy/render.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("template", "render the manifests"), ("lint", "helm lint --strict")):
        child = sub.add_parser(name, help=text, description=text)
        child.add_argument("-f", "--values", action="append", type=Path, default=[])
        child.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
        if name == "template":
            child.add_argument("--release", default=DEFAULT_RELEASE)
            child.add_argument("--namespace", default=DEFAULT_NAMESPACE)
            child.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
        else:
            child.add_argument(
                "--all", action="store_true", help="defaults and every values-*.yaml of the chart"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "template":
            manifest = render(
                load_values(args.values, args.set), release=args.release, namespace=args.namespace
            )
            if args.output is None:
                sys.stdout.write(manifest)
            else:
                args.output.write_text(manifest, encoding="utf-8")
            return 0
        sets: list[list[Path]] = [list(args.values)]
        if args.all:
            sets = [[], *([path] for path in values_files())]
        failed = False
        for files in sets:
            label = ", ".join(str(path) for path in files) or "defaults"
            render(load_values(files, args.set))
            findings = lint(load_values(files, args.set))
            for finding in findings:
                print(f"{label}: {finding}", file=sys.stderr)
            failed = failed or bool(findings)
            print(f"{label}: {'FAILED' if findings else 'ok'}")
        return 1 if failed else 0
    except RenderError as error:
        print(f"render: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
