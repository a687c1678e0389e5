"""The http-service golden path: scaffolder → hosted git → catalog, and a repository that
passes its own checks."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from golden_path_harness import (
    RunningService,
    assert_fully_rendered,
    build_docs,
    catalog_entities,
    check_alert_rules,
    check_ci,
    check_dashboard,
    check_kubernetes_manifests,
    create_from_template,
    render_kustomization,
    run_make_test,
    run_ruff,
)

from goldpath.core.platform import Platform

METRICS = [
    "http_server_requests_total",
    "http_server_errors_total",
    "http_server_request_duration_seconds",
]
COMBOS = {
    "postgres-redis": {
        "database": "postgres",
        "cache": "redis",
        "system": "system:default/checkout",
    },
    # Leaves system out: it is optional.
    "none-none": {"database": "none", "cache": "none"},
}


def answers(name: str, **options: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": 'Takes payments and says "thank you"',
        "owner": "group:default/team-checkout",
        **options,
    }


@pytest.mark.parametrize("combo", list(COMBOS))
def test_http_service_repository_is_complete(
    platform: Platform, tmp_path: Path, combo: str
) -> None:
    options = COMBOS[combo]
    name = f"pay-{combo}"
    module = name.replace("-", "_")
    repo = create_from_template(
        platform, "http-service", answers(name, **options), tmp_path / "clone"
    )
    assert_fully_rendered(repo)

    # Catalog: the component provides the API entity holding the committed OpenAPI document.
    component, api = catalog_entities(platform, name)
    assert component["spec"]["owner"] == "group:default/team-checkout"
    assert component["spec"].get("system") == options.get("system")
    assert component["spec"]["lifecycle"] == "experimental"
    assert component["spec"]["providesApis"] == [f"{name}-api"]
    annotations = component["metadata"]["annotations"]
    assert annotations["backstage.io/techdocs-ref"] == "dir:."
    assert annotations["goldpath.dev/template"] == "template:default/http-service"
    assert annotations["goldpath.dev/template-version"] == "1.0.0"
    assert component["metadata"]["links"]
    assert component["metadata"]["description"] == 'Takes payments and says "thank you"'
    relations = {(r["type"], r["targetRef"]) for r in component.get("relations", [])}
    assert ("providesApi", f"api:default/{name}-api") in relations
    assert api["spec"]["type"] == "openapi"
    assert '"/healthz"' in api["spec"]["definition"]

    # Source layout, with the options' pieces present exactly when chosen.
    src = repo / "src" / module
    for piece in ("app.py", "config.py", "logs.py", "metrics.py", "tracing.py"):
        assert (src / piece).is_file()
    pyproject = (repo / "pyproject.toml").read_text()
    postgres = options["database"] == "postgres"
    redis = options["cache"] == "redis"
    assert (src / "db.py").is_file() == postgres
    assert (repo / "migrations" / "0001_initial.sql").is_file() == postgres
    assert ("sqlalchemy" in pyproject) == postgres
    assert (src / "cache.py").is_file() == redis
    assert (repo / "tests" / "test_db.py").is_file() == postgres
    assert (repo / "tests" / "test_cache.py").is_file() == redis
    assert ("redis>=" in pyproject) == redis
    lint = run_ruff(repo)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for path in (
        "Dockerfile",
        ".dockerignore",
        "Makefile",
        "README.md",
        "mkdocs.yml",
        "docs/index.md",
        "docs/adr/0001-record-architecture-decisions.md",
    ):
        assert (repo / path).is_file(), path
    dockerfile = (repo / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile and "-slim" in dockerfile
    assert "make test" in (repo / "README.md").read_text()

    # resources.yaml, answers.
    (resources,) = yaml.safe_load_all((repo / "resources.yaml").read_text())
    assert resources["kind"] == "ServiceResources"
    assert resources["metadata"] == {"name": name, "owner": "group:default/team-checkout"}
    assert ("database" in resources["spec"]) == postgres
    assert ("cache" in resources["spec"]) == redis
    if postgres:
        assert resources["spec"]["database"]["type"] == "postgres"
    if redis:
        assert resources["spec"]["cache"]["type"] == "redis"
    recorded = yaml.safe_load((repo / ".goldpath" / "answers.yaml").read_text())
    assert recorded["template"] == "template:default/http-service"
    assert recorded["version"] == "1.0.0"
    assert recorded["answers"]["database"] == options["database"]
    assert recorded["answers"]["name"] == name

    # Delivery and operations.
    check_ci(repo)
    assert check_kubernetes_manifests(repo) >= 4 + 3
    deployment = yaml.safe_load((repo / "k8s" / "base" / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    for env_name, replicas in (("dev", 1), ("staging", 2), ("production", 3)):
        rendered = render_kustomization(repo / "k8s" / "overlays" / env_name)
        (deployed,) = [obj for obj in rendered if obj["kind"] == "Deployment"]
        assert deployed["metadata"]["namespace"] == f"{name}-{env_name}"
        assert deployed["spec"]["replicas"] == replicas
        app_env = deployed["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": "APP_ENV", "value": env_name} in app_env
    alerts = check_alert_rules(repo / "observability" / "alerts.yaml", repo / "docs" / "runbook.md")
    assert {"ServiceUnavailable", "HighLatency", "ErrorBudgetBurn"} <= set(alerts)
    dashboard = check_dashboard(repo / "observability" / "dashboard.json", METRICS)
    assert dashboard["title"] == name
    docs = build_docs(repo, tmp_path / "site")
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert (tmp_path / "site" / "runbook" / "index.html").is_file()


@pytest.mark.slow
def test_generated_http_service_passes_its_own_checks_and_serves(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    # Once, on SQLite: the generated repository does not depend on goldpath's database.
    name = "pay-live"
    repo = create_from_template(sqlite_platform, "http-service", answers(name), tmp_path / "clone")

    result = run_make_test(repo)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout

    service = RunningService(repo, "pay_live.app:app")
    try:
        service.wait_ready()
        assert httpx.get(f"{service.base_url}/api/v1/hello/ada").json() == {
            "message": "Hello, ada!"
        }
        health = httpx.get(f"{service.base_url}/healthz")
        assert health.json()["service"] == name
        assert health.headers["X-Request-ID"]
        metrics = httpx.get(f"{service.base_url}/metrics").text
        counted = 'method="GET",route="/api/v1/hello/{name}",status="200"} 1.0'
        assert f"http_server_requests_total{{{counted}" in metrics
    finally:
        service.stop()
    # SIGTERM drains and exits cleanly; every log line is JSON, requests carry their id.
    # (uvicorn re-raises the signal once it has shut down cleanly)
    assert service.process.returncode in (0, -signal.SIGTERM), service.log.read_text()
    lines = [json.loads(line) for line in service.log.read_text().splitlines() if line.strip()]
    requests = [line for line in lines if line["message"] == "request"]
    assert requests and all(line["request_id"] for line in requests)
    assert requests[0]["route"] == "/api/v1/hello/{name}"
    messages = [line["message"] for line in lines]
    assert "stopped" in messages and "Application shutdown complete." in messages
