"""The worker golden path: scaffolder → hosted git → catalog, and a repository that passes
its own checks and works a real Redis queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from golden_path_harness import (
    assert_fully_rendered,
    build_docs,
    check_alert_rules,
    check_ci,
    check_dashboard,
    check_kubernetes_manifests,
    create_from_template,
    free_port,
    pip_cache_dir,
    render_kustomization,
    run_make_test,
    run_ruff,
)

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform

REDIS_URL = os.environ.get("GOLDPATH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
METRICS = ["worker_jobs_total", "worker_queue_depth", "worker_job_duration_seconds"]
COMBOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "chosen": {"queue": "invoices.render", "maxAttempts": 3, "system": "system:default/billing"},
}


def answers(name: str, **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": 'Renders invoices and says "thanks"',
        "owner": "group:default/team-billing",
        **options,
    }


@pytest.mark.parametrize("combo", list(COMBOS))
def test_worker_repository_is_complete(platform: Platform, tmp_path: Path, combo: str) -> None:
    options = COMBOS[combo]
    name = f"invoicer-{combo}"
    module = name.replace("-", "_")
    queue = options.get("queue", f"{name}-jobs")
    attempts = options.get("maxAttempts", 5)
    repo = create_from_template(platform, "worker", answers(name, **options), tmp_path / "clone")
    assert_fully_rendered(repo)

    # Catalog: the component depends on its queue, registered as a Resource.
    queries = get_catalog(platform).queries
    component = queries.by_name("component", "default", name)
    resource = queries.by_name("resource", "default", f"{name}-queue")
    assert component["spec"]["type"] == "worker"
    assert component["spec"]["owner"] == "group:default/team-billing"
    assert component["spec"].get("system") == options.get("system")
    assert component["spec"]["lifecycle"] == "experimental"
    annotations = component["metadata"]["annotations"]
    assert annotations["backstage.io/techdocs-ref"] == "dir:."
    assert annotations["goldpath.dev/template"] == "template:default/worker"
    assert annotations["goldpath.dev/template-version"] == "1.0.0"
    assert annotations["goldpath.dev/queue"] == queue
    relations = {(r["type"], r["targetRef"]) for r in component["relations"]}
    assert ("dependsOn", f"resource:default/{name}-queue") in relations
    assert ("dependencyOf", f"component:default/{name}") in {
        (r["type"], r["targetRef"]) for r in resource["relations"]
    }
    assert resource["metadata"]["annotations"]["goldpath.dev/dead-letter-queue"] == f"{queue}.dead"

    src = repo / "src" / module
    for piece in ("jobs.py", "queue.py", "redis_queue.py", "worker.py", "handlers.py", "ops.py"):
        assert (src / piece).is_file(), piece
    assert f'"QUEUE_NAME", "{queue}"' in (src / "config.py").read_text()
    assert f'"MAX_ATTEMPTS", "{attempts}"' in (src / "config.py").read_text()
    lint = run_ruff(repo)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    readme = (repo / "README.md").read_text()
    assert "make test" in readme and f"dead-letters a job after\n{attempts} attempts" in readme

    (resources,) = yaml.safe_load_all((repo / "resources.yaml").read_text())
    assert resources["kind"] == "ServiceResources"
    assert resources["spec"]["queues"] == [
        {"name": queue, "type": "redis", "deadLetter": f"{queue}.dead"}
    ]
    recorded = yaml.safe_load((repo / ".goldpath" / "answers.yaml").read_text())
    assert recorded["template"] == "template:default/worker"
    assert recorded["answers"]["name"] == name

    check_ci(repo)
    assert check_kubernetes_manifests(repo) >= 4 + 3
    deployment = yaml.safe_load((repo / "k8s" / "base" / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item for item in container["env"]}
    assert env["QUEUE_NAME"]["value"] == queue
    assert env["MAX_ATTEMPTS"]["value"] == str(attempts)
    assert env["QUEUE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{name}-queue",
        "key": "url",
        "optional": True,
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for env_name, replicas in (("dev", 1), ("staging", 2), ("production", 3)):
        rendered = render_kustomization(repo / "k8s" / "overlays" / env_name)
        (deployed,) = [obj for obj in rendered if obj["kind"] == "Deployment"]
        assert deployed["metadata"]["namespace"] == f"{name}-{env_name}"
        assert deployed["spec"]["replicas"] == replicas
        app_env = deployed["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": "APP_ENV", "value": env_name} in app_env
    alerts = check_alert_rules(repo / "observability" / "alerts.yaml", repo / "docs" / "runbook.md")
    assert {"WorkerDown", "JobsDeadLettered", "SlowJobs", "ErrorBudgetBurn"} <= set(alerts)
    rules = (repo / "observability" / "alerts.yaml").read_text()
    assert f'queue="{queue}"' in rules
    dashboard = check_dashboard(repo / "observability" / "dashboard.json", METRICS)
    assert dashboard["title"] == name
    docs = build_docs(repo, tmp_path / "site")
    assert docs.returncode == 0, docs.stdout + docs.stderr


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.slow
def test_generated_worker_passes_its_own_checks_and_works_a_redis_queue(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    name = "invoicer-live"
    module = name.replace("-", "_")
    repo = create_from_template(
        sqlite_platform, "worker", answers(name, maxAttempts=2), tmp_path / "clone"
    )
    queue = f"test-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        # The repository's own checks, with its Redis tests turned on.
        result = run_make_test_with(repo, REDIS_URL)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        assert " passed" in result.stdout and "skipped" not in result.stdout

        python = str(repo / ".venv" / "bin" / "python")
        env = {
            **os.environ,
            "QUEUE_URL": REDIS_URL,
            "QUEUE_NAME": queue,
            "PORT": str(free_port()),
            "HOST": "127.0.0.1",
            "BACKOFF_BASE_SECONDS": "0.2",
            "PIP_CACHE_DIR": pip_cache_dir(),
        }
        good = json.dumps(
            {"invoice_id": "inv-1", "currency": "EUR", "lines": [{"quantity": 2, "unit_price": 5}]}
        )
        enqueue = [python, "-m", module, "enqueue", "render-invoice"]
        first = subprocess.run(
            [*enqueue, good, "--key", "inv-1"], env=env, capture_output=True, text=True
        )
        assert first.returncode == 0, first.stderr
        again = subprocess.run(
            [*enqueue, good, "--key", "inv-1"], env=env, capture_output=True, text=True
        )
        assert again.returncode == 1 and "already queued or done" in again.stdout
        bad = subprocess.run(
            [*enqueue, '{"currency": "XXX", "lines": []}'], env=env, capture_output=True, text=True
        )
        assert bad.returncode == 0

        log = (tmp_path / "worker.log").open("w")
        worker = subprocess.Popen(
            [python, "-m", module], env=env, cwd=repo, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{env['PORT']}"
        try:
            metrics = ""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                try:
                    metrics = httpx.get(f"{base}/metrics", timeout=2).text
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                done = f'worker_jobs_total{{outcome="succeeded",queue="{queue}"'
                dead = f'worker_jobs_total{{outcome="dead_lettered",queue="{queue}"'
                if _metric(metrics, done) == 1 and _metric(metrics, dead) == 1:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(metrics + (tmp_path / "worker.log").read_text())
            health = httpx.get(f"{base}/healthz", timeout=2)
            assert health.status_code == 200 and health.json()["service"] == name
            ready = httpx.get(f"{base}/readyz", timeout=2).json()
            assert ready == {"status": "ok", "checks": {"queue": "ok"}}

            listed = subprocess.run(
                [python, "-m", module, "dead-letters"], env=env, capture_output=True, text=True
            )
            (dead_letter,) = [json.loads(line) for line in listed.stdout.splitlines()]
            assert dead_letter["error"] == "PermanentError: unsupported currency 'XXX'"
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            finally:
                log.close()
        assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
        lines = [json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines()]
        succeeded = [line for line in lines if line["message"] == "job succeeded"]
        assert succeeded[0]["job_type"] == "render-invoice" and succeeded[0]["job_id"]
        assert "'total': '10.00'" in str(succeeded[0]["result"])
        assert lines[-1]["message"] == "worker stopped"
    finally:
        keys = list(client.scan_iter(match=f"queue:{queue}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def run_make_test_with(repo: Path, redis_url: str) -> subprocess.CompletedProcess[str]:
    previous = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = redis_url
    try:
        return run_make_test(repo)
    finally:
        if previous is None:
            del os.environ["REDIS_URL"]
        else:
            os.environ["REDIS_URL"] = previous
