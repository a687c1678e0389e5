"""Runs a built-in golden path through the scaffolder into hosted git and checks what any
workload's repository must hold. Shared by the tests of every built-in template."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jsonpatch
import kubernetes_validate
import yaml

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.scaffolder.service import get_scaffolder
from goldpath.templates import plugin

KUBERNETES_VERSION = "1.30.0"
PIPELINE_STAGES = ["lint", "test", "security", "build", "deploy"]
REPO_OWNER = "services"


def create_from_template(
    platform: Platform, template: str, answers: dict[str, Any], clone_to: Path
) -> Path:
    """Register the built-in templates, run ``template`` with ``answers`` and clone the
    repository it published; returns the clone."""
    plugin.install(platform)
    service = get_scaffolder(platform)
    task_id = service.create_task(f"template:default/{template}", answers)
    platform.tasks.run_until_idle(timeout=180)
    task = service.get_task(task_id)
    assert task.status == "completed", service.events(task_id)[-5:]
    bare = platform.settings.data_dir / "git" / REPO_OWNER / f"{answers['name']}.git"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone_to)], check=True)
    return clone_to


def load_yaml_documents(path: Path) -> list[Any]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def assert_fully_rendered(repo: Path) -> None:
    for path in repo.rglob("*"):
        if ".git" in path.relative_to(repo).parts or not path.is_file():
            continue
        text = path.read_text()
        assert "${{" not in text and "{%" not in text, f"unrendered template syntax in {path}"
        assert "${{" not in str(path), f"unrendered path {path}"


def catalog_entities(platform: Platform, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The component and the API entity the repository registered."""
    queries = get_catalog(platform).queries
    return (
        queries.by_name("component", "default", name),
        queries.by_name("api", "default", f"{name}-api"),
    )


def check_kubernetes_manifests(repo: Path) -> int:
    """Every object under k8s/ validates against the Kubernetes schemas; every
    kustomization names files that exist. Returns the number of objects checked."""
    checked = 0
    for path in sorted((repo / "k8s").rglob("*.yaml")):
        docs = load_yaml_documents(path)
        if path.name == "kustomization.yaml":
            (kustomization,) = docs
            assert kustomization["kind"] == "Kustomization"
            for resource in kustomization.get("resources", []):
                assert (path.parent / resource).exists(), f"{path} names missing {resource}"
            continue
        for doc in docs:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            checked += 1
    # What `kubectl apply -k` would get per environment must be valid too.
    for overlay in sorted((repo / "k8s" / "overlays").glob("*/kustomization.yaml")):
        for doc in render_kustomization(overlay.parent):
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            checked += 1
    return checked


# The kustomization fields render_kustomization understands; anything else fails the check
# rather than being silently skipped.
KUSTOMIZE_FIELDS = {"apiVersion", "kind", "resources", "namespace", "labels", "replicas", "patches"}
SCALABLE_KINDS = {"Deployment", "StatefulSet", "ReplicaSet"}


