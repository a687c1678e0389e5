"""The data-pipeline golden path: scaffolder → hosted git → catalog (with dataset lineage),
and a repository whose job, scheduler and checks work for real."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
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
    load_yaml_documents,
    render_kustomization,
    run_make_test,
    run_ruff,
)

from goldpath.catalog.service import get_catalog
from goldpath.core.errors import InputError
from goldpath.core.platform import Platform
from goldpath.scaffolder.service import get_scaffolder

TEMPLATE = "data-pipeline"
OWNER = "group:default/team-checkout"
METRICS = [
    "pipeline_runs_total",
    "pipeline_rows_read_total",
    "pipeline_rows_written_total",
    "pipeline_check_failures_total",
    "pipeline_run_duration_seconds",
    "pipeline_last_success_timestamp_seconds",
    "pipeline_last_run_success",
    "pipeline_last_run_duration_seconds",
    "pipeline_last_run_rows",
    "pipeline_last_run_check_failures",
]
ALERTS = {
    "PipelineStale",
    "PipelineRunFailed",
    "DataQualityCheckFailed",
    "PipelineSlow",
    "ErrorBudgetBurn",
}
COMBOS: dict[str, dict[str, Any]] = {
    # Schedule and freshness objective left to their defaults; part of a system.
    "nightly": {
        "system": "system:default/checkout",
        "source": "raw-orders",
        "destination": "daily-revenue",
    },
    # Every 15 minutes with a 2-hour objective; no system (it is optional).
    "quarter-hourly": {
        "schedule": "*/15 * * * *",
        "source": "web-orders",
        "destination": "orders-by-day",
        "maxStalenessHours": 2,
    },
}
DEFAULT_SCHEDULE = "0 2 * * *"
#: What the generated sample source aggregates to (its own tests say the same).
EXPECTED_OUTPUT = (
    "date,orders,customers,revenue\n"
    "2024-05-01,3,2,67.49\n"
    "2024-05-02,5,3,127.35\n"
    "2024-05-03,3,3,63.45\n"
)


def answers(name: str, **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": 'Revenue per day, "from" raw orders',
        "owner": OWNER,
        **options,
    }


def entity(platform: Platform, ref: str) -> dict[str, Any]:
    kind, rest = ref.split(":", 1)
    namespace, name = rest.split("/", 1)
    return get_catalog(platform).queries.by_name(kind, namespace, name)


def relations(item: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["type"], r["targetRef"]) for r in item.get("relations", [])}


@pytest.fixture
def owner_team(platform: Platform, tmp_path: Path) -> str:
    """The owning Group and the System in the catalog, so those relations resolve too."""
    group = tmp_path / "org" / "team.yaml"
    group.parent.mkdir(parents=True)
    group.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\n"
        "metadata: {name: team-checkout}\nspec: {type: team, children: []}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: System\n"
        "metadata: {name: checkout}\nspec: {owner: team-checkout}\n"
    )
    get_catalog(platform).add_location("file", str(group))
    return OWNER


def assert_relations_resolve(platform: Platform, *items: dict[str, Any]) -> None:
    """Every relation of ``items`` points at an entity the catalog has."""
    for item in items:
        for _, target in relations(item):
            assert entity(platform, target)["metadata"]["name"], target


def declared_refs(repo: Path) -> tuple[set[str], list[dict[str, Any]]]:
    documents = load_yaml_documents(repo / "catalog-info.yaml")
    refs = {f"{d['kind'].lower()}:default/{d['metadata']['name']}" for d in documents}
    return refs, documents


@pytest.mark.parametrize("combo", list(COMBOS))
def test_data_pipeline_repository_is_complete(
    platform: Platform, tmp_path: Path, combo: str, owner_team: str
) -> None:
    options = COMBOS[combo]
    name = f"revenue-{combo}"
    module = name.replace("-", "_")
    source, destination = options["source"], options["destination"]
    schedule = options.get("schedule", DEFAULT_SCHEDULE)
    hours = options.get("maxStalenessHours", 26)
    repo = create_from_template(platform, TEMPLATE, answers(name, **options), tmp_path / "clone")
    assert_fully_rendered(repo)

    # Catalog: the component and its two datasets, with lineage source → pipeline → destination.
    component = entity(platform, f"component:default/{name}")
    assert component["spec"]["type"] == "data-pipeline"
    assert component["spec"]["owner"] == OWNER
    assert component["spec"].get("system") == options.get("system")
    assert component["spec"]["lifecycle"] == "experimental"
    assert component["metadata"]["description"] == 'Revenue per day, "from" raw orders'
    annotations = component["metadata"]["annotations"]
    assert annotations["backstage.io/techdocs-ref"] == "dir:."
    assert annotations["goldpath.dev/template"] == "template:default/data-pipeline"
    assert annotations["goldpath.dev/template-version"] == "1.0.0"
    assert annotations["goldpath.dev/schedule"] == schedule
    assert annotations["goldpath.dev/lineage-inputs"] == f"resource:default/{source}"
    assert annotations["goldpath.dev/lineage-outputs"] == f"resource:default/{destination}"
    assert component["metadata"]["links"][0]["url"] == f"https://grafana.internal/d/{name}"
    inputs = entity(platform, f"resource:default/{source}")
    outputs = entity(platform, f"resource:default/{destination}")
    for dataset in (inputs, outputs):
        assert dataset["spec"]["type"] == "dataset"
        assert dataset["spec"]["owner"] == OWNER
        assert dataset["spec"].get("system") == options.get("system")
    component_ref = f"component:default/{name}"
    assert ("dependsOn", f"resource:default/{source}") in relations(component)
    assert ("dependencyOf", f"resource:default/{destination}") in relations(component)
    assert ("ownedBy", OWNER) in relations(component)
    if "system" in options:
        assert ("partOf", options["system"]) in relations(component)
    assert ("dependencyOf", component_ref) in relations(inputs)
    assert ("dependsOn", component_ref) in relations(outputs)
    assert_relations_resolve(platform, component, inputs, outputs)
    for ref in annotations["goldpath.dev/lineage-inputs"].split(","):
        assert entity(platform, ref.strip())
    # Alone, the file is complete: every dependency it names is declared in it.
    refs, documents = declared_refs(repo)
    assert refs == {component_ref, f"resource:default/{source}", f"resource:default/{destination}"}
    for document in documents:
        for field in ("dependsOn", "dependencyOf"):
            assert set(document["spec"].get(field, [])) <= refs, document
    assert not [e for e in get_catalog(platform).errors() if name in str(e["location"])]

    # Source layout: the job, its checks, scheduler, metrics and the shared pieces.
    src = repo / "src" / module
    for piece in (
        "__main__.py",
        "pipeline.py",
        "checks.py",
        "scheduler.py",
        "metrics.py",
        "storage.py",
        "config.py",
        "logs.py",
        "tracing.py",
        "ops.py",
    ):
        assert (src / piece).is_file(), piece
    for test in ("test_pipeline.py", "test_scheduler.py", "test_metrics.py", "test_cli.py"):
        assert (repo / "tests" / test).is_file(), test
    assert (repo / "tests" / "test_ops.py").is_file()
    sample = (repo / "data" / "sample" / f"{source}.csv").read_text()
    assert sample.startswith("order_id,order_date,customer_id,amount\n")
    assert f'DEFAULT_SCHEDULE = "{schedule}"' in (src / "config.py").read_text()
    pyproject = (repo / "pyproject.toml").read_text()
    assert "cronsim" in pyproject and "prometheus-client" in pyproject
    lint = run_ruff(repo)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for path in (
        "Makefile",
        "README.md",
        "mkdocs.yml",
        "docs/index.md",
        "docs/adr/0001-record-architecture-decisions.md",
        ".dockerignore",
        "output/.gitignore",
    ):
        assert (repo / path).is_file(), path
    dockerfile = (repo / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile and "-slim" in dockerfile
    assert "COPY data/sample" in dockerfile
    assert f'CMD ["python", "-m", "{module}"]' in dockerfile
    readme = (repo / "README.md").read_text()
    assert "make test" in readme and f"python -m {module} run" in readme

    # resources.yaml, answers.
    (resources,) = load_yaml_documents(repo / "resources.yaml")
    assert resources["apiVersion"] == "platform.internal/v1"
    assert resources["kind"] == "ServiceResources"
    assert resources["metadata"] == {"name": name, "owner": OWNER}
    assert set(resources["spec"]["compute"]) == {"replicas", "cpu", "memory"}
    assert resources["spec"]["schedule"] == schedule
    assert resources["spec"]["datasets"] == [
        {"name": source, "role": "input", "format": "csv"},
        {"name": destination, "role": "output", "format": "csv"},
    ]
    recorded = yaml.safe_load((repo / ".goldpath" / "answers.yaml").read_text())
    assert recorded["template"] == "template:default/data-pipeline"
    assert recorded["version"] == "1.0.0"
    assert recorded["answers"]["schedule"] == schedule
    assert recorded["answers"]["maxStalenessHours"] == hours
    assert recorded["answers"]["source"] == source

    # Delivery: CI, and a CronJob (not a Deployment) with overlays per environment.
    check_ci(repo)
    # The CronJob and three namespaces as written, and each overlay as rendered.
    assert check_kubernetes_manifests(repo) == (1 + 3) + 3 * 2
    assert sorted(p.name for p in (repo / "k8s" / "base").iterdir()) == [
        "cronjob.yaml",
        "kustomization.yaml",
    ]
    (cronjob,) = load_yaml_documents(repo / "k8s" / "base" / "cronjob.yaml")
    assert cronjob["kind"] == "CronJob"
    spec = cronjob["spec"]
    assert spec["schedule"] == schedule
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 0 and job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", module]
    assert container["args"] == ["run"]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    env = {item["name"]: item["value"] for item in container["env"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]]
    output_dir = str(Path(env["DESTINATION_URL"]).parent)
    assert output_dir in mounts and "emptyDir" in volumes[mounts[output_dir]]
    schedules = {}
    for overlay in ("dev", "staging", "production"):
        rendered = render_kustomization(repo / "k8s" / "overlays" / overlay)
        assert [doc["kind"] for doc in rendered] == ["Namespace", "CronJob"]
        assert rendered[0]["metadata"]["name"] == rendered[1]["metadata"]["namespace"]
        assert rendered[1]["metadata"]["namespace"] == f"{name}-{overlay}"
        spec_of_env = rendered[1]["spec"]
        schedules[overlay] = spec_of_env["schedule"]
        pod_of_env = spec_of_env["jobTemplate"]["spec"]["template"]["spec"]
        env_of_env = {e["name"]: e["value"] for e in pod_of_env["containers"][0]["env"]}
        assert env_of_env["APP_ENV"] == overlay
    # Dev runs more often to show a change soon; production keeps the answer's schedule.
    assert schedules == {"dev": "0 * * * *", "staging": schedule, "production": schedule}

    # Operations: alert rules with a runbook section each, the dashboard, the docs site.
    alerts_file = repo / "observability" / "alerts.yaml"
    alerts = check_alert_rules(alerts_file, repo / "docs" / "runbook.md")
    assert set(alerts) == ALERTS
    rules = {
        rule["alert"]: rule
        for group in yaml.safe_load(alerts_file.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    stale = rules["PipelineStale"]["expr"]
    assert f"> {hours * 3600}" in stale and f"[{hours}h]" in stale
    assert "pipeline_last_success_timestamp_seconds" in stale
    assert rules["PipelineStale"]["labels"]["severity"] == "critical"
    # The rules' promtool unit tests (run where promtool is installed, below) cover each alert.
    unit_tests = yaml.safe_load((repo / "observability" / "alerts.test.yaml").read_text())
    assert unit_tests["rule_files"] == ["alerts.yaml"]
    tested = {case["alertname"] for test in unit_tests["tests"] for case in test["alert_rule_test"]}
    assert tested == ALERTS
    dashboard = check_dashboard(repo / "observability" / "dashboard.json", METRICS)
    assert dashboard["title"] == name
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("since last success", "by outcome", "duration", "rows in / out", "by check"):
        assert topic in titles, topic
    docs = build_docs(repo, tmp_path / "site")
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert (tmp_path / "site" / "runbook" / "index.html").is_file()


def test_pipelines_sharing_datasets_chain_in_the_catalog(
    platform: Platform, tmp_path: Path, owner_team: str
) -> None:
    # Created consumer first: "reports" reads daily-revenue before anything produces it.
    reports = create_from_template(
        platform,
        TEMPLATE,
        answers(
            "reports", source="daily-revenue", destination="revenue-report", maxStalenessHours=72
        ),
        tmp_path / "reports",
    )
    # promtool would replay three days per window at scrape resolution: left out past 48 h.
    assert not (reports / "observability" / "alerts.test.yaml").exists()
    assert (reports / "observability" / "alerts.yaml").is_file()
    # Then its producer, whose destination the catalog already has, and a second reader
    # of the producer's source.
    revenue = create_from_template(
        platform,
        TEMPLATE,
        answers("revenue", source="raw-orders", destination="daily-revenue"),
        tmp_path / "revenue",
    )
    counts = create_from_template(
        platform,
        TEMPLATE,
        answers("order-counts", source="raw-orders", destination="orders-per-day"),
        tmp_path / "counts",
    )
    # Each dataset is declared once, by the first repository that named it.
    assert declared_refs(reports)[0] == {
        "component:default/reports",
        "resource:default/daily-revenue",
        "resource:default/revenue-report",
    }
    assert declared_refs(revenue)[0] == {
        "component:default/revenue",
        "resource:default/raw-orders",
    }
    assert declared_refs(counts)[0] == {
        "component:default/order-counts",
        "resource:default/orders-per-day",
    }
    assert not get_catalog(platform).errors()

    raw = entity(platform, "resource:default/raw-orders")
    daily = entity(platform, "resource:default/daily-revenue")
    items = [
        raw,
        daily,
        entity(platform, "resource:default/revenue-report"),
        entity(platform, "resource:default/orders-per-day"),
        entity(platform, "component:default/revenue"),
        entity(platform, "component:default/reports"),
        entity(platform, "component:default/order-counts"),
    ]
    assert_relations_resolve(platform, *items)
    # raw-orders → revenue → daily-revenue → reports → revenue-report; raw-orders → order-counts
    assert {("dependencyOf", "component:default/revenue")} <= relations(raw)
    assert {("dependencyOf", "component:default/order-counts")} <= relations(raw)
    assert ("dependsOn", "component:default/revenue") in relations(daily)
    assert ("dependencyOf", "component:default/reports") in relations(daily)
    revenue_component = entity(platform, "component:default/revenue")
    assert ("dependencyOf", "resource:default/daily-revenue") in relations(revenue_component)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("schedule", "0 2 * *"),  # four fields
        ("schedule", "0 2 * * * *"),  # six
        ("schedule", '0 2 * * "x'),  # would break the YAML it is written into
        ("source", "Raw Orders"),
        ("maxStalenessHours", 0),
    ],
)
def test_bad_answers_are_refused_before_anything_runs(
    platform: Platform, option: str, value: Any
) -> None:
    from goldpath.templates import plugin

    plugin.install(platform)
    base = answers("bad-answers", source="raw-orders", destination="daily-revenue")
    scaffolder = get_scaffolder(platform)
    assert scaffolder.create_task(f"template:default/{TEMPLATE}", base)  # the rest is fine
    with pytest.raises(InputError, match=f"{option}: must"):
        scaffolder.create_task(f"template:default/{TEMPLATE}", {**base, option: value})


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Prometheus) not installed")
def test_data_pipeline_alert_rules_pass_their_own_promtool_tests(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    # Once, on SQLite: the rules do not depend on goldpath's database.
    repo = create_from_template(
        sqlite_platform,
        TEMPLATE,
        answers("alerting", source="raw-orders", destination="daily-revenue"),
        tmp_path / "clone",
    )
    result = subprocess.run(
        ["promtool", "test", "rules", "observability/alerts.test.yaml"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


# ------------------------------------------------------------------ slow: the real thing
class PushRecorder:
    """A stand-in Prometheus Pushgateway on loopback that records what it is sent."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorder.pushes.append((self.command, self.path, self.rfile.read(length).decode()))
                self.send_response(200)
                self.end_headers()

            do_POST = do_PUT = _record

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def push_recorder() -> Iterator[PushRecorder]:
    recorder = PushRecorder()
    try:
        yield recorder
    finally:
        recorder.close()


