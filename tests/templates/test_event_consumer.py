"""The event-consumer golden path: scaffolder → hosted git → catalog, and a repository that
passes its own checks and consumes a real Redis stream, dead letters included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
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
from goldpath.core.errors import InputError
from goldpath.core.platform import Platform
from goldpath.scaffolder.service import get_scaffolder
from goldpath.templates import plugin

REDIS_URL = os.environ.get("GOLDPATH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
METRICS = [
    "events_processed_total",
    "events_processing_duration_seconds",
    "events_consumer_lag",
    "events_consumer_pending",
    "events_dead_lettered_total",
]
ALERTS = {
    "ConsumerDown",
    "ConsumerLagHigh",
    "EventsDeadLettered",
    "HighProcessingErrorRate",
    "SlowProcessing",
    "ErrorBudgetBurn",
}
COMBOS: dict[str, dict[str, Any]] = {
    # Leaves system, maxAttempts and grafanaUrl out: they are optional.
    "defaults": {"topic": "orders.created"},
    "chosen": {
        "topic": "payments.settled-v2",
        "maxAttempts": 3,
        "system": "system:default/checkout",
        "grafanaUrl": "https://grafana.example.test",
    },
}
ORDER = {
    "order_id": "ord-1",
    "customer_id": "cus-1",
    "currency": "EUR",
    "items": [{"sku": "BOOK-1", "quantity": 2, "unit_price": 550}],
}


def answers(name: str, **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": 'Totals orders and says "thanks"',
        "owner": "group:default/team-checkout",
        **options,
    }


@pytest.mark.parametrize("combo", list(COMBOS))
def test_event_consumer_repository_is_complete(
    platform: Platform, tmp_path: Path, combo: str
) -> None:
    options = COMBOS[combo]
    name = f"totals-{combo}"
    module = name.replace("-", "_")
    topic = options["topic"]
    attempts = options.get("maxAttempts", 5)
    grafana = options.get("grafanaUrl", "https://grafana.internal")
    repo = create_from_template(
        platform, "event-consumer", answers(name, **options), tmp_path / "clone"
    )
    assert_fully_rendered(repo)

    # Catalog: the component consumes the AsyncAPI entity and depends on the topic resource,
    # both registered from the same file, so every relation resolves.
    queries = get_catalog(platform).queries
    component = queries.by_name("component", "default", name)
    api = queries.by_name("api", "default", f"{name}-events")
    resource = queries.by_name("resource", "default", f"{name}-topic")
    spec = component["spec"]
    assert (spec["type"], spec["lifecycle"]) == ("service", "experimental")
    assert spec["owner"] == "group:default/team-checkout"
    assert spec.get("system") == options.get("system")
    assert spec["consumesApis"] == [f"{name}-events"]
    assert spec["dependsOn"] == [f"resource:{name}-topic"]
    annotations = component["metadata"]["annotations"]
    assert annotations["backstage.io/techdocs-ref"] == "dir:."
    assert annotations["goldpath.dev/template"] == "template:default/event-consumer"
    assert annotations["goldpath.dev/template-version"] == "1.0.0"
    assert annotations["goldpath.dev/topic"] == topic
    assert annotations["goldpath.dev/dead-letter-topic"] == f"{topic}.dlq"
    assert component["metadata"]["description"] == 'Totals orders and says "thanks"'
    assert {"url": f"{grafana}/d/{name}", "title": "Grafana Dashboard", "icon": "dashboard"} in (
        component["metadata"]["links"]
    )
    relations = {(r["type"], r["targetRef"]) for r in component.get("relations", [])}
    assert ("consumesApi", f"api:default/{name}-events") in relations
    assert ("dependsOn", f"resource:default/{name}-topic") in relations
    assert ("ownedBy", "group:default/team-checkout") in relations
    assert api["spec"]["type"] == "asyncapi"
    assert api["spec"]["owner"] == "group:default/team-checkout"
    definition = yaml.safe_load(api["spec"]["definition"])
    assert definition["asyncapi"] == "3.0.0"
    assert definition["channels"]["events"]["address"] == topic
    assert definition["channels"]["deadLetters"]["address"] == f"{topic}.dlq"
    assert "Order" in definition["components"]["schemas"]
    api_relations = {(r["type"], r["targetRef"]) for r in api.get("relations", [])}
    assert ("apiConsumedBy", f"component:default/{name}") in api_relations
    assert resource["spec"]["type"] == "redis-streams"
    assert resource["metadata"]["annotations"]["goldpath.dev/topic"] == topic

    # Source layout and the answers baked into the defaults.
    src = repo / "src" / module
    for piece in (
        "__main__.py",
        "broker.py",
        "memory.py",
        "redis_broker.py",
        "consumer.py",
        "events.py",
        "handlers.py",
        "metrics.py",
        "config.py",
        "service.py",
        "tools.py",
        "logs.py",
        "tracing.py",
        "ops.py",
    ):
        assert (src / piece).is_file(), piece
    for test in ("test_consumer.py", "test_handlers.py", "test_asyncapi.py", "test_ops.py"):
        assert (repo / "tests" / test).is_file(), test
    config = (src / "config.py").read_text()
    assert f'DEFAULT_TOPIC = "{topic}"' in config
    assert f"DEFAULT_MAX_ATTEMPTS = {attempts}\n" in config
    assert f'SERVICE_NAME = "{name}"' in config
    pyproject = (repo / "pyproject.toml").read_text()
    for dependency in ("redis>=", "prometheus-client>=", "jsonschema>=", "opentelemetry-sdk>="):
        assert dependency in pyproject
    for tool in ("pytest>=", "ruff>=", "bandit>="):
        assert tool in pyproject
    lint = run_ruff(repo)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for path in (
        "Dockerfile",
        ".dockerignore",
        "Makefile",
        "README.md",
        "asyncapi.yaml",
        "mkdocs.yml",
        "docs/index.md",
        "docs/adr/0001-record-architecture-decisions.md",
    ):
        assert (repo / path).is_file(), path
    dockerfile = (repo / "Dockerfile").read_text()
    assert f'CMD ["python", "-m", "{module}"]' in dockerfile and "USER 10001" in dockerfile
    readme = (repo / "README.md").read_text()
    assert "make test" in readme and f"`{topic}`" in readme and "REDIS_URL" in readme

    # resources.yaml in the shape the infra feature reads; answers for upgrades.
    (resources,) = yaml.safe_load_all((repo / "resources.yaml").read_text())
    assert (resources["apiVersion"], resources["kind"]) == (
        "platform.internal/v1",
        "ServiceResources",
    )
    assert resources["metadata"] == {"name": name, "owner": "group:default/team-checkout"}
    assert set(resources["spec"]["compute"]) == {"replicas", "cpu", "memory"}
    assert resources["spec"]["topics"] == [
        {
            "name": topic,
            "type": "redis-streams",
            "role": "consume",
            "consumerGroup": name,
            "deadLetter": f"{topic}.dlq",
        }
    ]
    recorded = yaml.safe_load((repo / ".goldpath" / "answers.yaml").read_text())
    assert recorded["template"] == "template:default/event-consumer"
    assert recorded["version"] == "1.0.0"
    assert recorded["answers"]["topic"] == topic
    assert recorded["answers"]["maxAttempts"] == attempts
    assert recorded["answers"]["name"] == name

    # Delivery and operations.
    check_ci(repo)
    assert check_kubernetes_manifests(repo) >= 4 + 3 * 5
    deployment = yaml.safe_load((repo / "k8s" / "base" / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {item["name"]: item for item in container["env"]}
    assert env["TOPIC"]["value"] == topic
    assert env["MAX_ATTEMPTS"]["value"] == str(attempts)
    secret = env["EVENTS_URL"]["valueFrom"]["secretKeyRef"]
    assert (secret["name"], secret["key"]) == (f"{name}-events", "url")
    for env_name, replicas in (("dev", 1), ("staging", 2), ("production", 3)):
        rendered = render_kustomization(repo / "k8s" / "overlays" / env_name)
        (deployed,) = [obj for obj in rendered if obj["kind"] == "Deployment"]
        assert deployed["metadata"]["namespace"] == f"{name}-{env_name}"
        assert deployed["spec"]["replicas"] == replicas
        deployed_env = deployed["spec"]["template"]["spec"]["containers"][0]["env"]
        # Outside `local` the service refuses to start without EVENTS_URL: it must be there.
        assert {"name": "APP_ENV", "value": env_name} in deployed_env
        assert {"name": "TOPIC", "value": topic} in deployed_env
        assert "EVENTS_URL" in {item["name"] for item in deployed_env}
    rules = yaml.safe_load((repo / "observability" / "alerts.yaml").read_text())
    alerts = check_alert_rules(repo / "observability" / "alerts.yaml", repo / "docs" / "runbook.md")
    assert set(alerts) == ALERTS
    by_alert = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    records = {r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    assert "events_consumer_lag" in by_alert["ConsumerLagHigh"]["expr"]
    assert "events_dead_lettered_total" in by_alert["EventsDeadLettered"]["expr"]
    assert "events_processing_duration_seconds_bucket" in by_alert["SlowProcessing"]["expr"]
    burn = by_alert["ErrorBudgetBurn"]["expr"]
    for window in ("5m", "30m", "1h", "6h"):
        record = f"{module}:events_bad:ratio_rate{window}"
        assert record in burn
        assert 'outcome=~"dead_lettered|failed"' in records[record]
    for alert in by_alert.values():
        assert alert["labels"]["team"] == "team-checkout"
        assert alert["annotations"]["runbook_url"] == f"docs/runbook.md#{alert['alert'].lower()}"
    dashboard = check_dashboard(repo / "observability" / "dashboard.json", METRICS)
    assert dashboard["title"] == name
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {
        "Throughput by outcome",
        "Consumer lag",
        "Pending entries",
        "Processing time p50 / p95 / p99",
        "Dead letters",
        "Instances up",
    } <= titles
    docs = build_docs(repo, tmp_path / "site")
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert (tmp_path / "site" / "runbook" / "index.html").is_file()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"topic": "Orders Created"}, "topic"),
        ({"topic": "orders..created"}, "topic"),
        ({"maxAttempts": 0}, "maxAttempts"),
        ({"maxAttempts": 21}, "maxAttempts"),
    ],
)
def test_event_consumer_refuses_bad_answers(
    sqlite_platform: Platform, change: dict[str, Any], field: str
) -> None:
    # Parameter validation does not touch goldpath's database beyond reading the template.
    plugin.install(sqlite_platform)
    values = {**answers("totals-bad"), "topic": "orders.created", **change}
    with pytest.raises(InputError) as refused:
        get_scaffolder(sqlite_platform).create_task("template:default/event-consumer", values)
    assert field in {detail["field"] for detail in refused.value.details}


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def live_topic() -> Iterator[str]:
    """A topic of this test run's own; its streams and processed-id keys are deleted after."""
    topic = f"gp{uuid.uuid4().hex[:10]}.orders.created"
    yield topic
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{topic}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.slow
def test_generated_event_consumer_passes_its_own_checks_and_consumes_redis(
    sqlite_platform: Platform,
    tmp_path: Path,
    live_topic: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Once, on SQLite: the generated repository does not depend on goldpath's database.
    name = "totals-live"
    module = name.replace("-", "_")
    repo = create_from_template(
        sqlite_platform,
        "event-consumer",
        answers(name, topic=live_topic, maxAttempts=3),
        tmp_path / "clone",
    )

    # The repository's own checks, with its Redis tests turned on (their topics are their own).
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    result = run_make_test(repo, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout

    # Answers are plain str/dict here (decode_responses); redis-py's types cover every mode.
    client: Any = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    python = str(repo / ".venv" / "bin" / "python")
    env = {
        **os.environ,
        "EVENTS_URL": REDIS_URL,
        "APP_ENV": "test",
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "RETRY_BASE_SECONDS": "0.05",
        "RETRY_MAX_SECONDS": "0.2",
        "BLOCK_SECONDS": "0.5",
        "STATS_INTERVAL_SECONDS": "0.2",
        "PIP_CACHE_DIR": pip_cache_dir(),
    }
    log_path = tmp_path / "consumer.log"
    log = log_path.open("w")
    consumer = subprocess.Popen(
        [python, "-m", module], env=env, cwd=repo, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert consumer.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert httpx.get(f"{base}/healthz").json()["service"] == name
        ready = httpx.get(f"{base}/readyz").json()
        assert ready == {"status": "ok", "checks": {"broker": "ok"}}

        def xadd(event_id: str, data: dict[str, Any], **fields: str) -> str:
            entry = {"id": event_id, "data": json.dumps(data), **fields}
            return str(client.xadd(live_topic, entry))

        xadd("evt-good-1", ORDER)
        xadd("evt-good-1", ORDER)  # the producer sent it twice
        xadd("evt-good-2", {**ORDER, "order_id": "ord-2"})
        invalid_id = xadd("evt-invalid", {**ORDER, "items": []})
        # No handler knows this type: it fails every attempt, then goes to the dead letters.
        doomed_id = xadd("evt-doomed", ORDER, type="orders.refunded")
        published = subprocess.run(
            [python, "-m", module, "publish", json.dumps({**ORDER, "order_id": "ord-3"})],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert published.returncode == 0, published.stderr
        assert json.loads(published.stdout)["topic"] == live_topic

        def counted(outcome: str) -> str:
            return f'events_processed_total{{outcome="{outcome}",topic="{live_topic}"}}'

        lag = f'events_consumer_lag{{group="{name}",topic="{live_topic}"}}'
        pending = f'events_consumer_pending{{group="{name}",topic="{live_topic}"}}'
        wanted = {
            counted("ok"): 3,
            counted("duplicate"): 1,
            counted("retried"): 2,
            counted("dead_lettered"): 2,
            lag: 0,
            pending: 0,
        }
        metrics = ""
        deadline = time.monotonic() + 30
        while {key: _metric(metrics, key) for key in wanted} != wanted:
            assert consumer.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, metrics + log_path.read_text()[-4000:]
            time.sleep(0.2)
            metrics = httpx.get(f"{base}/metrics", timeout=2).text
        exhausted = f'events_dead_lettered_total{{reason="exhausted",topic="{live_topic}"}}'
        rejected = f'events_dead_lettered_total{{reason="rejected",topic="{live_topic}"}}'
        assert (_metric(metrics, exhausted), _metric(metrics, rejected)) == (1, 1)
        assert _metric(metrics, "events_processing_duration_seconds_count") == 8

        # The dead-letter stream, straight from Redis.
        letters = {
            fields["id"]: fields for _, fields in client.xrange(f"{live_topic}.dlq", "-", "+")
        }
        assert set(letters) == {"evt-invalid", "evt-doomed"}
        doomed = letters["evt-doomed"]
        assert (doomed["attempts"], doomed["reason"]) == ("3", "exhausted")
        assert doomed["original_id"] == doomed_id
        assert doomed["error"] == "NoHandler: no handler for event type 'orders.refunded'"
        assert doomed["consumer_group"] == name
        invalid = letters["evt-invalid"]
        assert (invalid["attempts"], invalid["reason"]) == ("1", "rejected")
        assert invalid["original_id"] == invalid_id
        assert "data.items: [] should be non-empty" in invalid["error"]
        (group,) = client.xinfo_groups(live_topic)
        assert (group["name"], group["lag"], group["pending"]) == (name, 0, 0)
        listed = subprocess.run(
            [python, "-m", module, "dead-letters"], env=env, capture_output=True, text=True
        )
        assert {json.loads(line)["id"] for line in listed.stdout.splitlines()} == set(letters)
    finally:
        consumer.send_signal(signal.SIGTERM)
        try:
            consumer.wait(timeout=15)
        finally:
            log.close()
            client.close()
    # SIGTERM: stops reading, leaves the group (nothing pending) and exits 0.
    assert consumer.returncode == 0, log_path.read_text()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    processed = [line for line in lines if line["message"] == "event processed"]
    assert len(processed) == 8 and all(line["event_id"] for line in processed)
    doomed_attempts = [line["attempt"] for line in processed if line["event_id"] == "evt-doomed"]
    assert doomed_attempts == [1, 2, 3]
    messages = [line["message"] for line in lines]
    assert "left the consumer group" in messages
    assert messages[-1] == "stopped"
    check: Any = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        assert check.xinfo_consumers(live_topic, name) == []
    finally:
        check.close()