def render_kustomization(folder: Path) -> list[dict[str, Any]]:
    """The objects a kustomization folder builds, for the subset of kustomize the golden
    paths use (there is no kustomize binary to run here): resources (files and folders),
    JSON 6902 and merge patches by target, replicas, namespace and labels."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(spec) - KUSTOMIZE_FIELDS
    assert not unknown, f"{folder}: kustomization fields this check cannot render: {unknown}"
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        target = folder / resource
        if target.is_dir():
            objects += render_kustomization(target)
        else:
            objects += load_yaml_documents(target)
    for patch in spec.get("patches", []):
        matched = [obj for obj in objects if _patch_target_matches(obj, patch.get("target", {}))]
        assert matched, f"{folder}: patch target {patch.get('target')} matches no object"
        body = yaml.safe_load(
            patch["patch"] if "patch" in patch else (folder / patch["path"]).read_text()
        )
        for index, obj in enumerate(objects):
            if obj in matched:
                objects[index] = (
                    jsonpatch.apply_patch(obj, body)
                    if isinstance(body, list)
                    else _merge(obj, body)
                )
    for replicas in spec.get("replicas", []):
        scaled = [
            obj
            for obj in objects
            if obj["kind"] in SCALABLE_KINDS and obj["metadata"]["name"] == replicas["name"]
        ]
        assert scaled, f"{folder}: replicas for {replicas['name']} match no workload"
        for obj in scaled:
            obj["spec"]["replicas"] = replicas["count"]
    namespace = spec.get("namespace")
    for obj in objects:
        if namespace and obj["kind"] != "Namespace":
            obj["metadata"]["namespace"] = namespace
        for labels in spec.get("labels", []):
            obj["metadata"].setdefault("labels", {}).update(labels["pairs"])
            assert not labels.get("includeSelectors"), "selector labels are not rendered here"
    return objects


def _patch_target_matches(obj: dict[str, Any], target: dict[str, str]) -> bool:
    return all(
        (obj["kind"] if key == "kind" else obj["metadata"].get(key)) == value
        for key, value in target.items()
    )


def _merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386), close to a strategic merge for maps."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return patch
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(base.get(key), value)
    return merged


def check_alert_rules(path: Path, runbook: Path) -> list[str]:
    """Prometheus rule file structure (and PromQL, by promtool); each alert has a runbook
    section. Returns the alerts."""
    promtool = shutil.which("promtool")
    if promtool is None:
        # .ci/run installs Prometheus' tools; elsewhere the structure checks below still run.
        assert not os.environ.get("CI"), "promtool is required under CI"
    else:
        checked = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = yaml.safe_load(path.read_text())
    assert rules["groups"], "no rule groups"
    alerts: list[str] = []
    runbook_text = runbook.read_text()
    for group in rules["groups"]:
        assert isinstance(group["name"], str) and group["rules"]
        for rule in group["rules"]:
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert ("alert" in rule) != ("record" in rule), rule
            if "alert" in rule:
                assert rule["labels"]["severity"] in {"critical", "warning", "info"}
                assert rule["annotations"]["summary"]
                assert rule["annotations"]["runbook_url"]
                assert f"## {rule['alert']}" in runbook_text, f"no runbook for {rule['alert']}"
                alerts.append(rule["alert"])
    return alerts


def check_dashboard(path: Path, metric_names: list[str]) -> dict[str, Any]:
    dashboard = json.loads(path.read_text())
    assert dashboard["title"] and dashboard["panels"]
    exprs = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    for metric in metric_names:
        assert metric in exprs, f"dashboard does not chart {metric}"
    return dashboard  # type: ignore[no-any-return]


def check_ci(repo: Path) -> None:
    pipeline = yaml.safe_load((repo / ".goldpath" / "pipeline.yaml").read_text())
    assert [stage["name"] for stage in pipeline["stages"]] == PIPELINE_STAGES
    for stage in pipeline["stages"]:
        assert stage["run"] and all(isinstance(cmd, str) for cmd in stage["run"])
    github = yaml.safe_load((repo / ".github" / "workflows" / "ci.yml").read_text())
    assert list(github["jobs"]) == PIPELINE_STAGES
    for job in github["jobs"].values():
        assert job["runs-on"] and job["steps"]
    gitlab = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    assert gitlab["stages"] == PIPELINE_STAGES
    jobs = [job for job in gitlab.values() if isinstance(job, dict) and "stage" in job]
    assert {job["stage"] for job in jobs} == set(PIPELINE_STAGES)
    security = " ".join(pipeline["stages"][2]["run"])
    for tool in ("bandit", "detect-secrets", "pip-audit"):
        assert tool in security
    json.loads((repo / ".secrets.baseline").read_text())


def run_ruff(repo: Path) -> subprocess.CompletedProcess[str]:
    """The repository's own lint, with its own ruff settings, without installing it."""
    ruff = Path(sys.executable).parent / "ruff"
    return subprocess.run(
        [str(ruff), "check", "--no-cache", "--output-format", "concise", "src", "tests"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )


def build_docs(repo: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """The repository's MkDocs site builds with warnings as errors (as TechDocs builds it)."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    return subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )


def pip_cache_dir() -> str:
    return os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


def run_make_test(repo: Path, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """The repository's own ``make test``: fresh virtualenv, install, lint, tests, bandit."""
    env = {**os.environ, "PIP_CACHE_DIR": pip_cache_dir(), "PYTHON": sys.executable}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    assert shutil.which("make"), "make is needed to run a generated repository's checks"
    return subprocess.run(
        ["make", "test"], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningService:
    """The generated service served by uvicorn from the repository's virtualenv."""

    def __init__(self, repo: Path, app: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = repo / "service.log"
        self._log_handle = self.log.open("w")
        self.process = subprocess.Popen(
            [
                str(repo / ".venv" / "bin" / "uvicorn"),
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=repo,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"service did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()