def program_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.pop("PUSHGATEWAY_URL", None)
    return {**env, **extra}


@pytest.mark.slow
def test_generated_pipeline_passes_its_own_checks_runs_and_schedules(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    # Once, on SQLite: the generated repository does not depend on goldpath's database.
    name = "revenue-live"
    module = "revenue_live"
    repo = create_from_template(
        sqlite_platform,
        TEMPLATE,
        answers(name, source="raw-orders", destination="daily-revenue"),
        tmp_path / "clone",
    )
    result = run_make_test(repo)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout
    python = str(repo / ".venv" / "bin" / "python")

    # One run on the committed sample, as the CronJob runs it, pushing its metrics.
    out = tmp_path / "out"
    with push_recorder() as gateway:
        run = subprocess.run(
            [python, "-m", module, "run"],
            cwd=repo,
            env=program_env(
                DESTINATION_URL=str(out / "daily-revenue.csv"), PUSHGATEWAY_URL=gateway.url
            ),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (out / "daily-revenue.csv").read_text() == EXPECTED_OUTPUT
    report = json.loads((out / "daily-revenue.report.json").read_text())
    assert report["outcome"] == "success"
    assert (report["rows_in"], report["rows_out"]) == (11, 3)
    assert report["failed_checks"] == [] and report["warnings"] == ["customer-id-present"]
    assert len(report["checks"]) == 9 and report["duration_seconds"] >= 0
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert {line["run_id"] for line in lines if "run_id" in line} == {report["run_id"]}
    ((method, path, body),) = gateway.pushes
    assert (method, path) == ("POST", f"/metrics/job/{name}")
    assert "pipeline_last_success_timestamp_seconds" in body

    # A broken source: non-zero, no output, a report naming the failed checks.
    broken = tmp_path / "broken.csv"
    broken.write_text(
        "order_id,order_date,customer_id,amount\n1,2024-05-01,c-1,ten\n1,not-a-date,c-2,4\n"
    )
    failed_out = tmp_path / "failed"
    failed = subprocess.run(
        [python, "-m", module, "run", "--source", broken.as_uri()],
        cwd=repo,
        env=program_env(DESTINATION_URL=str(failed_out / "daily-revenue.csv")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert sorted(p.name for p in failed_out.iterdir()) == ["daily-revenue.report.json"]
    failed_report = json.loads((failed_out / "daily-revenue.report.json").read_text())
    assert failed_report["outcome"] == "check_failed"
    assert failed_report["failed_checks"] == [
        "order-id-unique",
        "amount-numeric",
        "order-date-parses",
    ]

    # The scheduler: every minute, once at start; endpoints over HTTP; SIGTERM exits cleanly.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "scheduler.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [python, "-m", module],
            cwd=repo,
            env=program_env(
                PORT=str(port),
                HOST="127.0.0.1",
                SCHEDULE="* * * * *",
                RUN_ON_START="1",
                DESTINATION_URL=str(tmp_path / "scheduled" / "daily-revenue.csv"),
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            metrics = ""
            while 'pipeline_runs_total{outcome="success"}' not in metrics or (
                'pipeline_runs_total{outcome="success"} 0.0' in metrics
            ):
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                try:
                    metrics = httpx.get(f"{base}/metrics", timeout=2).text
                except httpx.TransportError:
                    time.sleep(0.1)
            health = httpx.get(f"{base}/healthz", timeout=2)
            assert health.status_code == 200 and health.json()["service"] == name
            assert httpx.get(f"{base}/readyz", timeout=2).json()["status"] == "ok"
            assert "pipeline_last_success_timestamp_seconds" in metrics
            assert "pipeline_rows_written_total 3.0" in metrics
            assert (tmp_path / "scheduled" / "daily-revenue.csv").read_text() == EXPECTED_OUTPUT
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0, log_path.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    messages = [line["message"] for line in lines]
    assert "next run scheduled" in messages
    assert messages[-3:] == ["shutting down", "scheduler stopped", "stopped"]
    finished = [line for line in lines if line["message"] == "run finished"]
    assert finished and finished[0]["outcome"] == "success" and finished[0]["run_id"]
